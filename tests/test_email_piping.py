"""Email piping against a real IMAP server on loopback: pymap (pure Python, in-memory
``dict`` backend) run as a child process of the test session."""

import imaplib
import os
import shutil
import socket
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from sbcore import db as dbmod
from sbcore import mail
from sbcore.models import Conversation, Message, PipedEmail, User

USER, PASSWORD = "piper", "pipe-pass"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_pymap(*tls):
    pymap = shutil.which("pymap", path=os.path.dirname(sys.executable))
    if pymap is None:
        pytest.fail("pymap is not installed: `make install` installs the test extra")
    port = free_port()
    process = subprocess.Popen([pymap, "--host", "127.0.0.1", "--port", str(port),
                                *(tls or ["--no-tls"]), "--no-service", "admin", "dict",
                                "--demo-user", USER, "--demo-password", PASSWORD],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("pymap did not start")
            time.sleep(0.1)


def stop_pymap(process):
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def imap_server():
    process, port = start_pymap()
    yield port
    stop_pymap(process)


class Mailbox:
    def __init__(self, port):
        self.port = port

    def client(self):
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(USER, PASSWORD)
        client.select("INBOX")
        return client

    def clear(self):
        client = self.client()
        status, data = client.search(None, "ALL")
        for number in data[0].split():
            client.store(number, "+FLAGS", "(\\Deleted)")
        client.expunge()
        client.logout()

    def put(self, message):
        client = self.client()
        raw = message if isinstance(message, bytes) else message.as_bytes()
        status, _ = client.append("INBOX", None, None, raw)
        client.logout()
        assert status == "OK"

    def unseen(self):
        client = self.client()
        status, data = client.search(None, "UNSEEN")
        client.logout()
        return len(data[0].split())


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # the IMAP server is on loopback


@pytest.fixture
def mailbox(core, imap_server):
    box = Mailbox(imap_server)
    box.clear()
    with dbmod.connection():
        core.settings.merge({"imap-host": "127.0.0.1", "imap-port": imap_server, "imap-security": "none",
                             "imap-username": USER, "imap-password": PASSWORD,
                             "email-reply-address": "help@example.com"})
    return box


def email_from(sender, to, subject, text=None, html=None, attachments=(), **headers):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    for key, value in headers.items():
        message[key.replace("_", "-")] = value
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message


def messages_of(conversation_id):
    with dbmod.connection():
        return [(m.user_id, m.message, m.attachments) for m in
                Message.select().where(Message.conversation == conversation_id).order_by(Message.id)]


REPLY = """Thanks, that fixed it!

Ann

On Wed, Nov 25, 2026 at 4:00 PM Acme Support <support@example.com> wrote:
> Hello Ann,
> try restarting.
"""


@pytest.fixture
def ann(api):
    return api.ok("add-user", first_name="Ann", last_name="Lee", email="ann@example.com")


def test_a_reply_to_the_token_address_joins_its_conversation(api, core, mailbox, ann, open_conversation):
    cid = open_conversation(ann)
    token = mail.reply_token(core.secret_key, cid)
    mailbox.put(email_from("Ann Lee <Ann@Example.com>", f"help+{token}@example.com",
                           "Re: New reply from Bruce", REPLY))
    assert mailbox.unseen() == 1
    assert api.ok("email-piping", force=True) is True
    [(user_id, text, attachments)] = messages_of(cid)
    assert (user_id, text, attachments) == (ann, "Thanks, that fixed it!\n\nAnn", "")
    assert mailbox.unseen() == 0
    with dbmod.connection():
        assert Conversation.get_by_id(cid).status_code == 2  # waits for an agent again
    assert api.ok("email-piping", force=True) is True  # seen mail is not read twice
    assert len(messages_of(cid)) == 1


def test_the_token_in_the_subject_and_an_agents_reply(api, core, mailbox, ann, agent, open_conversation):
    cid = open_conversation(ann)
    token = mail.reply_token(core.secret_key, cid)
    mailbox.put(email_from("Bruce <bruce@example.com>", "help@example.com",
                           f"Re: New message from Ann Lee [#{token}]", "On it."))
    api.ok("email-piping", force=True)
    assert messages_of(cid) == [(agent, "On it.", "")]


def test_a_guessed_token_or_a_stranger_opens_a_new_conversation(api, core, mailbox, ann, open_conversation):
    cid = open_conversation(ann)
    real = mail.reply_token(core.secret_key, cid)
    forged = real[:-1] + ("0" if real[-1] != "0" else "1")
    mailbox.put(email_from("Mallory Evil <mallory@example.net>", f"help+{forged}@example.com",
                           "Re: hello", "Let me in"))
    mailbox.put(email_from("Zoe Quinn <zoe@example.net>", f"help+{real}@example.com",
                           "Re: hello", "Not my conversation"))
    api.ok("email-piping", force=True)
    assert messages_of(cid) == []
    with dbmod.connection():
        mallory = User.get(User.email == "mallory@example.net")
        zoe = User.get(User.email == "zoe@example.net")
        assert (mallory.first_name, mallory.last_name, mallory.user_type) == ("Mallory", "Evil", "user")
        new = {c.user_id: c for c in Conversation.select().where(Conversation.id != cid)}
    assert {new[mallory.id].source, new[zoe.id].source} == {"em"}
    assert new[mallory.id].title == "Re: hello"
    assert [m[1] for m in messages_of(new[mallory.id].id)] == ["Let me in"]


def test_a_new_sender_without_a_token(api, core, mailbox):
    mailbox.put(email_from("carol@example.org", "help@example.com", "Broken <widget>",
                           html="<html><head><style>p{}</style></head><body><p>Hello <b>there</b></p>"
                                "<p>It broke &amp; stopped</p><script>x()</script></body></html>"))
    api.ok("email-piping", force=True)
    with dbmod.connection():
        carol = User.get(User.email == "carol@example.org")
        conversation = Conversation.get(Conversation.user == carol.id)
    assert carol.first_name == "carol"
    assert (conversation.source, conversation.title) == ("em", "Broken <widget>")
    assert messages_of(conversation.id) == [(carol.id, "Hello there\n\nIt broke & stopped", "")]
    conversation_html = api.ok("get-conversation", conversation_id=conversation.id)
    assert conversation_html["messages"][0]["message"] == "Hello there\n\nIt broke & stopped"


def test_attachments_follow_the_allow_list(api, core, mailbox, ann, open_conversation):
    import json
    cid = open_conversation(ann)
    token = mail.reply_token(core.secret_key, cid)
    mailbox.put(email_from("ann@example.com", f"help+{token}@example.com", "files", "See attached",
                           attachments=[("../../../invoice.pdf", b"%PDF-1.4 test"),
                                        ("page.html", b"<script>alert(1)</script>"),
                                        ("shell.php", b"<?php system($_GET['c']); ?>"),
                                        ("notes.txt", b"plain notes")]))
    api.ok("email-piping", force=True)
    [(_, text, stored)] = messages_of(cid)
    assert text == "See attached"
    attachments = json.loads(stored)
    assert [name for name, _ in attachments] == ["invoice.pdf", "notes.txt"]
    uploads_root = os.path.realpath(core.config.uploads_dir)
    for (name, url), content in zip(attachments, (b"%PDF-1.4 test", b"plain notes")):
        assert url.startswith("http://testserver/uploads/email/")
        path = os.path.realpath(os.path.join(uploads_root, url[len("http://testserver/uploads/"):]))
        assert path.startswith(uploads_root + os.sep) and path.endswith(name)
        with open(path, "rb") as handle:
            assert handle.read() == content
    everything = [f for _, _, files in os.walk(uploads_root) for f in files]
    assert not [f for f in everything if f.endswith((".html", ".php"))]


def test_our_own_mail_and_auto_replies_are_skipped_but_seen(api, core, mailbox, ann, open_conversation):
    cid = open_conversation(ann)
    token = mail.reply_token(core.secret_key, cid)
    api.ok("save-settings", settings={"email-sender-address": "support@example.com"})
    mailbox.put(email_from("support@example.com", f"help+{token}@example.com", "loop", "ours"))
    mailbox.put(email_from("ann@example.com", f"help+{token}@example.com", "Out of office", "Away",
                           Auto_Submitted="auto-replied"))
    api.ok("email-piping", force=True)
    assert messages_of(cid) == [] and mailbox.unseen() == 0


def test_once_a_minute_unless_forced(api, core, mailbox, ann):
    assert api.ok("email-piping") is True
    mailbox.put(email_from("ann@example.com", "help@example.com", "Hi", "Second"))
    assert api.ok("email-piping") is False  # ran less than a minute ago
    assert mailbox.unseen() == 1
    assert api.ok("email-piping", force=True) is True
    assert mailbox.unseen() == 0


def test_the_worker_job_pipes(core, mailbox, ann):
    from sbcore.worker import run_due_jobs
    mailbox.put(email_from("ann@example.com", "help@example.com", "From the worker", "Hello worker"))
    assert "email-piping" in run_due_jobs(core)
    with dbmod.connection():
        assert Message.select().where(Message.message == "Hello worker").count() == 1


def test_errors(api, core, imap_server, snapshot):
    before = snapshot()
    result = api.call("email-piping", force=True)
    assert (result.status, result.response) == (400, "email-piping-not-configured")
    assert snapshot() == before
    with dbmod.connection():
        core.settings.merge({"imap-host": "127.0.0.1", "imap-port": imap_server, "imap-security": "none",
                             "imap-username": USER, "imap-password": "wrong"})
    result = api.call("email-piping", force=True)
    assert (result.status, result.response) == (502, "imap-error")
    with dbmod.connection():
        core.settings.merge({"imap-port": free_port(), "imap-password": PASSWORD})
    result = api.call("email-piping", force=True)
    assert (result.status, result.response) == (502, "imap-error")
    result = api.call("save-settings", settings={"imap-security": "tls"})
    assert (result.status, result.response) == (400, "invalid-setting-value")


def test_a_private_imap_host_needs_the_private_network_switch(core, mailbox):
    from sbcore import piping
    core.config = core.config.replace(allow_private_network=False)
    with dbmod.connection():
        ctx = core.context()
        assert piping.pipe(ctx) == 0  # logged, nothing read
        from sbcore.errors import ApiError
        with pytest.raises(ApiError, match="private address"):
            piping.pipe(ctx, errors=True)


def test_starttls_with_a_verified_certificate(api, core, tmp_path, monkeypatch):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    process, port = start_pymap("--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem"))
    try:
        with dbmod.connection():
            core.settings.merge({"imap-host": "127.0.0.1", "imap-port": port, "imap-security": "starttls",
                                 "imap-username": USER, "imap-password": PASSWORD})
        result = api.call("email-piping", force=True)
        assert (result.status, result.response) == (502, "imap-error")  # the CA is not trusted yet
        assert "CERTIFICATE_VERIFY_FAILED" in result.json["message"]
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
        client = imaplib.IMAP4("127.0.0.1", port)
        client.starttls()
        client.login(USER, PASSWORD)
        client.append("INBOX", None, None, email_from("dan@example.com", "help@example.com", "TLS",
                                                      "over STARTTLS").as_bytes())
        client.logout()
        assert api.ok("email-piping", force=True) is True
        with dbmod.connection():
            assert Message.select().where(Message.message == "over STARTTLS").count() == 1
    finally:
        stop_pymap(process)


def test_an_email_that_fails_to_store_stays_unseen_then_is_quarantined(api, core, mailbox, ann, monkeypatch):
    from sbcore import piping
    real_store, calls = piping.store, []

    def failing(ctx, raw):
        calls.append(1)
        raise RuntimeError("the database hiccuped")
    monkeypatch.setattr(piping, "store", failing)
    mailbox.put(email_from("ann@example.com", "help@example.com", "Broken", "Please store me",
                           Message_ID="<broken-1@example.com>"))
    for run in range(1, piping.MAX_FAILURES):
        assert api.ok("email-piping", force=True) is True
        assert mailbox.unseen() == 1, f"run {run} lost the email"  # left for the next run
    monkeypatch.setattr(piping, "store", real_store)
    mailbox.put(email_from("ann@example.com", "help@example.com", "Fine", "Store me too"))
    monkeypatch.setattr(piping, "store", lambda ctx, raw: failing(ctx, raw) if b"broken-1" in raw
                        else real_store(ctx, raw))
    assert api.ok("email-piping", force=True) is True  # the fifth failure: quarantined
    assert len(calls) == piping.MAX_FAILURES
    assert mailbox.unseen() == 0
    client = mailbox.client()
    status, data = client.select('"sbcore-quarantine"')
    assert status == "OK" and int(data[0]) >= 1
    status, data = client.search(None, 'HEADER Message-ID "broken-1@example.com"')
    assert data[0].split(), "the failed email is in the quarantine mailbox"
    client.logout()
    with dbmod.connection():
        assert Message.select().where(Message.message == "Store me too").count() == 1
        row = PipedEmail.get(PipedEmail.key == "mid:<broken-1@example.com>")
    assert (row.stored, row.failures) == (False, piping.MAX_FAILURES) and "hiccuped" in row.last_error


def test_each_email_is_stored_once_by_its_message_id(api, core, mailbox, ann):
    copy = email_from("ann@example.com", "help@example.com", "Twice", "Only once please",
                      Message_ID="<twice@example.com>")
    mailbox.put(copy)
    mailbox.put(copy)  # a copy left unseen, or a second run reading the same mail
    assert api.ok("email-piping", force=True) is True
    assert mailbox.unseen() == 0
    mailbox.put(copy)
    assert api.ok("email-piping", force=True) is True
    with dbmod.connection():
        assert Message.select().where(Message.message == "Only once please").count() == 1


def test_a_forced_run_never_overlaps_a_running_one(api, core, mailbox, ann, snapshot):
    from sbcore.models import JobRun
    from sbcore.worker import Job, claim, release
    job = Job("email-piping", 60, None)
    with dbmod.connection():
        owner = claim(job, time.time(), force=True)
    mailbox.put(email_from("ann@example.com", "help@example.com", "Busy", "Wait for me"))
    before = snapshot()
    result = api.call("email-piping", force=True)
    assert (result.status, result.response) == (409, "email-piping-running")
    assert mailbox.unseen() == 1 and snapshot() == before
    with dbmod.connection():
        assert JobRun.get(JobRun.name == "email-piping").lease_owner == owner
        release(job, owner)
    assert api.ok("email-piping", force=True) is True
    assert mailbox.unseen() == 0
