"""WhatsApp: whatsapp-send-message, replies from the inbox (source ``wa``) and the
inbound webhook (messages, media, status updates)."""

import logging
import os
import re

from sbcore import AGENT, ApiError, FunctionSet, channels
from sbcore import conversations as C
from sbcore import users as U
from sbcore.errors import invalid_argument
from sbcore.settings import Setting, list_of_records

from .client import DEFAULT_URL, CloudApi
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.whatsapp")
functions = FunctionSet()
SOURCE = "wa"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png")  # what the Cloud API takes as an image
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
PHONE = re.compile(r"^\+?[0-9]{5,20}$")

SETTINGS = [
    Setting("whatsapp-url", "text", DEFAULT_URL,
            "The WhatsApp Cloud API's base URL (SB_URL_WHATSAPP overrides)."),
    Setting("whatsapp-numbers", "repeater", [],
            'WhatsApp business numbers: [{"phone-id", "token"}] (the Cloud API\'s phone number ID '
            "and an access token); the first is the default. WhatsApp is active when one is set.",
            list_of_records("whatsapp-numbers", ("phone-id", "token"), ("phone-id", "token"))),
    Setting("whatsapp-app-secret", "password", "",
            "The Meta app's secret: inbound webhooks must carry its X-Hub-Signature-256."),
    Setting("whatsapp-verify-token", "password", "",
            "The verify token given to Meta when subscribing the webhook (hub.verify_token)."),
]


# --- the numbers ---


def number(core, phone_id=None):
    """The Cloud API client of ``phone_id`` (the default number without one)."""
    numbers = [n for n in core.settings.get("whatsapp-numbers") or [] if n.get("phone-id") and n.get("token")]
    if not numbers:
        raise ApiError("whatsapp-not-active", "WhatsApp is not configured: add a number to the "
                       "setting 'whatsapp-numbers'.", 400)
    if phone_id in (None, "", False):
        chosen = numbers[0]
    else:
        chosen = next((n for n in numbers if str(n["phone-id"]) == str(phone_id)), None)
        if chosen is None:
            raise ApiError("whatsapp-number-not-found", f"No WhatsApp number has the phone ID {phone_id}.", 400)
    return CloudApi(core, str(chosen["phone-id"]), str(chosen["token"]))


# --- sending ---


def bodies(to, text, attachments):
    """The Cloud API messages for a text and its attachments: the text first, then each
    file as an image (jpg, png) or a document, by its link."""
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
    result = []
    if text.strip():
        result.append({**base, "type": "text", "text": {"preview_url": False, "body": text}})
    for name, url in ((item[0], item[1]) for item in attachments):
        extension = os.path.splitext(url.split("?", 1)[0])[1].lstrip(".").lower()
        if extension in IMAGE_EXTENSIONS:
            result.append({**base, "type": "image", "image": {"link": url}})
        else:
            result.append({**base, "type": "document", "document": {"link": url, "filename": name}})
    return result


def send(core, to, text, attachments, phone_id=None):
    """Send, answering the Cloud API's answer with the ids of every message sent."""
    to = re.sub(r"[\s()-]", "", str(to))
    if not PHONE.match(to):
        raise invalid_argument("to", "a phone number with its country code, e.g. +39321305455.")
    attachments = [item[:2] for item in attachments or []]
    C.check_attachments(attachments)
    messages = bodies(to, text or "", attachments)
    if not messages:
        raise ApiError("empty-message", "A message needs text or attachments.")
    api = number(core, phone_id)
    answers = [api.send(body) for body in messages]
    return {"messaging_product": "whatsapp", "contacts": answers[0].get("contacts", []),
            "messages": [m for answer in answers for m in answer.get("messages", [])]}


@functions("whatsapp-send-message", role=AGENT, transaction=False)  # a network call: no transaction held
def whatsapp_send_message(ctx, to: str, message: str = "", attachments: Attachments | None = None,
                          phone_id: str | bool = False):
    return send(ctx.core, to, message, attachments, phone_id)


def channel_send(ctx, conversation, message, attachments):
    """A reply in a ``wa`` conversation: to the user's WhatsApp id, from the number the
    conversation came in on (its ``extra``)."""
    if conversation.source != SOURCE:
        return None
    to = channels.external_user_id(SOURCE, conversation.user_id) or U.detail_value(conversation.user_id, "phone")
    if not to:
        raise ApiError("whatsapp-recipient-unknown", "The conversation's user has no WhatsApp number.", 400)
    answer = send(ctx.core, to, message, attachments, conversation.extra)
    return [m["id"] for m in answer["messages"] if m.get("id")]


# --- the inbound webhook ---


def split_name(name):
    first, _, last = (name or "").strip().partition(" ")
    return first, last.strip()


class Webhook:
    """``/channels/whatsapp``: Meta's verification handshake (GET) and the
    ``whatsapp_business_account`` notifications (POST, signed with the app secret)."""

    def __init__(self, core):
        self.core = core

    def get(self, request):
        return channels.meta_handshake(request, self.core.settings.get("whatsapp-verify-token"))

    def post(self, request):
        if not channels.verify_meta_signature(self.core.settings.get("whatsapp-app-secret"), request.body,
                                              request.headers.get("x-hub-signature-256")):
            return channels.Answer(403, "invalid signature")
        body = request.json()
        if body.get("object") != "whatsapp_business_account":
            return channels.Answer(200, "ignored")
        for value in changes(body):
            metadata = value.get("metadata") or {}
            names = {str(c.get("wa_id")): (c.get("profile") or {}).get("name", "")
                     for c in value.get("contacts") or [] if isinstance(c, dict)}
            for message in value.get("messages") or []:
                if isinstance(message, dict):
                    self.receive(str(metadata.get("phone_number_id", "")), names, message)
            for status in value.get("statuses") or []:
                if isinstance(status, dict):
                    self.status(status)
        return channels.Answer(200, "ok")

    def receive(self, phone_id, names, message):
        external_id, sender, kind = message.get("id"), str(message.get("from", "")), message.get("type")
        if not external_id or not sender or channels.is_stored(SOURCE, external_id):
            return
        text, attachments, payload = "", [], None
        if kind == "text":
            text = (message.get("text") or {}).get("body", "")
        elif kind in MEDIA_TYPES:
            media = message.get(kind) or {}
            text = media.get("caption", "")
            try:
                attachments = [self.download(phone_id, media)]
            except (ApiError, channels.MediaError) as error:
                log.warning("WhatsApp media %s not stored: %s", media.get("id"), error)
                payload = {"media_error": str(getattr(error, "message", error))}
        elif kind == "location":
            place = message.get("location") or {}
            text = " ".join(str(p) for p in (place.get("name"), place.get("address")) if p)
            text = f"{text} https://maps.google.com/?q={place.get('latitude')},{place.get('longitude')}".strip()
        elif kind == "button":
            text = (message.get("button") or {}).get("text", "")
        elif kind == "interactive":
            reply = message.get("interactive") or {}
            text = (reply.get("button_reply") or reply.get("list_reply") or {}).get("title", "")
        else:
            return  # reactions, system notices, unsupported types: nothing to show
        first, last = split_name(names.get(sender, ""))
        contact = channels.Contact(SOURCE, sender, first, last, [("phone", f"+{sender}", "Phone")])
        channels.receive(self.core, channels.Incoming(contact, external_id, text, attachments,
                                                      extra=phone_id or None, payload=payload))

    def download(self, phone_id, media):
        api = number(self.core, phone_id or None)
        info = api.media(media.get("id"))
        return channels.download(self.core, info.get("url", ""), name=media.get("filename", ""),
                                 mime_type=media.get("mime_type") or info.get("mime_type", ""),
                                 headers=api.auth_headers())

    def status(self, status):
        """``read`` marks our message read; ``failed`` writes the failure into it."""
        if status.get("status") == "read":
            channels.mark_read(self.core, SOURCE, status.get("id"))
        elif status.get("status") == "failed":
            message_id = channels.message_id_of(SOURCE, status.get("id"))
            if message_id is not None:
                error = (status.get("errors") or [{}])[0]
                details = (error.get("error_data") or {}).get("details")
                channels.mark_failed(self.core, message_id, "whatsapp-error",
                                     f"({error.get('code')}) {error.get('title') or error.get('message')}"
                                     + (f": {details}" if details else ""))


def changes(body):
    for entry in body.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                yield change["value"]
