"""Dialogflow ES: dialogflow-message (detectIntent; the bot answers in the conversation
and the ``dialogflow-message`` webhook fires), tokens, intents, entities, the agent,
contexts, smart replies, the human takeover and dialogflow-curl."""

import base64
import json
import os
import re

from sbcore import AGENT, ApiError, FunctionSet, Json, channels, notifications, outbound
from sbcore import conversations as C
from sbcore.errors import invalid_argument, missing_argument
from sbcore.functions.messages import execute_bot_message
from sbcore.functions.users import ensure_bot
from sbcore.models import Message, User
from sbcore.settings import Setting, invalid

from .client import DEFAULT_TOKEN_URL, DEFAULT_URL, Dialogflow, access_token, parse_service_account
from sbcore.registry import Attachments

functions = FunctionSet()

DEFAULT = {"dialogflow-active": False, "dialogflow-project-id": "", "dialogflow-service-account": "",
           "dialogflow-client-id": "", "dialogflow-client-secret": "", "dialogflow-refresh-token": "",
           "dialogflow-language": "en", "dialogflow-answer-users": False}
HUMAN_TAKEOVER_DEFAULT = {"dialogflow-human-takeover-message-confirmation": ""}
PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")
ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
CONTEXT = re.compile(r"^[A-Za-z0-9_.~%-]{1,250}$")
AUDIO_MAX_BYTES = 10 * 1024 * 1024
AUDIO_ENCODINGS = {"wav": "AUDIO_ENCODING_LINEAR_16", "flac": "AUDIO_ENCODING_FLAC",
                   "ogg": "AUDIO_ENCODING_OGG_OPUS", "oga": "AUDIO_ENCODING_OGG_OPUS",
                   "opus": "AUDIO_ENCODING_OGG_OPUS", "amr": "AUDIO_ENCODING_AMR"}
CURL_TYPES = ("POST", "GET", "PATCH", "DELETE")
CURL_PATH = re.compile(r"^/[A-Za-z0-9_.:~/-]*$")


def check_settings(value):
    unknown = set(value) - set(DEFAULT)
    if unknown:
        raise invalid("dialogflow", f"unknown keys {', '.join(sorted(unknown))}.")
    for key, default in DEFAULT.items():
        if key in value and not isinstance(value[key], type(default)):
            raise invalid("dialogflow", f"{key} is {'true or false' if isinstance(default, bool) else 'text'}.")
    project = value.get("dialogflow-project-id", "")
    if project and not PROJECT.match(project):
        raise invalid("dialogflow", "dialogflow-project-id is a Google Cloud project ID.")
    if value.get("dialogflow-language") and not LANGUAGE.match(value["dialogflow-language"]):
        raise invalid("dialogflow", "dialogflow-language is a language code such as en or pt-BR.")
    try:
        account = parse_service_account(value.get("dialogflow-service-account", ""))
    except ValueError:
        account = False
    if account is False or (account is not None and not (account.get("client_email") and account.get("private_key"))):
        raise invalid("dialogflow", "dialogflow-service-account is the JSON key file of a Google service "
                      "account (with client_email and private_key).")
    return value


def check_human_takeover(value):
    if set(value) - set(HUMAN_TAKEOVER_DEFAULT) or not all(isinstance(v, str) for v in value.values()):
        raise invalid("dialogflow-human-takeover", "dialogflow-human-takeover-message-confirmation is text.")
    return value


SETTINGS = [
    Setting("dialogflow-url", "text", DEFAULT_URL,
            "The Dialogflow API's base URL, without /v2 (SB_URL_DIALOGFLOW overrides)."),
    Setting("dialogflow-token-url", "text", DEFAULT_TOKEN_URL,
            "Google's OAuth 2.0 token endpoint that gives Dialogflow access tokens (SB_URL_GOOGLE_OAUTH overrides)."),
    Setting("dialogflow", "multi-input", dict(DEFAULT),
            "Dialogflow ES: dialogflow-active, dialogflow-project-id (the agent's Google Cloud project; default: the "
            "service account's), dialogflow-service-account (the text of the service account's JSON key file, role "
            "Dialogflow API Admin or Client) or, instead, an OAuth client's dialogflow-client-id, "
            "dialogflow-client-secret and dialogflow-refresh-token; dialogflow-language (the agent's default "
            "language); dialogflow-answer-users (the bot answers users' messages by itself).", check_settings),
    Setting("dialogflow-human-takeover", "multi-input", dict(HUMAN_TAKEOVER_DEFAULT),
            "Human takeover: dialogflow-human-takeover-message-confirmation (the bot's message when the "
            "conversation is handed to the agents; empty: none).", check_human_takeover),
]


# --- configuration ---


def settings_of(ctx):
    """The Dialogflow settings when the integration is active and complete."""
    value = {**DEFAULT, **(ctx.settings.get("dialogflow") or {})}
    account = parse_service_account(value["dialogflow-service-account"])
    value["dialogflow-service-account"] = account
    refresh = all(value[key] for key in ("dialogflow-client-id", "dialogflow-client-secret",
                                         "dialogflow-refresh-token"))
    if not value["dialogflow-project-id"] and account:
        value["dialogflow-project-id"] = str(account.get("project_id") or "")
    if not value["dialogflow-active"] or not (account or refresh) or not value["dialogflow-project-id"]:
        raise ApiError("dialogflow-not-active", "Dialogflow is not active: set dialogflow-active, the project ID "
                       "and a service account key (or an OAuth refresh token) in the setting 'dialogflow'.", 400)
    return value


def agent(ctx, token=False):
    return Dialogflow(ctx, settings_of(ctx), token if isinstance(token, str) and token.strip() else None)


def language_of(ctx, language, name="language"):
    """A language code (the argument, else the agent's default)."""
    if isinstance(language, list):
        language = language[0] if language else False
    if language in (None, False, "", "false"):
        return ({**DEFAULT, **(ctx.settings.get("dialogflow") or {})}["dialogflow-language"] or "en")
    language = str(language).strip()
    if not LANGUAGE.match(language):
        raise invalid_argument(name, "a language code such as en or pt-BR.")
    return "zh-CN" if language == "zh" else language


def checked_id(value, name):
    """An intent's or entity type's ID (the last part of its ``name`` is accepted too)."""
    text = str(value).strip().rsplit("/", 1)[-1]
    if not ID.match(text):
        raise invalid_argument(name, "an ID of the Dialogflow agent (letters, digits, - and _).")
    return text


# --- detectIntent and its answer ---


def detect_intent(api, session, query):
    return api.call("POST", f"/sessions/{session}:detectIntent", json=query)


def bot_messages(query_result):
    """The bot's messages of a QueryResult: ``[{"message", "attachments"}]``: its text
    messages (the Actions on Google simple responses when there is no text), a
    payload's ``attachments``, else its fulfillmentText."""
    items = [m for m in query_result.get("fulfillmentMessages") or [] if isinstance(m, dict)]
    texts = [m for m in items if isinstance(m.get("text"), dict) and (m["text"].get("text") or [""])[0]]
    result = []
    for item in items:
        text, attachments = "", []
        if isinstance(item.get("text"), dict):
            text = (item["text"].get("text") or [""])[0] or ""
        elif not texts and isinstance(item.get("simpleResponses"), dict):
            simple = (item["simpleResponses"].get("simpleResponses") or [{}])[0]
            text = simple.get("textToSpeech") or simple.get("displayText") or ""
        if isinstance(item.get("payload"), dict):
            attachments = valid_attachments(item["payload"].get("attachments"))
        if text or attachments:
            result.append({"message": text, "attachments": attachments})
    if not result and query_result.get("fulfillmentText"):
        result.append({"message": query_result["fulfillmentText"], "attachments": []})
    return result


def valid_attachments(value):
    if not isinstance(value, list):
        return []
    return [item[:2] for item in value if isinstance(item, list) and len(item) >= 2
            and all(isinstance(x, str) for x in item[:2]) and item[1].lower().startswith(("http://", "https://"))]


def payloads(query_result):
    return [m["payload"] for m in query_result.get("fulfillmentMessages") or []
            if isinstance(m, dict) and isinstance(m.get("payload"), dict)]


def audio_input(ctx, url, language):
    """``inputAudio`` (base64) and its ``audioConfig`` for an audio file's URL."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise invalid_argument("audio", "the http(s) URL of an audio file.")
    extension = os.path.splitext(url.split("?", 1)[0])[1].lstrip(".").lower()
    if extension not in AUDIO_ENCODINGS:
        raise invalid_argument("audio", f"a {', '.join(sorted(AUDIO_ENCODINGS))} file.")
    response = outbound.call_service(ctx.config, "GET", url, "audio", stream=True)
    data = response.raw.read(AUDIO_MAX_BYTES + 1, decode_content=True)
    if len(data) > AUDIO_MAX_BYTES:
        raise ApiError("file-too-large", "The audio file is larger than 10 MB.", 400)
    return base64.b64encode(data).decode(), {"audioEncoding": AUDIO_ENCODINGS[extension], "languageCode": language}


@functions("dialogflow-message", transaction=False)  # a network call: no transaction held
def dialogflow_message(ctx, message: str = "", conversation_id: int | bool = False,
                       attachments: Attachments | None = None, language: Json = False, event: bool | str = False,
                       parameters: dict | None = None, audio: bool | str = False, token: bool | str = False):
    api = agent(ctx, token)
    language = language_of(ctx, language)
    user_id = False
    if conversation_id is not False:
        user_id = C.require_conversation(conversation_id).user_id
    stored_attachments = C.check_attachments(attachments)
    text = message
    for name, url in C.attachment_list(stored_attachments):
        text += f" [name:{name},url:{url},extension:{os.path.splitext(name)[1].lstrip('.')}]"
    query = {"queryInput": {}, "queryParams": {"payload": {
        "support_board": {"conversation_id": conversation_id, "user_id": user_id}, **(parameters or {})}}}
    if event:
        if not ID.match(event):
            raise invalid_argument("event", "an event name (letters, digits, - and _).")
        query["queryInput"]["event"] = {"name": event, "languageCode": language}
    elif audio:
        query["inputAudio"], query["queryInput"]["audioConfig"] = audio_input(ctx, audio, language)
    elif text.strip():
        query["queryInput"]["text"] = {"text": text.strip()[:256], "languageCode": language}
    else:
        raise missing_argument("message")
    response = detect_intent(api, str(user_id) if user_id else "sb", query)
    response.pop("outputAudio", None)
    query_result = response.get("queryResult") or {}
    messages = bot_messages(query_result)
    answer = {"token": api.current_token(), "messages": messages, "response": response}
    if messages:
        with ctx.core.database.atomic():
            if conversation_id is not False:
                conversation = C.require_conversation(conversation_id)
                bot = ensure_bot(ctx)
                for item in messages:
                    sent = C.add_message(ctx, bot, conversation, item["message"],
                                         C.check_attachments(item["attachments"]), json.dumps(response))
                    channels.send_after_commit(ctx, bot, conversation, sent)
                if any(p.get("human-takeover") for p in payloads(query_result)):
                    human_takeover(ctx, conversation, False)
            ctx.emit("dialogflow-message", {"response": answer, "message": message,
                                            "conversation_id": conversation_id})
    return answer


@functions("dialogflow-get-token", transaction=False, aliases=("google-get-token",))
def dialogflow_get_token(ctx):
    return access_token(ctx, settings_of(ctx), fresh=True)


@functions("dialogflow-set-active-context", transaction=False)
def dialogflow_set_active_context(ctx, context_name: str, user_id: int | bool = False,
                                  parameters: dict | None = None, life_span: int = 5,
                                  token: bool | str = False, language: Json = False):
    api = agent(ctx, token)
    if not CONTEXT.match(context_name):
        raise invalid_argument("context_name", "a context name (letters, digits, - _ . ~ %).")
    if life_span < 1:
        raise invalid_argument("life_span", "1 or more.")
    session = str(user_id) if user_id is not False else "sb"
    context = {"name": f"projects/{api.project}/agent/sessions/{session}/contexts/{context_name}",
               "lifespanCount": life_span}
    if parameters:
        context["parameters"] = parameters
    query = {"queryInput": {"text": {"text": "sb-trigger-context", "languageCode": language_of(ctx, language)}},
             "queryParams": {"contexts": [context]}}
    return detect_intent(api, session, query)


@functions("dialogflow-smart-reply", role=AGENT, transaction=False)
def dialogflow_smart_reply(ctx, message: str, dialogflow_language: Json = False, token: bool | str = False,
                           conversation_id: int | bool = False):
    """Suggestions for an agent: what the Dialogflow agent would answer (nothing when it
    does not know), else, with a conversation_id, OpenAI's answers when the openai
    plugin is installed and configured."""
    if not message.strip():
        raise missing_argument("message")
    suggestions, access = [], False
    try:
        api = agent(ctx, token)
    except ApiError as error:
        if error.code != "dialogflow-not-active" or conversation_id is False or not openai_installed(ctx):
            raise
        api = None
    if api is not None:
        language = language_of(ctx, dialogflow_language, "dialogflow_language")
        response = detect_intent(api, "sb", {"queryInput": {"text": {"text": message[:256], "languageCode": language}}})
        access = api.current_token()
        result = response.get("queryResult") or {}
        if result.get("action") != "input.unknown":
            suggestions = [item["message"] for item in bot_messages(result) if item["message"]]
    if not suggestions and conversation_id is not False and openai_installed(ctx):
        C.require_conversation(conversation_id)
        from sbcore_openai.functions import suggestions as openai_suggestions
        suggestions = openai_suggestions(ctx, message, conversation_id)
    return {"suggestions": suggestions, "token": access, "detected_language": False, "smart_reply": False}


def openai_installed(ctx):
    return "open-ai-message" in ctx.core.functions


def bot_active(ctx):
    """sbcore_bot_active: configured and answering users (dialogflow-answer-users)."""
    try:
        return bool(settings_of(ctx)["dialogflow-answer-users"])
    except ApiError:
        return False


def bot_reply(ctx, conversation, message):
    """sbcore_bot_reply: with dialogflow-answer-users, the agent answers a user's text
    message in the conversation (True when it said something)."""
    try:
        settings = settings_of(ctx)
    except ApiError:
        return None
    if not settings["dialogflow-answer-users"] or not message.message.strip():
        return None
    answer = dialogflow_message(ctx, message=message.message, conversation_id=conversation.id,
                                attachments=C.attachment_list(message.attachments) or None)
    return True if answer["messages"] else None


# --- the human takeover ---


def human_takeover(ctx, conversation, auto_messages):
    """Hand the conversation to the agents: the bot's takeover mark, its confirmation
    message (if set), the status "waiting for an agent", the agents notified, and with
    ``auto_messages`` the offline and (for a user without email) follow-up messages."""
    bot = ensure_bot(ctx)
    user = User.get_by_id(conversation.user_id)
    last = (Message.select(Message.message).join(User, on=(User.id == Message.user))
            .where((Message.conversation == conversation.id) & (User.user_type != "bot"))
            .order_by(Message.id.desc()).first())
    last_message = last.message if last else ""
    result = []
    C.add_message(ctx, bot, conversation, "", payload=C.HUMAN_TAKEOVER_PAYLOAD)
    result.append(True)
    confirmation = (ctx.settings.get("dialogflow-human-takeover") or {}).get(
        "dialogflow-human-takeover-message-confirmation", "")
    if confirmation.strip():
        C.add_message(ctx, bot, conversation, confirmation, status=2, payload=json.dumps(
            {"human-takeover-message-confirmation": True, "preview": last_message}))
        result.append(True)
    elif conversation.status_code != 2:
        C.update_conversation(ctx, conversation, status_code=2)
        result.append(True)
    if auto_messages:
        for name in ("offline", "follow_up"):
            if name == "offline" or not user.email:
                result.append(bool(execute_bot_message(ctx, name, conversation.id, last_message or False, True)))
    recipients = notifications.agents_to_notify(ctx, conversation, user)
    subject = f"{notifications.full_name(user)} needs an agent"
    data = {"subject": subject, "heading": subject, "message": last_message, "attachments": [],
            "conversation_id": conversation.id,
            "footer": "This message has been sent because the chatbot does not know the answer to the "
                      "user's question."}
    for name, channel in notifications.CHANNELS.items():
        if channel.ready(ctx):
            notifications.queue(ctx, name, recipients, data)
    return result


@functions("dialogflow-human-takeover", role=AGENT)
def dialogflow_human_takeover(ctx, conversation_id: int, auto_messages: bool = False):
    return human_takeover(ctx, C.require_conversation(conversation_id), auto_messages)


# --- intents ---


def training_phrases(expressions):
    if not isinstance(expressions, list) or not expressions or not all(
            isinstance(e, str) and e.strip() for e in expressions):
        raise invalid_argument("expressions", 'a list of training phrases: ["", "", …].')
    return [{"type": "EXAMPLE", "parts": [{"text": e.strip()}]} for e in expressions]


@functions("dialogflow-get-intents", transaction=False)
def dialogflow_get_intents(ctx, intent_name: bool | str = False, language: Json = False):
    api = agent(ctx)
    params = {"intentView": "INTENT_VIEW_FULL", "languageCode": language_of(ctx, language)}
    if intent_name:
        return api.call("GET", f"/intents/{checked_id(intent_name, 'intent_name')}", params=params)
    intents, page = [], None
    while True:
        answer = api.call("GET", "/intents", params={**params, "pageSize": 1000,
                                                    **({"pageToken": page} if page else {})})
        intents += [item for item in answer.get("intents") or [] if item]
        page = answer.get("nextPageToken")
        if not page:
            return intents


@functions("dialogflow-create-intent", transaction=False)
def dialogflow_create_intent(ctx, expressions: list, response: str, agent_language: Json = False):
    phrases = training_phrases(expressions)
    if not response.strip():
        raise missing_argument("response")
    api = agent(ctx)
    name = expressions[0].strip()
    body = {"displayName": name[:100], "priority": 500000, "trainingPhrases": phrases,
            "messages": [{"text": {"text": [response]}}]}
    answer = api.call("POST", "/intents", json=body,
                      params={"languageCode": language_of(ctx, agent_language, "agent_language")})
    return "displayName" in answer


@functions("dialogflow-update-intent", transaction=False)
def dialogflow_update_intent(ctx, intent_name: str, expressions: list, agent_language: Json = False):
    phrases = training_phrases(expressions)
    intent_id = checked_id(intent_name, "intent_name")
    api = agent(ctx)
    language = language_of(ctx, agent_language, "agent_language")
    intent = api.call("GET", f"/intents/{intent_id}", params={"intentView": "INTENT_VIEW_FULL",
                                                              "languageCode": language})
    intent["trainingPhrases"] = (intent.get("trainingPhrases") or []) + phrases
    answer = api.call("PATCH", f"/intents/{intent_id}", json=intent,
                      params={"languageCode": language, "updateMask": "trainingPhrases"})
    return "name" in answer


# --- entities and the agent ---


def entity_values(synonyms):
    """``[{"value", "synonyms": [...]}]`` (a bare string is its own synonym)."""
    values = []
    for item in synonyms if isinstance(synonyms, list) else [None]:
        if isinstance(item, str) and item.strip():
            values.append({"value": item.strip(), "synonyms": [item.strip()]})
        elif (isinstance(item, dict) and isinstance(item.get("value"), str) and item["value"].strip()
              and isinstance(item.get("synonyms", []), list)
              and all(isinstance(s, str) for s in item.get("synonyms", []))):
            values.append({"value": item["value"].strip(),
                           "synonyms": [s for s in item.get("synonyms") or [item["value"].strip()] if s.strip()]})
        else:
            raise invalid_argument("synonyms", '[{"value": "", "synonyms": ["", …]}, …].')
    if not values:
        raise invalid_argument("synonyms", "at least one value.")
    return values


@functions("dialogflow-entity", transaction=False)
def dialogflow_entity(ctx, entity_name: str, synonyms: list, agent_language: Json = False):
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]{0,29}$", entity_name):
        raise invalid_argument("entity_name", "starts with a letter; letters, digits, - and _; 30 at most.")
    values = entity_values(synonyms)
    api = agent(ctx)
    body = {"displayName": entity_name, "kind": "KIND_MAP", "entities": values,
            "autoExpansionMode": "AUTO_EXPANSION_MODE_DEFAULT", "enableFuzzyExtraction": True}
    try:
        answer = api.call("POST", "/entityTypes", json=body,
                          params={"languageCode": language_of(ctx, agent_language, "agent_language")})
    except ApiError as error:
        if error.remote_status in (400, 409) and "already exists" in error.message:
            raise ApiError("duplicate-dialogflow-entity", f"The agent already has an entity named {entity_name}.",
                           409) from None
        raise
    return "displayName" in answer


@functions("dialogflow-get-entity", transaction=False)
def dialogflow_get_entity(ctx, entity_id: str = "all", agent_language: Json = False):
    api = agent(ctx)
    entities = api.call("GET", "/entityTypes",
                        params={"languageCode": language_of(ctx, agent_language, "agent_language")})
    entities = entities.get("entityTypes") or []
    if entity_id in ("", "all"):
        return entities
    for entity in entities:
        if entity.get("displayName") == entity_id or str(entity.get("name", "")).rsplit("/", 1)[-1] == entity_id:
            return entity
    raise ApiError("entity-not-found", f"The agent has no entity {entity_id}.", 404)


@functions("dialogflow-get-agent", transaction=False)
def dialogflow_get_agent(ctx):
    return agent(ctx).call("GET", "")


# --- dialogflow-curl ---


@functions("dialogflow-curl", transaction=False)
def dialogflow_curl(ctx, query: Json = None, url_part: str = "/sessions/sb:detectIntent", language: Json = False,
                    type: str = "POST", token: bool | str = False):
    """A request to the agent (``{base}/v2/projects/{project}/agent{url_part}``): the
    reference's ``query`` is the body; ``url_part`` (an sbcore extension, default a
    detectIntent of the session ``sb``) is a path under the agent, nothing else."""
    kind = type.strip().upper()
    if kind not in CURL_TYPES:
        raise invalid_argument("type", f"one of {', '.join(CURL_TYPES)}.")
    path = url_part.strip()
    if path.startswith("/agent/"):
        path = path[len("/agent"):]
    if not CURL_PATH.match(path) or any(part in (".", "..") for part in path.split("/")[1:]) or "//" in path:
        raise invalid_argument("url_part", "a path under the agent, such as /intents or /sessions/1:detectIntent.")
    if query in (None, "", False):
        query = {}
    if not isinstance(query, dict):
        raise invalid_argument("query", "a JSON object.")
    api = agent(ctx, token)
    params = {} if language is False else {"languageCode": language_of(ctx, language)}
    if kind in ("GET", "DELETE"):
        return api.call(kind, path, params={**{k: str(v) for k, v in query.items()}, **params})
    return api.call(kind, path, json=query, params=params)
