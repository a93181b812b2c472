"""Viber: viber-send-message, replies from the inbox (source ``vb``) and the inbound
webhook (``/channels/viber``, signed with the bot's token)."""

import hashlib
import hmac
import logging
import os
import re

import requests

from sbcore import AGENT, ApiError, FunctionSet, channels, outbound
from sbcore import conversations as C
from sbcore.errors import invalid_argument
from sbcore.settings import Setting

from .client import DEFAULT_URL, BotApi
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.viber")
functions = FunctionSet()
SOURCE = "vb"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif")  # what Viber shows as a picture message
MEDIA_TYPES = ("picture", "video", "file")
VIBER_ID = re.compile(r"^[A-Za-z0-9+/=_-]{4,64}$")
EVENT_TYPES = ["delivered", "seen", "failed", "conversation_started"]

SETTINGS = [
    Setting("viber-url", "text", DEFAULT_URL, "The Viber REST bot API's base URL (SB_URL_VIBER overrides)."),
    Setting("viber-token", "password", "",
            "The Viber bot's authentication token (its app key); it also signs the inbound webhooks "
            "(X-Viber-Content-Signature). Viber is active when it is set."),
    Setting("viber-sender-name", "text", "Support", "The bot's name shown with every message (at most 28 characters)."),
    Setting("viber-sender-avatar", "text", "", "The URL of the bot's avatar shown with every message (optional)."),
]


def bot(core):
    token = core.settings.get("viber-token")
    if not token:
        raise ApiError("viber-not-active", "Viber is not configured: set 'viber-token'.", 400)
    return BotApi(core, str(token))


# --- sending ---


def file_size(core, url):
    """The size of a file to send as a Viber file message (which needs it), from a HEAD
    request; None when the server does not say."""
    try:
        response = outbound.request(core.config, "HEAD", url)
    except (outbound.OutboundRefused, requests.RequestException):
        return None
    length = response.headers.get("Content-Length", "")
    return int(length) if 200 <= response.status_code < 300 and length.isdecimal() and int(length) > 0 else None


def bodies(core, receiver, text, attachments):
    """Viber messages for a text and its attachments: text, then pictures (jpg, png, gif),
    files (when their size is known) or URL messages."""
    sender = {"name": str(core.settings.get("viber-sender-name") or "Support")[:28]}
    if core.settings.get("viber-sender-avatar"):
        sender["avatar"] = str(core.settings.get("viber-sender-avatar"))
    base = {"receiver": receiver, "min_api_version": 1, "sender": sender}
    result = []
    if text.strip():
        result.append({**base, "type": "text", "text": text})
    for name, url in ((item[0], item[1]) for item in attachments):
        extension = os.path.splitext(url.split("?", 1)[0])[1].lstrip(".").lower()
        size = None if extension in IMAGE_EXTENSIONS else file_size(core, url)
        if extension in IMAGE_EXTENSIONS:
            result.append({**base, "type": "picture", "text": "", "media": url})
        elif size:
            result.append({**base, "type": "file", "media": url, "size": size,
                           "file_name": name or os.path.basename(url.split("?", 1)[0])})
        else:
            result.append({**base, "type": "url", "media": url})
    return result


def send(core, viber_id, text, attachments):
    """Send; answers Viber's answer of each message, in order."""
    viber_id = str(viber_id).strip()
    if not VIBER_ID.match(viber_id):
        raise invalid_argument("viber_id", "the user's Viber ID, as the webhook gives it.")
    attachments = [item[:2] for item in attachments or []]
    C.check_attachments(attachments)
    if not (text or "").strip() and not attachments:
        raise ApiError("empty-message", "A message needs text or attachments.")
    api = bot(core)
    return [api.send(body) for body in bodies(core, viber_id, text or "", attachments)]


@functions("viber-send-message", role=AGENT, transaction=False)  # a network call: no transaction held
def viber_send_message(ctx, viber_id: str, message: str = "", attachments: Attachments | None = None):
    return send(ctx.core, viber_id, message, attachments)[0]


def channel_send(ctx, conversation, message, attachments):
    """A reply in a ``vb`` conversation: to the user's Viber ID."""
    if conversation.source != SOURCE:
        return None
    viber_id = channels.external_user_id(SOURCE, conversation.user_id)
    if not viber_id:
        raise ApiError("viber-recipient-unknown", "The conversation's user has no Viber ID.", 400)
    return [str(a["message_token"]) for a in send(ctx.core, viber_id, message, attachments) if "message_token" in a]


def set_webhook(core, report=print):
    """``set_webhook`` to ``SB_PUBLIC_URL/channels/viber``, with the events used here."""
    from sbcore import db as dbmod
    with dbmod.connection():
        api = bot(core)
    url = f"{core.config.public_url}/channels/viber"
    answer = api.set_webhook(url, EVENT_TYPES)
    report(f"{url} ({answer.get('status_message')}; events: {', '.join(answer.get('event_types') or [])})")


# --- the inbound webhook ---


def verify_signature(token, body, header):
    """``X-Viber-Content-Signature``: the hex HMAC-SHA256 of the raw body with the token."""
    if not token or not isinstance(header, str) or not header:
        return False
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.strip().lower())


class Webhook:
    """``/channels/viber``: Viber's callbacks (``webhook`` when it is set, ``message``,
    ``seen``, ``failed`` …)."""

    def __init__(self, core):
        self.core = core

    def post(self, request):
        if not verify_signature(self.core.settings.get("viber-token"), request.body,
                                request.headers.get("x-viber-content-signature")):
            return channels.Answer(403, "invalid signature")
        callback = request.json()
        event = callback.get("event")
        if event == "message" and isinstance(callback.get("message"), dict):
            self.receive(callback)
        elif event == "seen":
            channels.mark_read(self.core, SOURCE, str(callback.get("message_token", "")))
        elif event == "failed":
            message_id = channels.message_id_of(SOURCE, str(callback.get("message_token", "")))
            if message_id is not None:
                channels.mark_failed(self.core, message_id, "viber-error", str(callback.get("desc") or "failed"))
        return channels.Answer(200, "ok")

    def receive(self, callback):
        message, sender = callback["message"], callback.get("sender") or {}
        token, viber_id, kind = callback.get("message_token"), sender.get("id"), message.get("type")
        if token in (None, "") or not viber_id or channels.is_stored(SOURCE, str(token)):
            return
        text, attachments, payload = message.get("text") or "", [], None
        if kind in MEDIA_TYPES:
            try:
                attachments = [channels.download(self.core, message.get("media", ""),
                                                 name=message.get("file_name", ""))]
            except channels.MediaError as error:
                log.warning("Viber media of %s not stored: %s", token, error)
                payload = {"media_error": str(error)}
        elif kind == "location":
            place = message.get("location") or {}
            text = f"https://maps.google.com/?q={place.get('lat')},{place.get('lon')}"
        elif kind == "contact":
            contact = message.get("contact") or {}
            text = " ".join(str(p) for p in (contact.get("name"), contact.get("phone_number")) if p)
        elif kind == "url":
            text = message.get("media") or text
        elif kind != "text":
            return  # stickers and the rest: nothing to show
        if not text and not attachments and payload is None:
            return
        first, _, last = str(sender.get("name") or "").strip().partition(" ")
        details = [("viber-id", viber_id, "Viber ID"), ("country", sender.get("country"), "Country"),
                   ("language", sender.get("language"), "Language")]
        contact = channels.Contact(SOURCE, viber_id, first, last.strip(), details)
        channels.receive(self.core, channels.Incoming(contact, str(token), text, attachments, payload=payload))
