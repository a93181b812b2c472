"""WeChat: wechat-send-message, replies from the inbox (source ``wc``) and the inbound
webhook of the Official Account (``/channels/wechat``: the signature handshake, XML
messages in plaintext mode)."""

import hashlib
import hmac
import logging
import os
import re
from xml.parsers import expat

import requests

from sbcore import AGENT, ApiError, FunctionSet, channels, outbound
from sbcore import conversations as C
from sbcore.errors import invalid_argument
from sbcore.settings import Setting

from .client import DEFAULT_URL, OfficialAccount
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.wechat")
functions = FunctionSet()
SOURCE = "wc"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif")  # what WeChat takes as an image
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # WeChat's limit for a temporary image
OPEN_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
XML_MAX_FIELDS = 64

SETTINGS = [
    Setting("wechat-url", "text", DEFAULT_URL, "The WeChat Official Account API's base URL (SB_URL_WECHAT overrides)."),
    Setting("wechat-app-id", "text", "",
            "The Official Account's AppID. WeChat is active when it and the AppSecret are set."),
    Setting("wechat-app-secret", "password", "", "The Official Account's AppSecret."),
    Setting("wechat-token", "password", "",
            "The Token given in the Official Account's server configuration: inbound requests are signed with it."),
]


def account(core, token=None):
    app_id, secret = core.settings.get("wechat-app-id"), core.settings.get("wechat-app-secret")
    if not app_id or not secret:
        raise ApiError("wechat-not-active", "WeChat is not configured: set 'wechat-app-id' and "
                       "'wechat-app-secret'.", 400)
    return OfficialAccount(core, str(app_id), str(secret), token)


# --- sending ---


def fetch(core, url, limit):
    """An image to upload to WeChat: ``(bytes, content type)``, through the outbound guard."""
    try:
        response = outbound.request(core.config, "GET", url, stream=True)
    except (outbound.OutboundRefused, requests.RequestException) as error:
        raise ApiError("url-not-allowed" if isinstance(error, outbound.OutboundRefused) else "wechat-error",
                       f"The attachment {url} could not be fetched: {error}", 400)
    with response:
        if not 200 <= response.status_code < 300:
            raise ApiError("attachment-not-found", f"The attachment {url} answered HTTP {response.status_code}.", 400)
        content = b""
        for chunk in response.iter_content(64 * 1024):
            content += chunk
            if len(content) > limit:
                raise ApiError("attachment-too-large", f"The attachment {url} is larger than {limit} bytes.", 400)
        return content, response.headers.get("Content-Type", "application/octet-stream").split(";")[0]


def send(core, open_id, text, attachments, token=None):
    """Customer service messages: the text, then images (uploaded as temporary media) and
    other files as a text with their link (WeChat sends no files). Answers WeChat's
    answer of each message and the access token used."""
    open_id = str(open_id).strip()
    if not OPEN_ID.match(open_id):
        raise invalid_argument("open_id", "the user's WeChat OpenID, as the webhook gives it.")
    attachments = [item[:2] for item in attachments or []]
    C.check_attachments(attachments)
    if not (text or "").strip() and not attachments:
        raise ApiError("empty-message", "A message needs text or attachments.")
    api = account(core, token)
    answers = []
    if (text or "").strip():
        answers.append(api.send({"touser": open_id, "msgtype": "text", "text": {"content": text}}))
    for name, url in attachments:
        extension = os.path.splitext(url.split("?", 1)[0])[1].lstrip(".").lower()
        if extension in IMAGE_EXTENSIONS:
            content, mime_type = fetch(core, url, IMAGE_MAX_BYTES)
            media = api.upload_image(name or os.path.basename(url.split("?", 1)[0]), content, mime_type)
            answers.append(api.send({"touser": open_id, "msgtype": "image", "image": {"media_id": media["media_id"]}}))
        else:
            answers.append(api.send({"touser": open_id, "msgtype": "text",
                                     "text": {"content": f"{name}: {url}" if name else url}}))
    return answers, api.token


@functions("wechat-send-message", role=AGENT, transaction=False)  # network calls: no transaction held
def wechat_send_message(ctx, open_id: str, message: str = "", attachments: Attachments | None = None,
                        token: str | bool = False):
    answers, used = send(ctx.core, open_id, message, attachments, token or None)
    return [answers[0], used]


def channel_send(ctx, conversation, message, attachments):
    """A reply in a ``wc`` conversation: to the user's OpenID. WeChat gives no message
    ids, so there are none to keep."""
    if conversation.source != SOURCE:
        return None
    open_id = channels.external_user_id(SOURCE, conversation.user_id)
    if not open_id:
        raise ApiError("wechat-recipient-unknown", "The conversation's user has no WeChat OpenID.", 400)
    send(ctx.core, open_id, message, attachments)
    return []


# --- the inbound webhook ---


def verify_signature(token, params):
    """WeChat's ``signature``: the hex SHA-1 of token, timestamp and nonce, sorted and joined."""
    signature, timestamp, nonce = (params.get(k) for k in ("signature", "timestamp", "nonce"))
    if not token or not all(isinstance(v, str) and v for v in (signature, timestamp, nonce)):
        return False
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


class UnsafeXml(ValueError):
    pass


def parse_xml(body):
    """The fields of a WeChat ``<xml>`` message as a dict, with the standard library's
    expat: no DTD, no entity declarations, no external entities."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def forbid(*args):
        raise UnsafeXml("DTDs and entities are not accepted")
    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    fields, stack, text = {}, [], []

    def start(name, attributes):
        stack.append(name)
        text.clear()

    def end(name):
        if len(stack) == 2 and len(fields) < XML_MAX_FIELDS:
            fields[name] = "".join(text).strip()
        stack.pop()
        text.clear()

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(body, True)
    except (expat.ExpatError, UnsafeXml) as error:
        raise ApiError("invalid-body", f"The body is not a WeChat XML message: {error}", 400)
    return fields


class Webhook:
    """``/channels/wechat``: the server check (GET with ``echostr``) and the messages
    (POST), both signed in the query string."""

    def __init__(self, core):
        self.core = core

    def get(self, request):
        if verify_signature(self.core.settings.get("wechat-token"), request.params) and \
                channels.fresh(request.params.get("timestamp")):
            return channels.Answer(200, str(request.params.get("echostr", "")))
        return channels.Answer(403, "verification failed")

    def post(self, request):
        """A signed message, at most five minutes old, whose nonce was not used before
        (a replayed request is refused)."""
        params = request.params
        if not verify_signature(self.core.settings.get("wechat-token"), params):
            return channels.Answer(403, "verification failed")
        if not channels.fresh(params.get("timestamp")):
            return channels.Answer(403, "the timestamp is older than five minutes")
        nonce = params.get("nonce")
        if channels.nonce_used(SOURCE, nonce):
            return channels.Answer(403, "the nonce was used before")
        self.receive(parse_xml(request.body))
        channels.remember_nonce(self.core, SOURCE, nonce)
        return channels.Answer(200, "success")  # WeChat's "no reply here"

    def receive(self, fields):
        open_id, kind, message_id = fields.get("FromUserName"), fields.get("MsgType"), fields.get("MsgId")
        if not open_id or not message_id or channels.is_stored(SOURCE, message_id):
            return  # events (subscribe, menu clicks …) carry no MsgId: nothing to store
        text, attachments, payload = "", [], None
        if kind == "text":
            text = fields.get("Content", "")
        elif kind in ("image", "voice", "video", "shortvideo"):
            try:
                attachments = [self.download(kind, fields)]
            except (ApiError, channels.MediaError) as error:
                log.warning("WeChat media of %s not stored: %s", message_id, error)
                payload = {"media_error": str(getattr(error, "message", error))}
            text = fields.get("Recognition", "")  # a voice message's transcription, when on
        elif kind == "location":
            text = f"{fields.get('Label', '')} https://maps.google.com/?q={fields.get('Location_X')}," \
                   f"{fields.get('Location_Y')}".strip()
        elif kind == "link":
            text = " ".join(p for p in (fields.get("Title"), fields.get("Url")) if p)
        else:
            return
        contact = channels.Contact(SOURCE, open_id, "", "", [("wechat-id", open_id, "WeChat OpenID")])
        channels.receive(self.core, channels.Incoming(contact, message_id, text, attachments, payload=payload))

    def download(self, kind, fields):
        if kind == "image" and fields.get("PicUrl"):
            return channels.download(self.core, fields["PicUrl"], mime_type="image/jpeg")
        api = account(self.core)
        try:  # the type from WeChat's answer: a JSON error body is then refused, not stored
            return channels.download(self.core, api.media_url(fields.get("MediaId", "")))
        except channels.MediaError as error:
            raise channels.MediaError(api.scrub(str(error))) from None
