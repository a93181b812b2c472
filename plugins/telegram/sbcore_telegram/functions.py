"""Telegram: telegram-send-message, replies from the inbox (source ``tg``) and the
inbound webhook of each bot (``/channels/telegram/<bot id>``)."""

import logging
import os
import re

from sbcore import AGENT, ApiError, FunctionSet, channels
from sbcore import conversations as C
from sbcore.errors import invalid_argument
from sbcore.settings import Setting, invalid, list_of_records

from .client import DEFAULT_URL, BotApi
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.telegram")
functions = FunctionSet()
SOURCE = "tg"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp")  # sent with sendPhoto
CHAT_ID = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,64})$")
TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")


def check_bots(value):
    list_of_records("telegram-bots", ("token", "secret-token"), ("token", "secret-token"))(value)
    for bot in value:
        if not TOKEN.match(str(bot["token"])):
            raise invalid("telegram-bots", "a token is '<bot id>:<secret>' as BotFather gives it.")
    return value


SETTINGS = [
    Setting("telegram-url", "text", DEFAULT_URL, "The Telegram Bot API's base URL (SB_URL_TELEGRAM overrides)."),
    Setting("telegram-bots", "repeater", [],
            'Telegram bots: [{"token", "secret-token"}] (the token from BotFather; the secret_token given '
            "to setWebhook, which Telegram sends back in X-Telegram-Bot-Api-Secret-Token). Each bot's webhook "
            "is /channels/telegram/<bot id> (the digits before the token's colon); the first bot is the "
            "default. Telegram is active when one is set.", check_bots),
]


# --- the bots ---


def bots(core):
    return [b for b in core.settings.get("telegram-bots") or [] if b.get("token")]


def bot(core, bot_id=None):
    """The Bot API client of bot ``bot_id`` (the default bot without one)."""
    configured = bots(core)
    if not configured:
        raise ApiError("telegram-not-active", "Telegram is not configured: add a bot to the setting "
                       "'telegram-bots'.", 400)
    if bot_id in (None, "", False):
        return BotApi(core, str(configured[0]["token"]))
    chosen = next((b for b in configured if str(b["token"]).split(":", 1)[0] == str(bot_id)), None)
    if chosen is None:
        raise ApiError("telegram-bot-not-found", f"No Telegram bot has the ID {bot_id}.", 400)
    return BotApi(core, str(chosen["token"]))


# --- sending ---


def requests_for(chat_id, text, attachments):
    """Bot API methods for a text and its attachments: sendMessage, then sendPhoto for
    images and sendDocument for other files, each by URL."""
    result = []
    if text.strip():
        result.append(("sendMessage", {"chat_id": chat_id, "text": text}))
    for item in attachments:
        extension = os.path.splitext(item[1].split("?", 1)[0])[1].lstrip(".").lower()
        if extension in IMAGE_EXTENSIONS:
            result.append(("sendPhoto", {"chat_id": chat_id, "photo": item[1]}))
        else:
            result.append(("sendDocument", {"chat_id": chat_id, "document": item[1]}))
    return result


def send(core, chat_id, text, attachments, bot_id=None):
    """Send; answers the Bot API's answer of each message sent, in order."""
    chat_id = str(chat_id).strip()
    if not CHAT_ID.match(chat_id):
        raise invalid_argument("chat_id", "a Telegram chat ID (a number) or @channelusername.")
    attachments = [item[:2] for item in attachments or []]
    C.check_attachments(attachments)
    calls = requests_for(int(chat_id) if chat_id.lstrip("-").isdecimal() else chat_id, text or "", attachments)
    if not calls:
        raise ApiError("empty-message", "A message needs text or attachments.")
    api = bot(core, bot_id)
    return api, [api.method(name, body) for name, body in calls]


@functions("telegram-send-message", role=AGENT, transaction=False)  # a network call: no transaction held
def telegram_send_message(ctx, chat_id: str, message: str = "", attachments: Attachments | None = None,
                          conversation_id: int | bool = False):
    bot_id = None
    if conversation_id is not False:
        bot_id = C.require_conversation(conversation_id).extra_2
    _, answers = send(ctx.core, chat_id, message, attachments, bot_id)
    return answers[0]


def channel_send(ctx, conversation, message, attachments):
    """A reply in a ``tg`` conversation: to its chat (``extra``) through its bot (``extra_2``)."""
    if conversation.source != SOURCE:
        return None
    if not conversation.extra:
        raise ApiError("telegram-chat-unknown", "The conversation has no Telegram chat ID.", 400)
    api, answers = send(ctx.core, conversation.extra, message, attachments, conversation.extra_2)
    return [message_key(api.bot_id, conversation.extra, answer["result"]["message_id"])
            for answer in answers if isinstance(answer.get("result"), dict) and "message_id" in answer["result"]]


def message_key(bot_id, chat_id, message_id):
    """A Telegram message id is unique within its chat; with the bot and chat it is ours."""
    return f"{bot_id}:{chat_id}:{message_id}"


# --- the inbound webhook ---


def set_webhooks(core, report=print):
    """``setWebhook`` for every bot: its URL here and its secret token, message updates only."""
    from sbcore import db as dbmod
    with dbmod.connection():
        configured = bots(core)
        if not configured:
            raise ApiError("telegram-not-active", "Telegram is not configured: add a bot to the setting "
                           "'telegram-bots'.", 400)
        for entry in configured:
            api = BotApi(core, str(entry["token"]))
            url = f"{core.config.public_url}/channels/telegram/{api.bot_id}"
            answer = api.method("setWebhook", {"url": url, "secret_token": str(entry["secret-token"]),
                                               "allowed_updates": ["message"]})
            report(f"bot {api.bot_id}: {url} ({answer.get('description', 'ok')})")


MEDIA_KINDS = ("document", "audio", "video", "voice", "animation")


class Webhook:
    """``/channels/telegram/{bot_id}``: the bot's updates, each carrying the bot's secret
    token in ``X-Telegram-Bot-Api-Secret-Token``."""

    def __init__(self, core):
        self.core = core

    def post(self, request):
        bot_id = request.path.get("bot_id", "")
        configured = next((b for b in bots(self.core) if str(b["token"]).split(":", 1)[0] == bot_id), None)
        if configured is None or not channels.verify_secret(
                str(configured.get("secret-token") or ""),
                request.headers.get("x-telegram-bot-api-secret-token")):
            return channels.Answer(403, "verification failed")
        update = request.json()
        message = update.get("message")
        if isinstance(message, dict):
            self.receive(BotApi(self.core, str(configured["token"])), message)
        return channels.Answer(200, "ok")  # other updates (edits, callbacks …): nothing to store

    def receive(self, api, message):
        sender, chat = message.get("from") or {}, message.get("chat") or {}
        if not sender.get("id") or sender.get("is_bot") or chat.get("id") is None or "message_id" not in message:
            return
        external_id = message_key(api.bot_id, chat["id"], message["message_id"])
        if channels.is_stored(SOURCE, external_id):
            return
        text = message.get("text") or message.get("caption") or ""
        attachments, payload = [], None
        media = self.media_of(message)
        if media is not None:
            try:
                url, path = api.file_url(media["file_id"])
                attachments = [channels.download(self.core, url, name=media.get("file_name") or os.path.basename(path),
                                                 mime_type=media.get("mime_type", ""))]
            except (ApiError, channels.MediaError) as error:
                log.warning("Telegram file %s not stored: %s", media.get("file_id"), error)
                payload = {"media_error": str(getattr(error, "message", error))}
        if not text and media is None:
            return  # stickers, polls, service messages: nothing to show
        details = [("telegram-id", str(sender["id"]), "Telegram ID")]
        if sender.get("username"):
            details.append(("telegram-username", sender["username"], "Telegram username"))
        if sender.get("language_code"):
            details.append(("language", sender["language_code"], "Language"))
        contact = channels.Contact(SOURCE, str(sender["id"]), sender.get("first_name", ""),
                                   sender.get("last_name", ""), details)
        channels.receive(self.core, channels.Incoming(contact, external_id, text, attachments,
                                                      extra=str(chat["id"]), extra_2=api.bot_id, payload=payload))

    @staticmethod
    def media_of(message):
        if message.get("photo"):
            return message["photo"][-1]  # the largest size comes last
        for kind in MEDIA_KINDS:
            if isinstance(message.get(kind), dict):
                return message[kind]
        return None
