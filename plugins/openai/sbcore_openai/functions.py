"""OpenAI: open-ai-message (a chat completion, with the conversation as its context,
optionally answered in the conversation by the bot) and open-ai-curl (any path of the
OpenAI API, on OpenAI's host only)."""

import os
import re

from sbcore import AGENT, ApiError, FunctionSet, Json, channels, outbound
from sbcore import conversations as C
from sbcore.errors import invalid_argument, missing_argument
from sbcore.functions.services import local_file
from sbcore.functions.users import ensure_bot
from sbcore.models import Message, User
from sbcore.settings import Setting, invalid

from .client import DEFAULT_URL, OpenAI

functions = FunctionSet()

DEFAULT = {"open-ai-active": False, "open-ai-key": "", "open-ai-model": "gpt-3.5-turbo",
           "open-ai-tokens": 0, "open-ai-temperature": 1, "open-ai-prompt": "",
           "open-ai-omit-previous-messages": False, "open-ai-answer-users": False}
CONTEXT_MESSAGES = 50      # the newest messages of the conversation sent as context
CONTEXT_CHARACTERS = 8000  # and at most this many characters of them
AUDIO_MAX_BYTES = 25 * 1024 * 1024  # the transcription endpoint's limit
TRANSCRIPTION_MODEL = "whisper-1"
ASSISTANT_TYPES = ("agent", "admin", "bot")
PATH = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.:-]+)*$")
CURL_TYPES = ("GET", "POST", "DELETE", "UPLOAD")


def check_settings(value):
    unknown = set(value) - set(DEFAULT)
    if unknown:
        raise invalid("open-ai", f"unknown keys {', '.join(sorted(unknown))}.")
    for key in ("open-ai-key", "open-ai-model", "open-ai-prompt"):
        if key in value and not isinstance(value[key], str):
            raise invalid("open-ai", f"{key} is text.")
    for key in ("open-ai-active", "open-ai-omit-previous-messages", "open-ai-answer-users"):
        if key in value and not isinstance(value[key], bool):
            raise invalid("open-ai", f"{key} is true or false.")
    for key in ("open-ai-tokens", "open-ai-temperature"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], (int, float))
                             or value[key] < 0):
            raise invalid("open-ai", f"{key} is a number, 0 or more.")
    return value


SETTINGS = [
    Setting("open-ai-url", "text", DEFAULT_URL,
            "The OpenAI API's base URL, without /v1 (SB_URL_OPENAI overrides)."),
    Setting("open-ai", "multi-input", dict(DEFAULT),
            "OpenAI: open-ai-active, open-ai-key (the API key, sent as Authorization: Bearer), "
            "open-ai-model (default model), open-ai-tokens (default max_tokens, 0: the model's own), "
            "open-ai-temperature, open-ai-prompt (a system message put before the conversation), "
            "open-ai-omit-previous-messages (send only the message, not the conversation), "
            "open-ai-answer-users (the bot answers users' messages by itself).", check_settings),
]


def settings_of(ctx):
    value = {**DEFAULT, **(ctx.settings.get("open-ai") or {})}
    if not value["open-ai-active"] or not str(value["open-ai-key"]).strip():
        raise ApiError("open-ai-not-active", "OpenAI is not configured: set open-ai-active and open-ai-key "
                       "in the setting 'open-ai'.", 400)
    return value


def client(ctx):
    return OpenAI(ctx, str(settings_of(ctx)["open-ai-key"]).strip())


# --- open-ai-message ---


def conversation_context(conversation_id):
    """The conversation's newest messages, oldest first, as chat messages: the users'
    as ``user``, agents' and the bot's as ``assistant``; at most CONTEXT_MESSAGES of
    them and CONTEXT_CHARACTERS characters, the newest kept."""
    rows = (Message.select(Message.message, User.user_type).join(User, on=(User.id == Message.user))
            .where(Message.conversation == conversation_id).order_by(Message.id.desc())
            .limit(CONTEXT_MESSAGES).tuples())
    chosen, length = [], 0
    for text, user_type in rows:
        if not text or not text.strip():
            continue
        if length + len(text) > CONTEXT_CHARACTERS:
            break
        length += len(text)
        chosen.append({"role": "assistant" if user_type in ASSISTANT_TYPES else "user", "content": text})
    return chosen[::-1]


def chat_messages(settings, message, conversation_id):
    """The ``messages`` of the completion: the prompt as a system message, the
    conversation (unless omitted), then ``message`` unless it is already the last."""
    items = []
    if settings["open-ai-prompt"].strip():
        items.append({"role": "system", "content": settings["open-ai-prompt"]})
    history = []
    if conversation_id is not False and not settings["open-ai-omit-previous-messages"]:
        history = conversation_context(conversation_id)
    items += history
    if message.strip() and (not history or history[-1] != {"role": "user", "content": message}):
        items.append({"role": "user", "content": message})
    if not any(item["role"] != "system" for item in items):
        raise missing_argument("message")
    return items


def transcribe(ctx, api, audio_url):
    """The text of the audio file at ``audio_url`` (``POST /v1/audio/transcriptions``)."""
    response = outbound.call_service(ctx.config, "GET", audio_url, "audio", stream=True)
    data = response.raw.read(AUDIO_MAX_BYTES + 1, decode_content=True)
    if len(data) > AUDIO_MAX_BYTES:
        raise ApiError("file-too-large", "The audio file is larger than 25 MB.", 400)
    name = os.path.basename(audio_url.split("?", 1)[0]) or "audio.mp3"
    answer = api.call("POST", "audio/transcriptions", data={"model": TRANSCRIPTION_MODEL},
                      files={"file": (name, data)})
    return str(answer.get("text") or "")


def answer_text(completion):
    choices = completion.get("choices") if isinstance(completion, dict) else None
    if not choices or not isinstance(choices[0], dict) or not isinstance(choices[0].get("message"), dict):
        raise ApiError("openai-error", "OpenAI answered no choices.", 502)
    message = choices[0]["message"]
    return (message.get("content") or "").strip(), message.get("refusal")


def reply_in_conversation(ctx, conversation_id, text):
    """The bot's answer, stored in the conversation in a short transaction of its own
    (and sent through the conversation's channel after commit)."""
    with ctx.core.database.atomic():
        conversation = C.require_conversation(conversation_id)
        bot = ensure_bot(ctx)
        sent = C.add_message(ctx, bot, conversation, text)
        channels.send_after_commit(ctx, bot, conversation, sent)


@functions("open-ai-message", role=AGENT, transaction=False)  # a network call: no transaction held
def open_ai_message(ctx, message: str = "", max_tokens: int | bool = False, model: bool | str = False,
                    conversation_id: int | bool = False, audio: bool | str = False):
    settings = settings_of(ctx)
    api = client(ctx)
    if conversation_id is not False:
        C.require_conversation(conversation_id)
    if max_tokens is not False and (max_tokens is True or max_tokens < 1):
        raise invalid_argument("max_tokens", "a number of tokens, 1 or more, or false.")
    if audio:
        if not audio.lower().startswith(("http://", "https://")):
            raise invalid_argument("audio", "the http(s) URL of an audio file.")
        message = transcribe(ctx, api, audio)
    body = {"model": model or settings["open-ai-model"] or DEFAULT["open-ai-model"],
            "messages": chat_messages(settings, message, conversation_id),
            "temperature": settings["open-ai-temperature"]}
    tokens = max_tokens or settings["open-ai-tokens"]
    if tokens:
        body["max_tokens"] = int(tokens)
    text, refusal = answer_text(api.chat(body))
    if not text:
        return [False, refusal or "OpenAI answered no text.", False, False]
    if conversation_id is not False:
        reply_in_conversation(ctx, conversation_id, text)
    return [True, text, False, False]


def bot_active(ctx):
    """sbcore_bot_active: configured and answering users (open-ai-answer-users)."""
    try:
        return bool(settings_of(ctx)["open-ai-answer-users"])
    except ApiError:
        return False


def bot_reply(ctx, conversation, message):
    """sbcore_bot_reply: with open-ai-answer-users, OpenAI answers a user's text message
    in the conversation (True when it did)."""
    try:
        settings = settings_of(ctx)
    except ApiError:
        return None
    if not settings["open-ai-answer-users"] or not message.message.strip():
        return None
    return True if open_ai_message(ctx, message=message.message, conversation_id=conversation.id)[0] else None


def suggestions(ctx, message, conversation_id, count=3):
    """Up to ``count`` answers to ``message`` in the conversation (``n`` choices), for
    dialogflow-smart-reply; [] when OpenAI is not configured."""
    try:
        settings = settings_of(ctx)
    except ApiError:
        return []
    body = {"model": settings["open-ai-model"] or DEFAULT["open-ai-model"], "n": count,
            "messages": chat_messages(settings, message, conversation_id)}
    completion = client(ctx).chat(body)
    texts = []
    for choice in completion.get("choices") or []:
        text = ((choice or {}).get("message") or {}).get("content")
        if isinstance(text, str) and text.strip() and text.strip() not in texts:
            texts.append(text.strip())
    return texts


# --- open-ai-curl ---


def api_path(url_part):
    path = url_part.strip().lstrip("/")
    if path.startswith("v1/"):
        path = path[3:]
    if not PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
        raise invalid_argument("url_part", "a path of the OpenAI API such as 'chat/completions' or "
                               "'models' (letters, digits, - _ . : and /).")
    return path


@functions("open-ai-curl", transaction=False)
def open_ai_curl(ctx, url_part: str, post_fields: Json = None, type: str = "POST"):
    path = api_path(url_part)
    kind = type.strip().upper()
    if kind not in CURL_TYPES:
        raise invalid_argument("type", f"one of {', '.join(CURL_TYPES)}.")
    if post_fields in (None, "", False):
        post_fields = {}
    if not isinstance(post_fields, (dict, list)):
        raise invalid_argument("post_fields", "a JSON object.")
    api = client(ctx)
    if kind == "GET":
        if not isinstance(post_fields, dict):
            raise invalid_argument("post_fields", "a JSON object of query parameters for GET.")
        return api.call("GET", path, params={k: str(v) for k, v in post_fields.items()})
    if kind == "DELETE":
        return api.call("DELETE", path)
    if kind == "UPLOAD":
        if not isinstance(post_fields, dict) or not post_fields.get("file"):
            raise invalid_argument("post_fields", 'UPLOAD takes {"file": "<a file of the uploads folder>", …}.')
        fields = dict(post_fields)
        key, blob = local_file(ctx, str(fields.pop("file")))
        with blob.stream as handle:
            return api.call("POST", path, data={k: str(v) for k, v in fields.items()},
                            files={"file": (os.path.basename(key), handle)})
    return api.call("POST", path, json=post_fields)
