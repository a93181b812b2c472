"""Email piping: replies by email become chat messages.

The worker (every minute, ``email-piping`` job) or the ``email-piping`` function reads
the unseen mail of the configured IMAP mailbox. Each email is matched to its
conversation by the reply token that notifications carry (in the Reply-To address,
``support+<token>@…``, or in the subject; see ``sbcore.mail``); its quoted history is cut
with mail-parser-reply; its attachments go to the uploads folder when their extension is
allowed; the message is stored as its sender, in a transaction of its own; then, after
commit, the email is marked seen. An email without a valid token, or from an address
that is neither the conversation's user nor an agent, opens a new conversation (source
``em``) for its sender, who becomes a user when the address is new.

IMAP is network: nothing here runs inside a transaction while the server is asked."""

import email
import hashlib
import email.policy
import imaplib
import logging
import os
import re
import ssl
import time
from email.utils import parseaddr
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser
from peewee import IntegrityError

from . import conversations as C
from . import identity
from . import db as dbmod
from . import mail, outbound, uploads
from . import users as U
from .errors import ApiError
from .functions.utilities import extension_allowed
from .hooks import hookimpl
from .db import utcnow
from .models import Conversation, PipedEmail
from .settings import Setting
from .worker import Job, claim, release

log = logging.getLogger("sbcore.piping")
TIMEOUT = 30.0
BATCH = 100                      # emails a run reads at most
MAX_ATTACHMENT = 20_000_000      # bytes; larger attachments are left out
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "ja", "zh"]
ADDRESS_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
JOB = "email-piping"
MAX_FAILURES = 5                 # failed runs before an email is quarantined
QUARANTINE = "sbcore-quarantine"


@hookimpl
def sbcore_register_settings():
    return [
        Setting("imap-host", "text", "", "The IMAP server that email piping reads; empty: piping is off."),
        Setting("imap-port", "number", 993, "The IMAP port (993 SSL/TLS, 143 STARTTLS or none).",
                mail.check_port("imap-port")),
        Setting("imap-security", "select", "ssl", "ssl (TLS from the first byte), starttls or none; "
                "certificates are verified.", mail.check_security("imap-security")),
        Setting("imap-username", "text", "", "The IMAP login."),
        Setting("imap-password", "password", "", "The IMAP password."),
        Setting("imap-mailbox", "text", "INBOX", "The mailbox (folder) email piping reads."),
        Setting("imap-quarantine-mailbox", "text", QUARANTINE, "Where email piping moves an email that "
                f"failed to store {MAX_FAILURES} times (created when missing)."),
    ]


@hookimpl
def sbcore_register_jobs():
    return [Job(JOB, 60, run_job, transaction=False)]


def run_job(ctx):
    if configured(ctx):
        pipe(ctx)


def configured(ctx):
    return bool((ctx.settings.get("imap-host") or "").strip())


def run(ctx, force=False):
    """The email-piping function: at most once a minute unless ``force``; False when
    it did not run."""
    if not configured(ctx):
        raise ApiError("email-piping-not-configured", "Email piping needs an IMAP server: set "
                       "imap-host (and imap-port, imap-security, imap-username, imap-password) "
                       "with save-settings.", 400)
    job = Job(JOB, 60, run_job, transaction=False)
    owner = claim(job, time.time(), force=force)
    if owner is None:
        if not force:
            return False
        raise ApiError("email-piping-running", "Email piping is reading the mailbox in another run; "
                       "try again when it has finished.", 409)
    try:
        pipe(ctx, errors=True)
    finally:
        release(job, owner)
    return True


# --- IMAP ---


def connect(ctx):
    get = ctx.settings.get
    host, port, security = get("imap-host").strip(), int(get("imap-port")), get("imap-security")
    outbound.check_host(ctx.config, host, port)
    context = ssl.create_default_context()
    if security == "ssl":
        client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=TIMEOUT)
    else:
        client = imaplib.IMAP4(host, port, timeout=TIMEOUT)
        if security == "starttls":
            client.starttls(ssl_context=context)
    client.login(get("imap-username"), get("imap-password"))
    status, data = client.select(quote_mailbox(get("imap-mailbox") or "INBOX"))
    if status != "OK":
        raise imaplib.IMAP4.error(f"cannot open the mailbox: {data[0].decode(errors='replace')}")
    return client


def quote_mailbox(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pipe(ctx, errors=False):
    """Read the unseen emails, store each once, mark it seen; answers how many were
    stored. An email that fails to store stays unseen and is tried again on the next
    run; after ``MAX_FAILURES`` it is moved to the quarantine mailbox.
    With ``errors``, an IMAP failure is ApiError imap-error 502 (else logged)."""
    stored = 0
    try:
        client = connect(ctx)
        try:
            status, data = client.uid("SEARCH", None, "UNSEEN")
            for uid in (data[0] or b"").split()[:BATCH]:
                status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
                if status != "OK" or raw is None:
                    continue
                outcome = pipe_one(ctx, raw)
                if outcome == "stored":
                    stored += 1
                if outcome == "quarantine":
                    quarantine(ctx, client, uid)
                elif outcome != "retry":
                    client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        finally:
            try:
                client.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
    except (imaplib.IMAP4.error, OSError, outbound.OutboundRefused) as error:
        if errors:
            raise ApiError("imap-error", f"The IMAP server failed: {error}", 502)
        log.warning("email piping: the IMAP server failed: %s", error)
    if stored:
        ctx.core.outbox_signal.set()
    return stored


def email_key(raw):
    """The email's Message-ID, else the SHA-256 of its bytes: the same email read twice
    (two runs, a copy left unseen) has the same key."""
    found = re.search(rb"^message-id:[ \t]*(.+(?:\r?\n[ \t].*)*)", raw[:65536], re.IGNORECASE | re.MULTILINE)
    value = " ".join(found.group(1).decode("utf-8", "replace").split()) if found else ""
    if value and len(value) <= 180:
        return "mid:" + value
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def pipe_one(ctx, raw):
    """Store one email once: "stored", "skipped" (nothing to store, or stored before),
    "retry" (it failed; left unseen) or "quarantine" (it failed too often)."""
    key = email_key(raw)
    database = ctx.core.database

    def attempt():
        row = PipedEmail.get_or_none(PipedEmail.key == key)
        if row is not None and row.stored:
            return "skipped"
        message = store(ctx, raw)
        # the unique key makes a concurrent run's copy fail here and roll back whole
        if row is None:
            PipedEmail.create(key=key, stored=True)
        else:
            PipedEmail.update(stored=True, updated=utcnow()).where(
                (PipedEmail.id == row.id) & (PipedEmail.stored == False)).execute()  # noqa: E712
        return "stored" if message is not None else "skipped"

    try:
        return dbmod.in_transaction_retrying(database, attempt)
    except IntegrityError:
        return "skipped"  # another run stored it in the meantime
    except Exception as error:  # one bad email never blocks the mailbox
        log.exception("email %s could not be stored", key)
        failures = count_failure(database, key, f"{type(error).__name__}: {error}")
        return "quarantine" if failures >= MAX_FAILURES else "retry"


def count_failure(database, key, error):
    def write():
        row = PipedEmail.get_or_none(PipedEmail.key == key)
        if row is None:
            PipedEmail.create(key=key, failures=1, last_error=error[:500])
            return 1
        PipedEmail.update(failures=PipedEmail.failures + 1, last_error=error[:500], updated=utcnow()).where(
            PipedEmail.id == row.id).execute()
        return row.failures + 1
    try:
        return dbmod.in_transaction_retrying(database, write)
    except IntegrityError:
        return 1


def quarantine(ctx, client, uid):
    """Move an email that keeps failing out of the way: copied to the quarantine
    mailbox (created when missing), then deleted from the one piping reads."""
    folder = quote_mailbox(ctx.settings.get("imap-quarantine-mailbox") or QUARANTINE)
    client.create(folder)  # "already exists" is a NO answer, not an exception
    status, data = client.uid("COPY", uid, folder)
    if status != "OK":
        log.error("email %s could not be quarantined: %s", uid, data)
        client.uid("STORE", uid, "+FLAGS", "(\\Seen)")  # never retried forever
        return
    client.uid("STORE", uid, "+FLAGS", "(\\Deleted \\Seen)")
    client.expunge()
    log.warning("email %s failed %d times and was moved to %s", uid, MAX_FAILURES, folder)


# --- one email ---


class _Text(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(html):
    """The text of an HTML email body (for emails without a plain-text part)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def body_text(message):
    part = message.get_body(("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        content = part.get_payload(decode=True).decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n")


def strip_quoted(text):
    reply = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text)
    return (reply if reply.strip() else text).strip()


SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def save_attachments(ctx, message, written):
    """Store the allowed attachments; answers ``[[name, url], …]``; ``written`` collects
    their URLs so that a failed transaction can remove them."""
    allowed = ctx.settings.get("upload-allowed-extensions")
    result = []
    for part in message.iter_attachments():
        name = mail.one_line(os.path.basename((part.get_filename() or "").replace("\\", "/")), 180)
        if not name or not extension_allowed(allowed, name):
            log.info("email attachment %r left out: its extension is not allowed", name)
            continue
        data = part.get_payload(decode=True) or b""
        if len(data) > MAX_ATTACHMENT:
            log.info("email attachment %r left out: %d bytes", name, len(data))
            continue
        safe = SAFE_NAME.sub("_", name).strip("._")[-80:] or "file"
        url = ctx.upload_url(uploads.store(ctx.core, "email", "-" + safe, data))
        written.append(url)
        result.append([name, url])
    return result


def person(message):
    name, address = parseaddr(str(message.get("From", "")))
    return " ".join(name.split()), address.strip().lower()


def find_conversation(ctx, message):
    fields = [str(message.get_all(h, [])) for h in ADDRESS_HEADERS] + [str(message.get("Subject", ""))]
    conversation_id = mail.conversation_of_token(ctx.secret_key, " ".join(fields))
    return Conversation.get_or_none(Conversation.id == conversation_id) if conversation_id else None


def store(ctx, raw):
    """Turn one raw email into a message; answers the message, or None when the email
    is skipped (no sender, our own mail, an auto-reply, nothing to say)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = person(message)
    if not address or not mail.EMAIL.match(address):
        return None
    own = {(ctx.settings.get(k) or "").strip().lower() for k in ("email-sender-address", "smtp-username",
                                                                 "email-reply-address")}
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if address in own or auto not in ("", "no"):
        return None  # never answer ourselves or an auto-responder: no mail loops
    subject = mail.one_line(message.get("Subject", ""), 191)
    text = strip_quoted(body_text(message))
    written = []
    try:
        attachments = save_attachments(ctx, message, written)
        if not text and not attachments:
            return None
        conversation = find_conversation(ctx, message)
        # mail from an address proves it: a user found is verified, and a visitor's
        # unverified claim to the address gives way to a user of the mail's own
        sender = identity.sender_for_piping(ctx, address)
        if conversation is None or sender is None or not (
                sender.id == conversation.user_id or sender.is_agent):
            if sender is None:
                first, _, last = name.partition(" ")
                sender = U.create_user(ctx, first_name=first[:191] or address.split("@")[0][:191],
                                       last_name=last[:191], email=address, user_type="user")
                identity.set_status(sender.id, identity.VERIFIED)
            conversation = C.create_conversation(ctx, sender.id, title=subject, source="em")
        return C.add_message(ctx, sender, conversation, text,
                             C.check_attachments(attachments) if attachments else "")
    except BaseException:
        try:
            uploads.remove_urls(ctx.core, written)
        except Exception:
            log.exception("email attachments of a failed message not removed")
        raise
