"""Text messages through Twilio: the ``sms`` setting, its templates, and ``send_sms``,
which send-sms and the notification flow call.

The template of Settings > SMS (``sms-message-user`` for users, ``sms-message-agent``
for agents and admins) wraps the message: ``{message}`` is the message,
``{recipient_name}`` the recipient's name, ``{conversation_id}`` and
``{conversation_url_parameter}`` (``?conversation=ID``) the conversation given. The
template is translated into the recipient's language (the user whose ``phone`` detail
is the number). Each message sent fires the ``sms-sent`` webhook."""

import re

from .clients import twilio
from .errors import ApiError, invalid_argument
from .models import User, UserDetail
from .outbound import service_url
from .settings import Setting, options_of
from .translations import translate
from .users import agent_types

DEFAULTS = {"sms-active": False, "sms-user": "", "sms-token": "", "sms-sender": "",
            "sms-message-user": "", "sms-message-agent": ""}
SETTINGS = [
    Setting("sms", "multi-input", DEFAULTS,
            "SMS through Twilio: sms-active, sms-user (Account SID), sms-token (auth token), sms-sender "
            "(a phone number or a Messaging Service SID MG…), sms-message-user and sms-message-agent "
            "(templates with {message}, {recipient_name}, {conversation_url_parameter}).",
            options_of("sms", DEFAULTS)),
    Setting("sms-url", "text", twilio.DEFAULT_URL, "Twilio's API base URL (SB_URL_TWILIO overrides)."),
]

PHONE = re.compile(r"^\+[1-9][0-9]{5,14}$")
MAX_BODY = 1600  # Twilio's limit for one message
MAX_MEDIA = 10
FIELD = re.compile(r"\{(message|recipient_name|conversation_id|conversation_url_parameter)\}")


def is_active(ctx):
    return bool(ctx.settings.options("sms")["sms-active"])


def configuration(ctx):
    """The ``sms`` options when SMS can be sent; ApiError sms-not-active / sms-not-configured."""
    options = ctx.settings.options("sms")
    if not options["sms-active"]:
        raise ApiError("sms-not-active", "SMS is off: turn on sms-active in the setting sms.", 400)
    missing = [key for key in ("sms-user", "sms-token", "sms-sender") if not options[key].strip()]
    if missing:
        raise ApiError("sms-not-configured", f"SMS needs {', '.join(missing)} in the setting sms.", 400)
    return options


def phone_number(to):
    """``to`` as E.164 (``+`` and digits; spaces, dashes, brackets and a leading 00 allowed)."""
    text = re.sub(r"[\s().-]", "", to if isinstance(to, str) else "")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not PHONE.match(text):
        raise invalid_argument("to", "a phone number with its country code, such as +15305431221.")
    return text


def recipient(to, number):
    """The user whose ``phone`` detail is the number (as given or normalized), or None."""
    detail = (UserDetail.select(UserDetail.user).where(
        (UserDetail.slug == "phone") & UserDetail.value.in_(list({to.strip(), number})))
        .order_by(UserDetail.user).first())
    return User.get_or_none(User.id == detail.user_id) if detail else None


def language_of(user):
    for slug in ("language", "browser_language"):
        row = UserDetail.get_or_none((UserDetail.user == user.id) & (UserDetail.slug == slug))
        if row and row.value.strip():
            return row.value.strip().lower().replace("_", "-")
    return None


def media_urls(attachments):
    """Twilio MediaUrl values from ``[["name", "link"], …]`` or ``["link", …]``."""
    if attachments in (None, False, "", []):
        return []
    if not isinstance(attachments, list):
        raise invalid_argument("attachments", 'expected [["name", "link"], …] or ["link", …].')
    urls = []
    for item in attachments:
        link = item[1] if isinstance(item, list) and len(item) > 1 else item
        if not isinstance(link, str) or not link.lower().startswith(("http://", "https://")):
            raise invalid_argument("attachments", "each attachment is an http(s) link.")
        urls.append(link)
    if len(urls) > MAX_MEDIA:
        raise invalid_argument("attachments", f"at most {MAX_MEDIA} attachments.")
    return urls


def compose(ctx, options, message, user, template, conversation_id):
    """The text sent: the message, in its template when ``template``, fields filled once."""
    name = f"{user.first_name} {user.last_name}".strip() if user else ""
    fields = {"recipient_name": name,
              "conversation_id": str(conversation_id) if conversation_id else "",
              "conversation_url_parameter": f"?conversation={conversation_id}" if conversation_id else ""}
    text = FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), message)
    pattern = ""
    if template:
        agent = user is not None and user.user_type in agent_types()
        pattern = options["sms-message-agent" if agent else "sms-message-user"].strip()
    if pattern:
        pattern = translate(ctx.config, pattern, language_of(user) if user else None)
        text = FIELD.sub(lambda m: text if m.group(1) == "message" else fields[m.group(1)], pattern)
    return text


def send_sms(ctx, to, message, template=True, conversation_id=None, attachments=None):
    """Send ``message`` to the phone number ``to`` through Twilio and fire ``sms-sent``.

    Answers Twilio's Message (a dict). ApiError: sms-not-active, sms-not-configured,
    invalid-argument (400); twilio-error (502) with Twilio's message. Makes the network
    call itself: call it outside a transaction (the webhook event is written after)."""
    options = configuration(ctx)
    if not isinstance(message, str) or not message.strip():
        raise invalid_argument("message", "a text message is required.")
    number = phone_number(to)
    media = media_urls(attachments)
    user = recipient(to, number)
    body = compose(ctx, options, message, user, template, conversation_id)
    if len(body) > MAX_BODY:
        raise invalid_argument("message", f"at most {MAX_BODY} characters with its template.")
    response = twilio.create_message(ctx.config, service_url(ctx, "twilio", "sms-url"), options["sms-user"].strip(),
                                     options["sms-token"].strip(), number, body, options["sms-sender"].strip(),
                                     media)
    data = {"recipent_id": str(user.id) if user else None, "message": message, "Body": body,
            "From": options["sms-sender"].strip(), "To": number, "response": response}
    with ctx.core.database.atomic():
        ctx.emit("sms-sent", data)
    return response
