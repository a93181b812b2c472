"""Email out: send-email, send-custom-email, notifications and email-sent, against a
real SMTP server on loopback (aiosmtpd), plain, STARTTLS and SSL/TLS with a test CA."""

import email
import email.policy
import socket
import ssl

import pytest

from sbcore import db as dbmod
from sbcore import mail
from sbcore.models import Event
from sbcore.testing import agents_offline, assert_shape, offline, reference_webhook

HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what arrives; ``refuse`` answers RCPT with an error."""

    def __init__(self):
        self.envelopes = []
        self.refuse = None
        self.logins = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("ca")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    return {"ca_file": str(ca_file), "server": server}


def start_smtp(inbox, **options):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server, session, envelope, mechanism, data):
        inbox.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=(data.login, data.password) == (b"mailer", b"pw"), handled=False)

    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticate, auth_require_tls=False, **options)
    controller.start()
    return controller


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = start_smtp(inbox)
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # the SMTP server is on loopback


def configure(core, port, security="none", **extra):
    values = {"smtp-host": "127.0.0.1", "smtp-port": port, "smtp-security": security,
              "smtp-username": "mailer", "smtp-password": "pw",
              "email-sender-address": "support@example.com", "email-sender-name": "Acme Support"}
    values.update(extra)
    with dbmod.connection():
        core.settings.merge(values)


@pytest.fixture
def mailer(core, smtp):
    configure(core, smtp.port)
    return smtp


def events(core, name):
    import json
    with dbmod.connection():
        return [json.loads(e.data) for e in Event.select().where(Event.name == name).order_by(Event.id)]


def parts(message):
    return tuple(message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))


# --- send-email ---


def test_send_email_reaches_the_server(api, core, mailer, make_user, agent):
    ann = make_user(first_name="Ann", last_name="Lee", email="ann@example.com")
    assert api.ok("send-email", recipient_id=ann, sender_id=agent, message="Your *order* shipped",
                  attachments=[["invoice.pdf", "https://example.com/invoice.pdf"]]) is True
    [envelope] = mailer.envelopes
    assert envelope.mail_from == "support@example.com"
    assert envelope.rcpt_tos == ["ann@example.com"]
    assert mailer.logins == [("mailer", "pw")]
    [message] = mailer.messages()
    assert message["To"] == "ann@example.com"
    assert message["From"] == "Acme Support <support@example.com>"
    assert message["Subject"] == "New reply from Bruce Peterson"
    assert message["Message-ID"].endswith("@example.com>")
    plain, html = parts(message)
    assert "Your *order* shipped" in plain and "invoice.pdf: https://example.com/invoice.pdf" in plain
    assert "Your <b>order</b> shipped" in html
    assert '<a href="https://example.com/invoice.pdf">invoice.pdf</a>' in html
    assert events(core, "email-sent") == [{"recipient_id": str(ann), "message": "Your *order* shipped",
                                           "attachments": [["invoice.pdf", "https://example.com/invoice.pdf"]]}]


def test_send_email_escapes_hostile_values(api, mailer, make_user):
    ann = make_user(first_name="Ann", email="ann@example.com")
    evil = make_user(first_name='<img src=x onerror=alert(1)>', last_name="&co", email="evil@example.com")
    api.ok("send-email", recipient_id=ann, sender_id=evil, message=HOSTILE,
           attachments=[['"><script>x</script>', "https://example.com/a.pdf?x=<y>"]])
    [message] = mailer.messages()
    plain, html = parts(message)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html or \
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp;co" in html
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt;" in html
    assert HOSTILE in plain  # the text part is text: nothing to escape


def test_send_email_defaults_the_sender_to_the_caller(api, mailer, make_user):
    ann = make_user(first_name="Ann", email="ann@example.com")
    api.ok("send-email", recipient_id=ann, message="Hi")
    assert mailer.messages()[0]["Subject"] == "New reply from Ada Admin"


@pytest.mark.parametrize("fields, status, code", [
    ({"message": "Hi"}, 400, "missing-user-id-or-message"),
    ({"recipient_id": "{ann}", "message": "   "}, 400, "missing-user-id-or-message"),
    ({"recipient_id": 99999, "message": "Hi"}, 404, "user-or-sender-not-found"),
    ({"recipient_id": "{ann}", "sender_id": 99999, "message": "Hi"}, 404, "user-or-sender-not-found"),
    ({"recipient_id": "{visitor}", "message": "Hi"}, 400, "user-email-not-found"),
    ({"recipient_id": "{ann}", "message": "Hi", "attachments": [["x", "javascript:alert(1)"]]}, 400,
     "invalid-argument"),
])
def test_send_email_errors(api, core, mailer, make_user, visitor, snapshot, fields, status, code):
    ann = make_user(first_name="Ann", email="ann@example.com")
    fields = {k: (v.format(ann=ann, visitor=visitor) if isinstance(v, str) and "{" in v and k != "attachments"
                  else v) for k, v in fields.items()}
    before = snapshot()
    result = api.call("send-email", **fields)
    assert (result.status, result.response) == (status, code), result
    assert result.json["message"]
    assert snapshot() == before and mailer.envelopes == []


def test_not_configured_is_a_clear_400(api, core, smtp, make_user, snapshot):
    ann = make_user(first_name="Ann", email="ann@example.com")
    before = snapshot()
    for function, fields in (("send-email", {"recipient_id": ann, "message": "Hi"}),
                             ("send-custom-email", {"to": "x@example.com", "subject": "S", "message": "M"})):
        result = api.call(function, **fields)
        assert (result.status, result.response) == (400, "email-not-configured"), result
        assert "smtp-host" in result.json["message"]
    assert snapshot() == before and smtp.envelopes == []


def test_smtp_refusal_is_a_502_with_the_servers_words(api, core, mailer, make_user, snapshot):
    ann = make_user(first_name="Ann", email="ann@example.com")
    mailer.refuse = "550 5.1.1 Mailbox unavailable"
    before = snapshot()
    result = api.call("send-email", recipient_id=ann, message="Hi")
    assert (result.status, result.response) == (502, "smtp-error")
    assert "550" in result.json["message"] and "Mailbox unavailable" in result.json["message"]
    assert snapshot() == before  # no email-sent event


def test_wrong_password_and_unreachable_server_are_502(api, core, smtp, make_user):
    ann = make_user(first_name="Ann", email="ann@example.com")
    configure(core, smtp.port, **{"smtp-password": "wrong"})
    result = api.call("send-email", recipient_id=ann, message="Hi")
    assert (result.status, result.response) == (502, "smtp-error") and "535" in result.json["message"]
    configure(core, free_port())
    result = api.call("send-email", recipient_id=ann, message="Hi")
    assert (result.status, result.response) == (502, "smtp-error")
    assert "Connection refused" in result.json["message"] or "Errno" in result.json["message"]


def test_private_smtp_host_needs_the_private_network_switch(core, smtp, make_user, api):
    ann = make_user(first_name="Ann", email="ann@example.com")
    configure(core, smtp.port)
    with dbmod.connection():
        ctx = core.context()
        settings = mail.smtp_settings(ctx)
        message = mail.compose(settings, "ann@example.com", "S", "<p>h</p>", "h")
        with pytest.raises(mail.MailError, match="private address"):
            mail.deliver(core.config.replace(allow_private_network=False), settings, message)
    assert smtp.envelopes == [] and ann


# --- send-custom-email ---


def test_send_custom_email(api, core, mailer):
    assert api.ok("send-custom-email", to="Someone@Example.com", subject="Your <invoice>",
                  message="Line one\nLine <two>", sender_suffix=" (Billing)") is True
    [message] = mailer.messages()
    assert mailer.envelopes[0].rcpt_tos == ["Someone@Example.com"]
    assert message["From"].addresses[0].display_name == "Acme Support (Billing)"
    assert message["From"].addresses[0].addr_spec == "support@example.com"
    assert message["Subject"] == "Your <invoice>"
    plain, html = parts(message)
    assert "Line one\nLine <two>" in plain
    assert "Line <two>" not in html and "Line &lt;two&gt;" in html
    assert "<title>Your &lt;invoice&gt;</title>" in html
    assert events(core, "email-sent") == [{"recipient_id": None, "message": "Line one\nLine <two>",
                                           "attachments": []}]


@pytest.mark.parametrize("fields, code", [
    ({"to": "not-an-address", "subject": "S", "message": "M"}, "invalid-email"),
    ({"to": "a@example.com\r\nBcc: x@evil.com", "subject": "S", "message": "M"}, "invalid-email"),
    ({"to": "a@example.com", "subject": " ", "message": "M"}, "missing-argument"),
    ({"to": "a@example.com", "subject": "S", "message": ""}, "missing-argument"),
    ({"to": "a@example.com", "message": "M"}, "missing-argument"),
])
def test_send_custom_email_errors(api, mailer, snapshot, fields, code):
    before = snapshot()
    result = api.call("send-custom-email", **fields)
    assert (result.status, result.response) == (400, code), result
    assert snapshot() == before and mailer.envelopes == []


def test_header_injection_through_subject_and_names_is_flattened(api, mailer):
    api.ok("send-custom-email", to="a@example.com", subject="Hi\r\nBcc: victim@example.com",
           message="M", sender_suffix="\r\nBcc: other@example.com")
    [envelope] = mailer.envelopes
    assert envelope.rcpt_tos == ["a@example.com"]
    [message] = mailer.messages()
    assert message["Bcc"] is None and message["Subject"] == "Hi Bcc: victim@example.com"


# --- transport security ---


def test_starttls_with_a_verified_certificate(api, core, tls, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls["ca_file"])
    inbox = Inbox()
    controller = start_smtp(inbox, tls_context=tls["server"], require_starttls=True)
    try:
        configure(core, controller.port, "starttls")
        api.ok("send-custom-email", to="a@example.com", subject="S", message="over STARTTLS")
        assert inbox.messages()[0].get_body(("plain",)).get_content().strip() == "over STARTTLS"
        configure(core, controller.port, "none")  # the server insists on STARTTLS
        result = api.call("send-custom-email", to="a@example.com", subject="S", message="plain")
        assert (result.status, result.response) == (502, "smtp-error")
        assert len(inbox.envelopes) == 1
    finally:
        controller.stop()


def test_ssl_tls_and_an_untrusted_certificate(api, core, tls, monkeypatch):
    inbox = Inbox()
    controller = start_smtp(inbox, ssl_context=tls["server"])
    try:
        configure(core, controller.port, "ssl")
        result = api.call("send-custom-email", to="a@example.com", subject="S", message="M")
        assert (result.status, result.response) == (502, "smtp-error")  # the CA is not trusted
        assert "CERTIFICATE_VERIFY_FAILED" in result.json["message"]
        monkeypatch.setenv("SSL_CERT_FILE", tls["ca_file"])
        api.ok("send-custom-email", to="a@example.com", subject="S", message="over TLS")
        assert [m["Subject"] for m in inbox.messages()] == ["S"]
    finally:
        controller.stop()


def test_settings_are_checked(api):
    for settings in ({"smtp-security": "tls13"}, {"smtp-port": 70000},
                     {"email-sender-address": "nobody"}, {"notifications-agents": "some"}):
        result = api.call("save-settings", settings=settings)
        assert (result.status, result.response) == (400, "invalid-setting-value"), settings


# --- notifications: written with the message, sent by the worker after commit ---


def rows(core):
    import json

    from sbcore.models import Notification
    with dbmod.connection():
        return [(n.channel, n.recipient_id, n.status, json.loads(n.data))
                for n in Notification.select().order_by(Notification.id)]


def deliver(core):
    from sbcore import notifications
    return notifications.deliver_pending(core, owner="test")


@pytest.fixture
def ann(make_user):
    return make_user(first_name="Ann", last_name="Lee", email="ann@example.com")


def test_a_users_message_while_no_agent_is_online_emails_every_agent(
        api, core, mailer, ann, agent, open_conversation):
    configure(core, mailer.port, **{"email-reply-address": "help@example.com"})
    cid = open_conversation(ann)
    agents_offline(core)
    answer = api.ok("send-message", user_id=ann, conversation_id=cid, message="Where is <my> order?",
                    attachments=[["photo.png", "https://example.com/photo.png"]])
    assert answer["notifications"] == ["email"]
    assert mailer.envelopes == []  # nothing is sent inside the request
    queued = rows(core)
    assert sorted(r[3]["to"] for r in queued) == ["admin@example.com", "bruce@example.com"]
    assert {r[2] for r in queued} == {"pending"}
    assert deliver(core) == (2, 0)
    assert deliver(core) == (0, 0)  # sent once
    token = mail.reply_token(core.secret_key, cid)
    by_address = {m["To"]: m for m in mailer.messages()}
    message = by_address["bruce@example.com"]
    assert message["Subject"] == f"New message from Ann Lee [#{token}]"
    assert message["Reply-To"] == f"help+{token}@example.com"
    plain, html = parts(message)
    assert "Where is <my> order?" in plain and "Where is &lt;my&gt; order?" in html
    assert {r[2] for r in rows(core)} == {"sent"}
    sent = events(core, "email-sent")
    admin = api.ok("get-user-by", by="email", value="admin@example.com")["id"]
    assert sorted(e["recipient_id"] for e in sent) == sorted([str(agent), str(admin)])
    assert sent[0]["message"] == "Where is <my> order?"
    assert_shape(sent[0], reference_webhook("email-sent")["data"])
    assert sent[0]["attachments"] == [["photo.png", "https://example.com/photo.png"]]


def test_no_email_while_an_agent_is_online(api, core, mailer, ann, agent, open_conversation):
    cid = open_conversation(ann)
    agents_offline(core)
    with dbmod.connection():
        core.presence.touch(agent)
    assert api.ok("send-message", user_id=ann, conversation_id=cid, message="Hi")["notifications"] == []
    assert rows(core) == []


def test_the_assigned_agent_or_the_departments_agents(api, core, mailer, ann, agent, make_user,
                                                      open_conversation):
    other = make_user(first_name="Cy", email="cy@example.com", user_type="agent", department=7)
    assigned = open_conversation(ann, agent_id=agent, department=7)
    in_department = open_conversation(ann, department=7)
    agents_offline(core)
    api.ok("send-message", user_id=ann, conversation_id=assigned, message="one")
    assert [r[3]["to"] for r in rows(core)] == ["bruce@example.com"]
    api.ok("send-message", user_id=ann, conversation_id=in_department, message="two")
    assert [r[3]["to"] for r in rows(core)][1:] == ["cy@example.com"]
    api.ok("save-settings", settings={"notifications-agents": "all"})
    api.ok("send-message", user_id=ann, conversation_id=assigned, message="three")
    assert sorted(r[3]["to"] for r in rows(core)[2:]) == ["admin@example.com", "bruce@example.com",
                                                           "cy@example.com"]
    api.ok("save-settings", settings={"notifications-agents": "off"})
    assert api.ok("send-message", user_id=ann, conversation_id=assigned, message="four")["notifications"] == []
    assert len(rows(core)) == 5 and other


def test_an_agents_reply_emails_the_user_when_offline(api, core, mailer, ann, agent, visitor,
                                                      open_conversation):
    cid = open_conversation(ann)
    assert api.ok("send-message", user_id=agent, conversation_id=cid, message="Hi")["notifications"] == []
    offline(core, ann)
    assert api.ok("send-message", user_id=agent, conversation_id=cid,
                  message="It ships *today*")["notifications"] == ["email"]
    [(channel, recipient, _, data)] = rows(core)
    assert (channel, recipient, data["to"]) == ("email", ann, "ann@example.com")
    assert deliver(core) == (1, 0)
    [message] = mailer.messages()
    assert message["Subject"].startswith("New reply from Bruce Peterson [#c")
    assert message["Reply-To"] is None  # no email-reply-address set
    assert "It ships <b>today</b>" in parts(message)[1]
    assert events(core, "email-sent")[0]["recipient_id"] == str(ann)
    # a visitor without an email, the bot, and notifications-user off: nothing
    vid = open_conversation(visitor)
    offline(core, visitor)
    assert api.ok("send-message", user_id=agent, conversation_id=vid, message="x")["notifications"] == []
    bot = api.ok("get-bot-id")
    assert api.ok("send-message", user_id=bot, conversation_id=cid, message="x")["notifications"] == []
    api.ok("save-settings", settings={"notifications-user": False})
    assert api.ok("send-message", user_id=agent, conversation_id=cid, message="x")["notifications"] == []
    assert len(rows(core)) == 1


def test_nothing_is_queued_without_smtp(api, core, smtp, ann, open_conversation):
    cid = open_conversation(ann)
    agents_offline(core)
    assert api.ok("send-message", user_id=ann, conversation_id=cid, message="Hi")["notifications"] == []
    assert rows(core) == []


def test_a_refused_notification_is_retried_or_parked(api, core, mailer, ann, open_conversation):
    cid = open_conversation(ann)
    offline(core, ann)
    admin = api.ok("get-user-by", by="email", value="admin@example.com")["id"]
    api.ok("send-message", user_id=admin, conversation_id=cid, message="first")
    mailer.refuse = "451 4.3.0 Try again later"
    assert deliver(core) == (0, 1)
    [(_, _, status, _)] = rows(core)
    assert status == "pending"
    from sbcore.models import Notification
    with dbmod.connection():
        row = Notification.get()
        assert row.attempts == 1 and "451" in row.last_error and row.next_attempt > row.created_ts
        Notification.update(next_attempt=0).execute()
    mailer.refuse = "550 5.1.1 No such user"
    assert deliver(core) == (0, 1)
    assert rows(core)[0][2] == "failed"
    assert deliver(core) == (0, 0) and mailer.envelopes == []
    assert events(core, "email-sent") == []


def test_the_worker_loop_sends_notifications(api, core, mailer, ann, open_conversation):
    import threading
    import time

    from sbcore import worker
    cid = open_conversation(ann)
    offline(core, ann)
    agent_id = api.ok("add-user", first_name="Zed", email="zed@example.com", user_type="agent")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(core, stop, 0.2), daemon=True)
    thread.start()
    try:
        api.ok("send-message", user_id=agent_id, conversation_id=cid, message="from the worker")
        core.outbox_signal.set()
        deadline = time.time() + 10
        while not mailer.envelopes and time.time() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert [m["To"] for m in mailer.messages()] == ["ann@example.com"]


# --- the other senders: direct-message, email conversations, email automations ---


def test_direct_message_with_a_subject_emails_each_user(api, core, mailer, ann, visitor):
    answer = api.ok("direct-message", user_ids=[ann, visitor], message="Our <offer>", subject="Spring sale")
    assert answer is True
    [(channel, recipient, _, data)] = rows(core)  # the visitor has no address; no reply notification
    assert (channel, recipient, data["to"]) == ("email", ann, "ann@example.com")
    assert mailer.envelopes == []
    assert deliver(core) == (1, 0)
    [message] = mailer.messages()
    conversation = api.ok("get-user-conversations", user_id=ann)[0]
    token = mail.reply_token(core.secret_key, conversation["conversation_id"])
    assert message["Subject"] == f"Spring sale [#{token}]"
    assert "Our &lt;offer&gt;" in parts(message)[1]
    assert conversation["message"] == "Our <offer>"
    counts = api.ok("reports", name="direct-emails")["data"]
    assert sum(v[0] for v in counts.values()) == 1


def test_messaging_platforms_send_message_to_an_email_conversation(api, core, mailer, ann, visitor,
                                                                    open_conversation, snapshot):
    cid = open_conversation(ann, source="em", title="Order #12")
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="Shipped",
                  attachments=[["label.pdf", "https://example.com/label.pdf"]]) is True
    deliver(core)
    [message] = mailer.messages()
    assert message["To"] == "ann@example.com" and message["Subject"].startswith("Order #12 [#c")
    assert "label.pdf: https://example.com/label.pdf" in parts(message)[0]
    nobody = open_conversation(visitor, source="em")
    before = snapshot()
    result = api.call("messaging-platforms-send-message", conversation_id=nobody, message="x")
    assert (result.status, result.response) == (400, "user-email-not-found")
    assert snapshot() == before


def test_messaging_platforms_send_message_to_a_ticket_emails_its_user(api, core, mailer, ann,
                                                                      open_conversation):
    cid = open_conversation(ann, source="tk", title="Ticket 7")
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="We fixed it") is True
    deliver(core)
    [message] = mailer.messages()
    assert message["To"] == "ann@example.com" and message["Subject"].startswith("Ticket 7")
    assert "We fixed it" in parts(message)[0]


def test_email_automations_are_sent(api, core, mailer, ann, visitor):
    api.ok("automations-save", automations={"emails": [
        {"id": "mail1", "name": "Mail", "message": "Hello <friend>", "subject": "Welcome", "conditions": []}]})
    assert api.ok("automations-run", automation={"id": "mail1"}, user_id=ann) is True
    assert api.ok("automations-run", automation={"id": "mail1"}, user_id=ann) is False  # sent already
    result = api.call("automations-run", automation={"id": "mail1"}, user_id=visitor)
    assert (result.status, result.response) == (400, "user-email-not-found")
    bob = api.ok("add-user", first_name="Bob", email="bob@example.com")
    assert api.ok("automations-run-all", user_id=bob) == []
    api.ok("automations-run-all", user_id=visitor)  # no address: left unsent
    assert deliver(core) == (2, 0)
    assert sorted(m["To"] for m in mailer.messages()) == ["ann@example.com", "bob@example.com"]
    assert {m["Subject"] for m in mailer.messages()} == {"Welcome"}
    assert api.ok("automations-is-sent", user_id=bob, automation={"id": "mail1"}) is True
    assert api.ok("automations-is-sent", user_id=visitor, automation={"id": "mail1"}) is False
    counts = api.ok("reports", name="email-automations")["data"]
    assert sum(v[0] for v in counts.values()) == 2


def test_deleted_users_get_nothing_and_old_rows_are_pruned(api, core, mailer, ann, make_user,
                                                           open_conversation):
    from datetime import timedelta

    from sbcore import notifications
    from sbcore.db import utcnow
    from sbcore.models import Notification
    bob = make_user(first_name="Bob", email="bob@example.com")
    for user in (ann, bob):
        api.ok("direct-message", user_ids=[user], message="x", subject="S")
    api.ok("delete-user", user_id=ann)
    assert [r[3]["to"] for r in rows(core)] == ["bob@example.com"]
    assert deliver(core) == (1, 0)
    with dbmod.connection():
        ctx = core.context()
        assert notifications.prune(ctx) == 0  # recent
        Notification.update(created=utcnow() - timedelta(days=31)).execute()
        assert notifications.prune(ctx) == 1
    assert rows(core) == []
