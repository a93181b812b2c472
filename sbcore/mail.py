"""Email out: the SMTP settings, the notification templates and the one function that
talks SMTP (``deliver``). Templates are jinja2 with autoescape on: every user value
(names, subjects, messages, attachment names) is escaped; a message's chat formatting
goes through ``sbcore.text.to_html``, which escapes before it adds tags.

Reply tokens: every notification about a conversation carries a token that names the
conversation and proves that sbcore wrote it (an HMAC of the id with the secret key),
in the subject and in the Reply-To address (``support+<token>@example.com``), so that
email piping can put a reply in its conversation and nobody can guess another's."""

import hashlib
import hmac
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import jinja2
from markupsafe import Markup

from . import outbound
from . import text as textmod
from .errors import ApiError
from .hooks import hookimpl
from .settings import Setting, invalid

TIMEOUT = 20.0
SECURITY = ("starttls", "ssl", "none")
EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
TOKEN = re.compile(r"(?<![0-9a-z])c(\d{1,18})-([0-9a-f]{20})(?![0-9a-z])", re.I)

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("sbcore", "web/templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                        disabled_extensions=("txt.j2",), default=True),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def check_security(setting_id):
    def validate(value):
        if value not in SECURITY:
            raise invalid(setting_id, f"one of {', '.join(SECURITY)}.")
        return value
    return validate


def check_port(setting_id):
    def validate(value):
        if not float(value).is_integer() or not 0 < value < 65536:
            raise invalid(setting_id, "a port from 1 to 65535.")
        return int(value)
    return validate


def check_optional_address(setting_id):
    def validate(value):
        value = value.strip()
        if value and not EMAIL.match(value):
            raise invalid(setting_id, f"'{value}' is not an email address.")
        return value
    return validate


@hookimpl
def sbcore_register_settings():
    return [
        Setting("smtp-host", "text", "", "The SMTP server that sends email; empty: email is not "
                "configured (email functions answer email-not-configured)."),
        Setting("smtp-port", "number", 587, "The SMTP server's port (587 STARTTLS, 465 SSL/TLS, 25 none).",
                check_port("smtp-port")),
        Setting("smtp-security", "select", "starttls", "starttls, ssl (TLS from the first byte) or "
                "none; certificates are verified.", check_security("smtp-security")),
        Setting("smtp-username", "text", "", "The SMTP login; empty: no login."),
        Setting("smtp-password", "password", "", "The SMTP password."),
        Setting("email-sender-address", "text", "", "The From address of every email (empty: "
                "smtp-username).", check_optional_address("email-sender-address")),
        Setting("email-sender-name", "text", "Support", "The From name of every email."),
        Setting("email-reply-address", "text", "", "The mailbox that email piping reads, e.g. "
                "support@example.com: notifications about a conversation reply to "
                "support+<token>@example.com (empty: no Reply-To; the token is in the subject too).",
                check_optional_address("email-reply-address")),
    ]


class MailError(Exception):
    """The SMTP server refused or could not be reached; the text is the server's and
    ``code`` its reply code (0 when it never answered)."""

    def __init__(self, text, code=0):
        super().__init__(text)
        self.code = code

    @property
    def permanent(self):
        return 500 <= self.code < 600


def _server_code(error):
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return min(code for code, _ in error.recipients.values())
    return getattr(error, "smtp_code", 0) or 0


# --- settings ---


def smtp_settings(ctx):
    get = ctx.settings.get
    if not (get("smtp-host") or "").strip() and sb_email_server(ctx).get("email-server-host"):
        server = sb_email_server(ctx)  # Support Board 3.8's setting, when sbcore's is empty
        port = str(server.get("email-server-port") or "").strip()
        return {"host": server["email-server-host"].strip(),
                "port": int(port) if port.isdigit() else int(get("smtp-port")),
                "security": get("smtp-security"), "username": server.get("email-server-user", ""),
                "password": server.get("email-server-password", ""),
                "sender": (server.get("email-server-from") or server.get("email-server-user")
                           or "").strip(),
                "sender_name": server.get("email-sender-name") or get("email-sender-name") or "",
                "reply_address": (get("email-reply-address") or "").strip()}
    return {"host": (get("smtp-host") or "").strip(), "port": int(get("smtp-port")),
            "security": get("smtp-security"), "username": get("smtp-username") or "",
            "password": get("smtp-password") or "",
            "sender": (get("email-sender-address") or get("smtp-username") or "").strip(),
            "sender_name": get("email-sender-name") or "",
            "reply_address": (get("email-reply-address") or "").strip()}


def sb_email_server(ctx):
    value = ctx.settings.get("email-server") or {}
    return value if isinstance(value, dict) else {}


def configured(ctx):
    return bool((ctx.settings.get("smtp-host") or "").strip()
                or str(sb_email_server(ctx).get("email-server-host") or "").strip())


def require_configured(ctx, why="Sending email"):
    if not configured(ctx):
        raise ApiError("email-not-configured", f"{why} needs an SMTP server: set smtp-host (and "
                       "smtp-port, smtp-security, smtp-username, smtp-password, "
                       "email-sender-address) with save-settings.", 400)


def check_address(value, argument="to"):
    address = (value or "").strip()
    if len(address) > 254 or not EMAIL.match(address):
        raise ApiError("invalid-email", f"'{value}' is not an email address ({argument}).", 400)
    return address


# --- reply tokens ---


def reply_token(secret_key, conversation_id):
    digest = hmac.new(secret_key.encode(), f"email-reply:{int(conversation_id)}".encode(),
                      hashlib.sha256).hexdigest()
    return f"c{int(conversation_id)}-{digest[:20]}"


def conversation_of_token(secret_key, value):
    """The conversation id of the first valid token in ``value`` (checked in constant
    time), else None."""
    for match in TOKEN.finditer(value or ""):
        expected = reply_token(secret_key, int(match.group(1)))
        if hmac.compare_digest(expected.lower(), match.group(0).lower()):
            return int(match.group(1))
    return None


def reply_to_address(reply_address, token):
    local, _, domain = reply_address.partition("@")
    return f"{local}+{token}@{domain}"


# --- composing ---


def one_line(value, limit=300):
    return " ".join(str(value or "").split())[:limit]


def render(template, **values):
    """The HTML and text bodies of ``template`` (``<template>.html.j2``/``.txt.j2``)."""
    message = values.get("message", "")
    html_values = dict(values, message=Markup(textmod.to_html(message)))
    return (TEMPLATES.get_template(f"{template}.html.j2").render(**html_values),
            TEMPLATES.get_template(f"{template}.txt.j2").render(**values))


def compose(settings, to, subject, html, plain, reply_to=None, sender_suffix=""):
    if not settings["sender"]:
        raise ApiError("email-not-configured", "Set email-sender-address (or smtp-username): "
                       "emails need a From address.", 400)
    message = EmailMessage()
    name = one_line(settings["sender_name"] + (sender_suffix or ""), 120)
    message["From"] = formataddr((name, settings["sender"])) if name else settings["sender"]
    message["To"] = to
    message["Subject"] = one_line(subject, 250)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings["sender"].rpartition("@")[2] or None)
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    return message


def _server_text(error):
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: {code} {reply.decode(errors='replace')}"
                         for rcpt, (code, reply) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        return f"{error.smtp_code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
    return f"{type(error).__name__}: {error}"


def deliver(config, settings, message):
    """Send ``message`` through the configured SMTP server; raises MailError with the
    server's answer. A network call: never inside a transaction."""
    host, port = settings["host"], settings["port"]
    try:
        outbound.check_host(config, host, port)
    except outbound.OutboundRefused as error:
        raise MailError(str(error))
    context = ssl.create_default_context()
    try:
        if settings["security"] == "ssl":
            client = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with client:
            if settings["security"] == "starttls":
                client.starttls(context=context)
            if settings["username"]:
                client.login(settings["username"], settings["password"])
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(_server_text(error), _server_code(error))


def send(ctx, to, subject, template, reply_to=None, sender_suffix="", **values):
    """Render and send one email now (for API functions that answer the SMTP result):
    a failure is ApiError smtp-error 502 with the server's message."""
    settings = smtp_settings(ctx)
    html, plain = render(template, subject=subject, **values)
    message = compose(settings, to, subject, html, plain, reply_to, sender_suffix)
    try:
        deliver(ctx.config, settings, message)
    except MailError as error:
        raise ApiError("smtp-error", f"The SMTP server did not take the email: {error}", 502)
    return message

