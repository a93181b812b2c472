"""Facebook Messenger and Instagram: messenger-send-message, replies from the inbox
(sources ``fb`` and ``ig``) and the inbound webhook (``page`` and ``instagram``
notifications, ``entry[].messaging[]``)."""

import logging
import os
import re

from sbcore import AGENT, ApiError, FunctionSet, channels
from sbcore import conversations as C
from sbcore.errors import invalid_argument
from sbcore.settings import Setting, list_of_records

from .client import DEFAULT_URL, PageApi
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.messenger")
functions = FunctionSet()
SOURCES = {"page": "fb", "instagram": "ig"}  # the webhook's object: the conversations' source
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp")
MEDIA_TYPES = ("image", "video", "audio", "file")
GRAPH_ID = re.compile(r"^[0-9]{1,32}$")
METADATA_MAX = 1000  # the Send API's limit on metadata

SETTINGS = [
    Setting("messenger-url", "text", DEFAULT_URL,
            "The Graph API's base URL for Messenger and Instagram (SB_URL_MESSENGER overrides)."),
    Setting("messenger-pages", "repeater", [],
            'Facebook Pages: [{"page-id", "token", "instagram-id"}] (the page access token; the ID of the '
            "Instagram professional account linked to the page, for Instagram messages); the first is the "
            "default. Messenger is active when one is set.",
            list_of_records("messenger-pages", ("page-id", "token", "instagram-id"), ("page-id", "token"))),
    Setting("messenger-app-secret", "password", "",
            "The Meta app's secret: inbound webhooks must carry its X-Hub-Signature-256."),
    Setting("messenger-verify-token", "password", "",
            "The verify token given to Meta when subscribing the webhook (hub.verify_token)."),
]


# --- the pages ---


def pages(core):
    return [p for p in core.settings.get("messenger-pages") or [] if p.get("page-id") and p.get("token")]


def page(core, page_id=None):
    """The Page API client of ``page_id`` (the default page without one)."""
    configured = pages(core)
    if not configured:
        raise ApiError("messenger-not-active", "Messenger is not configured: add a page to the setting "
                       "'messenger-pages'.", 400)
    if page_id in (None, "", False):
        chosen = configured[0]
    else:
        chosen = next((p for p in configured if str(p["page-id"]) == str(page_id)), None)
        if chosen is None:
            raise ApiError("messenger-page-not-found", f"No Facebook Page has the ID {page_id}.", 400)
    return PageApi(core, str(chosen["page-id"]), str(chosen["token"]))


def page_of_instagram(core, instagram_id):
    return next((str(p["page-id"]) for p in pages(core) if str(p.get("instagram-id", "")) == str(instagram_id)),
                None)


# --- sending ---


def bodies(psid, text, attachments, metadata=None):
    """Send API requests for a text and its attachments (images, else files, by URL)."""
    base = {"recipient": {"id": psid}, "messaging_type": "RESPONSE"}
    result = []
    if text.strip():
        message = {"text": text}
        if metadata:
            message["metadata"] = metadata
        result.append({**base, "message": message})
    for item in attachments:
        extension = os.path.splitext(item[1].split("?", 1)[0])[1].lstrip(".").lower()
        kind = "image" if extension in IMAGE_EXTENSIONS else "file"
        result.append({**base, "message": {"attachment": {"type": kind, "payload": {
            "url": item[1], "is_reusable": True}}}})
    return result


def send(core, psid, page_id, text, attachments, metadata=None):
    """Send; answers the Send API's answer of each message sent, in order."""
    psid = str(psid).strip()
    if not GRAPH_ID.match(psid):
        raise invalid_argument("psid", "the page-scoped ID of the person (digits).")
    if metadata is not None and len(metadata) > METADATA_MAX:
        raise invalid_argument("metadata", f"at most {METADATA_MAX} characters.")
    attachments = [item[:2] for item in attachments or []]
    C.check_attachments(attachments)
    requests_ = bodies(psid, text or "", attachments, metadata)
    if not requests_:
        raise ApiError("empty-message", "A message needs text or attachments.")
    api = page(core, page_id)
    return [api.send(body) for body in requests_]


@functions("messenger-send-message", role=AGENT, transaction=False)  # a network call: no transaction held
def messenger_send_message(ctx, psid: str, facebook_page_id: str | bool = False, message: str = "",
                           attachments: Attachments | None = None, metadata: str | int | bool = False):
    answers = send(ctx.core, psid, facebook_page_id, message, attachments,
                   None if metadata is False else str(metadata))
    return answers[0]


def channel_send(ctx, conversation, message, attachments):
    """A reply in an ``fb`` or ``ig`` conversation: to the person, from the page the
    conversation came in on (its ``extra``)."""
    if conversation.source not in SOURCES.values():
        return None
    psid = channels.external_user_id(conversation.source, conversation.user_id)
    if not psid:
        raise ApiError("messenger-recipient-unknown", "The conversation's user has no Messenger or Instagram ID.",
                       400)
    answers = send(ctx.core, psid, conversation.extra, message, attachments)
    return [answer["message_id"] for answer in answers if answer.get("message_id")]


# --- the inbound webhook ---


class Webhook:
    """``/channels/messenger``: Meta's verification handshake (GET) and the ``page`` and
    ``instagram`` notifications (POST, signed with the app secret)."""

    def __init__(self, core):
        self.core = core

    def get(self, request):
        return channels.meta_handshake(request, self.core.settings.get("messenger-verify-token"))

    def post(self, request):
        if not channels.verify_meta_signature(self.core.settings.get("messenger-app-secret"), request.body,
                                              request.headers.get("x-hub-signature-256")):
            return channels.Answer(403, "invalid signature")
        body = request.json()
        source = SOURCES.get(body.get("object"))
        if source is None:
            return channels.Answer(200, "ignored")
        for entry in body.get("entry") or []:
            if not isinstance(entry, dict):
                continue
            page_id = str(entry.get("id", ""))
            if source == "ig":
                page_id = page_of_instagram(self.core, page_id) or page_id
            for event in entry.get("messaging") or []:
                if isinstance(event, dict):
                    self.event(source, page_id, event)
        return channels.Answer(200, "ok")

    def event(self, source, page_id, event):
        message = event.get("message")
        sender = str((event.get("sender") or {}).get("id", ""))
        if isinstance(message, dict):
            if not message.get("is_echo") and not message.get("is_deleted"):
                self.receive(source, page_id, sender, message)
        elif isinstance(event.get("postback"), dict):  # a button the person pressed
            postback = event["postback"]
            self.receive(source, page_id, sender, {"mid": postback.get("mid"), "text": postback.get("title", "")})
        elif isinstance(event.get("read"), dict) and event["read"].get("mid"):  # Instagram's messaging_seen
            channels.mark_read(self.core, source, event["read"]["mid"])

    def receive(self, source, page_id, sender, message):
        external_id = message.get("mid")
        if not external_id or not GRAPH_ID.match(sender) or channels.is_stored(source, external_id):
            return
        text, attachments, errors = message.get("text") or "", [], []
        for attachment in [a for a in message.get("attachments") or [] if isinstance(a, dict)]:
            url = (attachment.get("payload") or {}).get("url")
            if attachment.get("type") not in MEDIA_TYPES or not url:
                continue  # templates, fallbacks, shares: nothing to bring in
            try:
                attachments.append(channels.download(self.core, url))
            except channels.MediaError as error:
                log.warning("%s attachment not stored: %s", source, error)
                errors.append(str(error))
        if not text and not attachments and not errors:
            return
        contact = self.contact(source, page_id, sender)
        channels.receive(self.core, channels.Incoming(contact, external_id, text, attachments, extra=page_id or None,
                                                      payload={"media_error": "; ".join(errors)} if errors else None))

    def contact(self, source, page_id, sender):
        """The person, with the name from their profile when they are new here."""
        first = last = ""
        details = [("facebook-id" if source == "fb" else "instagram-id", sender,
                    "Facebook ID" if source == "fb" else "Instagram ID")]
        if channels.user_of(source, sender) is None:
            try:
                api = page(self.core, page_id)
                if source == "fb":
                    profile = api.profile(sender, "first_name,last_name")
                    first, last = profile.get("first_name", ""), profile.get("last_name", "")
                else:
                    profile = api.profile(sender, "name,username")
                    first, _, last = (profile.get("name") or profile.get("username") or "").partition(" ")
                    if profile.get("username"):
                        details.append(("instagram-username", profile["username"], "Instagram username"))
            except ApiError as error:
                log.warning("no %s profile for %s: %s", source, sender, error.message)
        return channels.Contact(source, sender, first, last.strip(), details)
