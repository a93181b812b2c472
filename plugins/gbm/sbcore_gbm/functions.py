"""Google Business Messages: gbm-send-message, replies from the inbox (source ``gb``) and
the inbound webhook (``/channels/gbm``: the clientToken check, then messages signed
with the partner key)."""

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import uuid

from sbcore import AGENT, ApiError, FunctionSet, channels
from sbcore import conversations as C
from sbcore.errors import invalid_argument
from sbcore.settings import Setting, invalid

from .client import DEFAULT_URL, BusinessMessages, access_token
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.gbm")
functions = FunctionSet()
SOURCE = "gb"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png")  # what Business Messages shows as an image
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


def check_service_account(value):
    if value:
        try:
            info = json.loads(value)
        except ValueError:
            info = None
        if not isinstance(info, dict) or not all(info.get(k) for k in ("client_email", "private_key", "token_uri")):
            raise invalid("gbm-service-account", "paste the service account's JSON key (client_email, "
                          "private_key, token_uri).")
    return value


SETTINGS = [
    Setting("gbm-url", "text", DEFAULT_URL, "The Business Messages API's base URL (SB_URL_GBM overrides)."),
    Setting("gbm-service-account", "password", "",
            "The JSON key of the agent's service account. Google Business Messages is active when it is set.",
            check_service_account),
    Setting("gbm-partner-key", "password", "",
            "The partner key: inbound webhooks must carry its X-Goog-Signature."),
    Setting("gbm-client-token", "password", "",
            "The client token given with the webhook URL; Google sends it back when it verifies the webhook."),
]


def client(core, token=None):
    key = core.settings.get("gbm-service-account")
    if not key:
        raise ApiError("gbm-not-active", "Google Business Messages is not configured: set "
                       "'gbm-service-account'.", 400)
    return BusinessMessages(core, token or access_token(core.config, key))


# --- sending ---


def bodies(text, attachments):
    """Business Messages messages: the text, then images (jpg, png) by URL and other files
    as a text with their link (the API sends no files). Every message has a new id."""
    def message(**content):
        return {"messageId": str(uuid.uuid4()), "representative": {"representativeType": "HUMAN"}, **content}
    first = message(text=text) if text.strip() else None
    rest = []
    for name, url in attachments:
        extension = os.path.splitext(url.split("?", 1)[0])[1].lstrip(".").lower()
        if extension in IMAGE_EXTENSIONS:
            rest.append(message(image={"contentInfo": {"fileUrl": url, "forceRefresh": False}}))
        else:
            rest.append(message(text=f"{name}: {url}" if name else url))
    return first, rest


def send(core, conversation_id, text, attachments, token=None):
    """Answers ``(the text's answer, [each attachment's answer], the access token)``."""
    conversation_id = str(conversation_id).strip()
    if not CONVERSATION_ID.match(conversation_id):
        raise invalid_argument("google_conversation_id", "the conversationId Business Messages gives.")
    attachments = [item[:2] for item in attachments or []]
    C.check_attachments(attachments)
    first, rest = bodies(text or "", attachments)
    if first is None and not rest:
        raise ApiError("empty-message", "A message needs text or attachments.")
    api = client(core, token)
    answer = api.send(conversation_id, first) if first else None
    return answer, [api.send(conversation_id, body) for body in rest], api.token


@functions("gbm-send-message", role=AGENT, transaction=False)  # network calls: no transaction held
def gbm_send_message(ctx, google_conversation_id: str, message: str = "", attachments: Attachments | None = None,
                     token: str | bool = False):
    answer, answers, used = send(ctx.core, google_conversation_id, message, attachments, token or None)
    return [answer, answers, used]


def channel_send(ctx, conversation, message, attachments):
    """A reply in a ``gb`` conversation: to its Business Messages conversation (``extra``)."""
    if conversation.source != SOURCE:
        return None
    target = conversation.extra or channels.external_user_id(SOURCE, conversation.user_id)
    if not target:
        raise ApiError("gbm-conversation-unknown", "The conversation has no Business Messages conversation ID.", 400)
    answer, answers, _ = send(ctx.core, target, message, attachments)
    return [a["messageId"] for a in ([answer] if answer else []) + answers if a.get("messageId")]


# --- the inbound webhook ---


def verify_signature(partner_key, body, header):
    """``X-Goog-Signature``: the base64 HMAC-SHA512 of the raw body with the partner key."""
    if not partner_key or not isinstance(header, str) or not header:
        return False
    expected = base64.b64encode(hmac.new(partner_key.encode(), body, hashlib.sha512).digest())
    return hmac.compare_digest(expected, header.strip().encode())


class Webhook:
    """``/channels/gbm``: Google's webhook check (``{"clientToken", "secret"}``, answered
    with the secret when the client token matches) and the signed messages."""

    def __init__(self, core):
        self.core = core

    def post(self, request):
        body = request.json()
        if set(body) == {"clientToken", "secret"}:
            if channels.verify_secret(str(self.core.settings.get("gbm-client-token") or ""), body["clientToken"]):
                return channels.Answer(200, str(body["secret"]))
            return channels.Answer(403, "verification failed")
        if not verify_signature(self.core.settings.get("gbm-partner-key"), request.body,
                                request.headers.get("x-goog-signature")):
            return channels.Answer(403, "invalid signature")
        if isinstance(body.get("message"), dict):
            self.receive(body, body["message"])
        elif isinstance(body.get("suggestionResponse"), dict):
            # a tapped suggestion: its request is the one thing unique to it
            self.receive(body, {"messageId": body.get("requestId"), "text": body["suggestionResponse"].get("text", "")})
        elif isinstance(body.get("receipts"), dict):
            for receipt in body["receipts"].get("receipts") or []:
                if isinstance(receipt, dict) and receipt.get("receiptType") == "READ":
                    channels.mark_read(self.core, SOURCE, str(receipt.get("message", "")).rsplit("/", 1)[-1])
        return channels.Answer(200, "ok")

    def receive(self, body, message):
        conversation_id, message_id = body.get("conversationId"), message.get("messageId")
        if not conversation_id or not message_id or channels.is_stored(SOURCE, message_id):
            return
        text, attachments, payload = message.get("text") or "", [], None
        image = (message.get("image") or {}).get("contentInfo") or {}
        if image.get("fileUrl"):
            try:
                attachments = [channels.download(self.core, image["fileUrl"])]
            except channels.MediaError as error:
                log.warning("Business Messages image %s not stored: %s", message_id, error)
                payload = {"media_error": str(error)}
        elif not text:
            return
        user = (body.get("context") or {}).get("userInfo") or {}
        first, _, last = str(user.get("displayName") or "").strip().partition(" ")
        details = [("gbm-conversation-id", conversation_id, "Google Business Messages ID"),
                   ("language", (body.get("context") or {}).get("resolvedLocale"), "Language")]
        contact = channels.Contact(SOURCE, conversation_id, first, last.strip(), details)
        channels.receive(self.core, channels.Incoming(contact, message_id, text, attachments, extra=conversation_id,
                                                      payload=payload))
