"""LINE: line-send-message, replies from the inbox (source ``ln``) and the inbound
webhook (``/channels/line``, signed with the channel secret)."""

import base64
import hashlib
import hmac
import logging
import os
import re

from sbcore import AGENT, ApiError, FunctionSet, channels
from sbcore import conversations as C
from sbcore.errors import invalid_argument
from sbcore.settings import Setting

from .client import DEFAULT_DATA_URL, DEFAULT_URL, MessagingApi
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.line")
functions = FunctionSet()
SOURCE = "ln"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png")  # what LINE shows as an image message
MEDIA_TYPES = ("image", "video", "audio", "file")
PUSH_MAX = 5  # messages in one push request
TEXT_MAX = 5000
TO = re.compile(r"^[UCR][0-9a-f]{32}$")  # a user, group or room ID

SETTINGS = [
    Setting("line-url", "text", DEFAULT_URL, "The LINE Messaging API's base URL (SB_URL_LINE overrides)."),
    Setting("line-data-url", "text", DEFAULT_DATA_URL,
            "The base URL LINE serves message content from (SB_URL_LINE overrides it too)."),
    Setting("line-channel-access-token", "password", "",
            "The LINE channel's long-lived channel access token. LINE is active when it is set."),
    Setting("line-channel-secret", "password", "",
            "The LINE channel secret: inbound webhooks must carry its X-Line-Signature."),
]


def api(core):
    token = core.settings.get("line-channel-access-token")
    if not token:
        raise ApiError("line-not-active", "LINE is not configured: set 'line-channel-access-token'.", 400)
    return MessagingApi(core, str(token))


# --- sending ---


def messages_for(text, attachments):
    """LINE message objects: the text, then images (jpg, png) as image messages and
    other files as a text with their link (LINE has no file message to send)."""
    result = []
    if text.strip():
        result.append({"type": "text", "text": text[:TEXT_MAX]})
    for name, url in ((item[0], item[1]) for item in attachments):
        extension = os.path.splitext(url.split("?", 1)[0])[1].lstrip(".").lower()
        if extension in IMAGE_EXTENSIONS:
            result.append({"type": "image", "originalContentUrl": url, "previewImageUrl": url})
        else:
            result.append({"type": "text", "text": f"{name}: {url}" if name else url})
    return result


def send(core, to, text, attachments):
    """Push, five messages a request; answers ``{"sentMessages": […]}`` of every one sent."""
    to = str(to).strip()
    if not TO.match(to):
        raise invalid_argument("line_id", "a LINE user, group or room ID (U, C or R and 32 hex digits).")
    attachments = [item[:2] for item in attachments or []]
    C.check_attachments(attachments)
    messages = messages_for(text or "", attachments)
    if not messages:
        raise ApiError("empty-message", "A message needs text or attachments.")
    client = api(core)
    sent = []
    for start in range(0, len(messages), PUSH_MAX):
        answer = client.push(to, messages[start:start + PUSH_MAX])
        if not isinstance(answer.get("sentMessages"), list):
            raise ApiError("line-error", "line answered without sentMessages: the messages may not have "
                           "been sent.", 502)
        sent += answer["sentMessages"]
    return {"sentMessages": sent}


@functions("line-send-message", role=AGENT, transaction=False)  # a network call: no transaction held
def line_send_message(ctx, line_id: str, message: str = "", attachments: Attachments | None = None):
    return send(ctx.core, line_id, message, attachments)


def channel_send(ctx, conversation, message, attachments):
    """A reply in an ``ln`` conversation: to its chat (``extra``: the user, group or room)."""
    if conversation.source != SOURCE:
        return None
    to = conversation.extra or channels.external_user_id(SOURCE, conversation.user_id)
    if not to:
        raise ApiError("line-recipient-unknown", "The conversation has no LINE user, group or room ID.", 400)
    answer = send(ctx.core, to, message, attachments)
    return [m["id"] for m in answer["sentMessages"] if isinstance(m, dict) and m.get("id")]


# --- the inbound webhook ---


def verify_signature(secret, body, header):
    """``X-Line-Signature``: the base64 HMAC-SHA256 of the raw body with the channel secret."""
    if not secret or not isinstance(header, str) or not header:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip().encode())


class Webhook:
    """``/channels/line``: the channel's webhook events (an empty list when LINE checks
    the URL)."""

    def __init__(self, core):
        self.core = core

    def post(self, request):
        if not verify_signature(self.core.settings.get("line-channel-secret"), request.body,
                                request.headers.get("x-line-signature")):
            return channels.Answer(403, "invalid signature")
        for event in request.json().get("events") or []:
            if isinstance(event, dict) and event.get("type") == "message" and isinstance(event.get("message"), dict):
                self.receive(event)
        return channels.Answer(200, "ok")

    def receive(self, event):
        message, source = event["message"], event.get("source") or {}
        user_id, kind = source.get("userId"), message.get("type")
        chat = source.get("groupId") or source.get("roomId") or user_id
        if not message.get("id") or not user_id or channels.is_stored(SOURCE, message["id"]):
            return
        text, attachments, payload = "", [], None
        if kind == "text":
            text = message.get("text", "")
        elif kind in MEDIA_TYPES:
            try:
                attachments = [self.download(message)]
            except (ApiError, channels.MediaError) as error:
                log.warning("LINE content %s not stored: %s", message["id"], error)
                payload = {"media_error": str(getattr(error, "message", error))}
        elif kind == "location":
            text = " ".join(str(p) for p in (message.get("title"), message.get("address")) if p)
            text = f"{text} https://maps.google.com/?q={message.get('latitude')},{message.get('longitude')}".strip()
        else:
            return  # stickers and the rest: nothing to show
        channels.receive(self.core, channels.Incoming(self.contact(source, user_id), message["id"], text,
                                                      attachments, extra=chat, payload=payload))

    def contact(self, source, user_id):
        """The user's display name from the profile API when LINE gives it (a friend of
        the account in a one-to-one chat) and the user is new here."""
        name, details = "", [("line-id", user_id, "LINE ID")]
        if source.get("type") == "user" and channels.user_of(SOURCE, user_id) is None:
            try:
                profile = api(self.core).profile(user_id)
                name = profile.get("displayName") or ""
                if profile.get("language"):
                    details.append(("language", profile["language"], "Language"))
            except ApiError as error:
                log.warning("LINE profile of %s not read: %s", user_id, error.message)
        first, _, last = name.strip().partition(" ")
        return channels.Contact(SOURCE, user_id, first, last.strip(), details)

    def download(self, message):
        provider = message.get("contentProvider") or {}
        if provider.get("type") == "external":  # a video or image hosted by its sender
            return channels.download(self.core, provider.get("originalContentUrl", ""))
        client = api(self.core)
        return channels.download(self.core, client.content_url(message["id"]), name=message.get("fileName", ""),
                                 headers=client.auth_headers())
