"""The Dialogflow plugin against a fake Dialogflow ES v2 API and a fake Google token
endpoint (responses): the DetectIntentResponse, Intent, EntityType and Agent objects
and the Google error body of the API reference; tokens signed by a real RSA key made
for the test and checked by google-auth."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt as google_jwt

from sbcore import db as dbmod
from sbcore.models import Event, Message
from sbcore.testing import assert_shape, reference_example, reference_webhook
from sbcore_dialogflow import plugin

BASE = "https://dialogflow.googleapis.com/v2/projects/support-agent-42/agent"
TOKEN_URL = "https://oauth2.googleapis.com/token"
ACCESS = "ya29.c.b0AXv0zTPkQ-test-access-token"
EMAIL = "dialogflow@support-agent-42.iam.gserviceaccount.com"

WELCOME = {
    "responseId": "46d2c208-2a7f-4ca2-bd7d-6636982b8bee-0f0e27e1",
    "queryResult": {
        "queryText": "hi", "action": "input.welcome", "parameters": {}, "allRequiredParamsPresent": True,
        "fulfillmentText": "Hi! How are you doing?",
        "fulfillmentMessages": [{"text": {"text": ["Hi! How are you doing?"]}}],
        "outputContexts": [{"name": "projects/support-agent-42/agent/sessions/sb/contexts/__system_counters__",
                            "lifespanCount": 1, "parameters": {"no-input": 0, "no-match": 0}}],
        "intent": {"name": "projects/support-agent-42/agent/intents/fe27e-f39d-4db3-92c2",
                   "displayName": "Default Welcome Intent"},
        "intentDetectionConfidence": 1, "languageCode": "en"}}
FALLBACK = {"responseId": "f00", "queryResult": {
    "queryText": "qwerty", "action": "input.unknown", "parameters": {}, "allRequiredParamsPresent": True,
    "fulfillmentText": "Sorry, could you say that again?",
    "fulfillmentMessages": [{"text": {"text": ["Sorry, could you say that again?"]}}],
    "intent": {"name": "projects/support-agent-42/agent/intents/00", "displayName": "Default Fallback Intent",
               "isFallback": True}, "intentDetectionConfidence": 1, "languageCode": "en"}}
DENIED = {"error": {"code": 403, "message": "IAM permission 'dialogflow.sessions.detectIntent' on "
                                           "'projects/support-agent-42/agent' denied.", "status": "PERMISSION_DENIED"}}
EXPIRED = {"error": {"code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 "
                                            "access token, login cookie or other valid authentication credential.",
                     "status": "UNAUTHENTICATED"}}
INTENT = {"name": "projects/support-agent-42/agent/intents/1655ee2c-8116-45f1-95fu-93700ff32e8d",
          "displayName": "Default Welcome Intent", "priority": 500000, "mlEnabled": True, "events": ["WELCOME"],
          "trainingPhrases": [{"name": "43ca0e72-6055-4b88-af13-b0d241", "type": "EXAMPLE",
                               "parts": [{"text": "just going to say hi"}]}],
          "action": "input.welcome", "messages": [{"text": {"text": ["Hi! How are you doing?"]}}]}
ENTITY = {"name": "projects/support-agent-42/agent/entityTypes/t5td1425-2k13-16cc", "displayName": "products",
          "kind": "KIND_MAP", "autoExpansionMode": "AUTO_EXPANSION_MODE_DEFAULT",
          "entities": [{"value": "Cotton Blouse", "synonyms": ["Cotton Blouse", "blouse"]}],
          "enableFuzzyExtraction": True}


@pytest.fixture(scope="module")
def private_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem, public


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


def account(private_key):
    return {"type": "service_account", "project_id": "support-agent-42", "private_key_id": "a1b2c3d4",
            "private_key": private_key[0], "client_email": EMAIL, "client_id": "1234567890",
            "token_uri": "https://oauth2.googleapis.com/token"}


@pytest.fixture
def configured(core, private_key):
    with dbmod.connection():
        core.settings.set("dialogflow", {"dialogflow-active": True,
                                         "dialogflow-service-account": json.dumps(account(private_key))})
    return core


def token_endpoint(url=TOKEN_URL):
    return responses.post(url, json={"access_token": ACCESS, "expires_in": 3599, "token_type": "Bearer"})


def body(call):
    return json.loads(call.request.body)


def form_body(call):
    raw = call.request.body
    return raw.decode() if isinstance(raw, bytes) else raw


def conversation(api):
    user_id = api.ok("add-user", first_name="Ann", email="ann@example.com")
    return user_id, int(api.ok("new-conversation", user_id=user_id)["details"]["id"])


# --- configuration and tokens ---


def test_not_configured_answers_dialogflow_not_active(api, core):
    with responses.RequestsMock():
        for function, fields in (("dialogflow-message", {"message": "hi"}), ("dialogflow-get-token", {}),
                                 ("dialogflow-get-intents", {}), ("dialogflow-get-agent", {}),
                                 ("dialogflow-smart-reply", {"message": "hi"})):
            result = api.call(function, **fields)
            assert (result.status, result.response) == (400, "dialogflow-not-active"), function


def test_a_service_account_without_a_key_is_refused(api, core):
    result = api.call("save-settings", settings={"dialogflow": {"dialogflow-active": True,
                                                                "dialogflow-service-account": '{"a": 1}'}})
    assert result.status == 400 and result.response == "invalid-setting-value"


@responses.activate
def test_get_token_signs_a_jwt_with_the_service_account(api, configured, private_key):
    token_endpoint()
    assert api.ok("dialogflow-get-token") == ACCESS
    assert_shape(ACCESS, reference_example("dialogflow-get-token"))
    form = parse_qs(form_body(responses.calls[0]))
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = google_jwt.decode(form["assertion"][0], certs=private_key[1], audience=TOKEN_URL)
    assert claims["iss"] == EMAIL
    assert "https://www.googleapis.com/auth/dialogflow" in claims["scope"].split()


@responses.activate
def test_refresh_token_flow(api, core):
    with dbmod.connection():
        core.settings.set("dialogflow", {"dialogflow-active": True, "dialogflow-project-id": "support-agent-42",
                                         "dialogflow-client-id": "123.apps.googleusercontent.com",
                                         "dialogflow-client-secret": "GOCSPX-secret",
                                         "dialogflow-refresh-token": "1//0refresh"})
    token_endpoint()
    assert api.ok("dialogflow-get-token") == ACCESS
    form = parse_qs(form_body(responses.calls[0]))
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["1//0refresh"]
    assert form["client_id"] == ["123.apps.googleusercontent.com"] and form["client_secret"] == ["GOCSPX-secret"]


@responses.activate
def test_a_refused_key_is_502_without_secrets(api, configured):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    result = api.call("dialogflow-get-token")
    assert result.status == 502 and result.response == "dialogflow-error"
    assert "Invalid JWT Signature" in result.json["message"] and "PRIVATE KEY" not in result.json["message"]


@responses.activate
def test_token_is_cached_and_replaced_after_a_401(api, configured):
    token_endpoint()
    responses.post(f"{BASE}/sessions/sb:detectIntent", json=WELCOME)
    api.ok("dialogflow-message", message="hi")
    api.ok("dialogflow-message", message="hi")
    assert [c.request.url for c in responses.calls].count(TOKEN_URL) == 1
    responses.replace(responses.POST, f"{BASE}/sessions/sb:detectIntent", json=EXPIRED, status=401)
    responses.add(responses.POST, f"{BASE}/sessions/sb:detectIntent", json=WELCOME)
    assert api.ok("dialogflow-message", message="hi")["messages"]
    assert [c.request.url for c in responses.calls].count(TOKEN_URL) == 2


@responses.activate
def test_token_url_and_dialogflow_url_overrides(api, configured, core):
    core.config = core.config.replace(url_overrides={"dialogflow": "https://df.example.test",
                                                     "google_oauth": "https://oauth.example.test/token"})
    token_endpoint("https://oauth.example.test/token")
    responses.post("https://df.example.test/v2/projects/support-agent-42/agent/sessions/sb:detectIntent", json=WELCOME)
    assert api.ok("dialogflow-message", message="hi")["messages"][0]["message"] == "Hi! How are you doing?"


# --- dialogflow-message ---


@responses.activate
def test_message_detects_the_intent_and_answers_the_reference_shape(api, configured):
    token_endpoint()
    example = reference_example("dialogflow-message")
    responses.post(f"{BASE}/sessions/sb:detectIntent", json=example["response"])
    answer = api.ok("dialogflow-message", message="Hello", parameters={"shop": "EU"})
    assert_shape(answer, example)
    assert answer["messages"] == [{"message": "Hi! How are you doing?", "attachments": []}]
    assert answer["token"] == ACCESS
    request = responses.calls[1].request
    assert request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert body(responses.calls[1]) == {
        "queryInput": {"text": {"text": "Hello", "languageCode": "en"}},
        "queryParams": {"payload": {"support_board": {"conversation_id": False, "user_id": False}, "shop": "EU"}}}


@responses.activate
def test_message_in_a_conversation_is_answered_by_the_bot_and_fires_the_webhook(api, configured):
    user_id, conversation_id = conversation(api)
    token_endpoint()
    responses.post(f"{BASE}/sessions/{user_id}:detectIntent", json=WELCOME)
    answer = api.ok("dialogflow-message", message="hi", conversation_id=conversation_id, language="it",
                    attachments=[["photo.png", "https://example.com/photo.png"]])
    sent = body(responses.calls[1])
    assert sent["queryInput"]["text"] == {
        "text": "hi [name:photo.png,url:https://example.com/photo.png,extension:png]", "languageCode": "it"}
    assert sent["queryParams"]["payload"]["support_board"] == {"conversation_id": conversation_id, "user_id": user_id}
    messages = api.ok("get-conversation", conversation_id=conversation_id)["messages"]
    assert messages[-1]["message"] == "Hi! How are you doing?" and messages[-1]["user_type"] == "bot"
    assert json.loads(messages[-1]["payload"])["queryResult"]["action"] == "input.welcome"
    with dbmod.connection():
        event = Event.get(Event.name == "dialogflow-message")
    data = json.loads(event.data)
    assert data == {"response": answer, "message": "hi", "conversation_id": conversation_id}
    assert set(data) == set(reference_webhook("dialogflow-message")["data"])


@responses.activate
def test_event_and_payload_attachments(api, configured):
    token_endpoint()
    reply = {"responseId": "r1", "queryResult": {"queryText": "WELCOME", "action": "input.welcome",
             "fulfillmentMessages": [{"text": {"text": ["Our catalogue:"]}},
                                     {"payload": {"attachments": [["catalogue.pdf", "https://example.com/c.pdf"]]}}],
             "languageCode": "en"}}
    responses.post(f"{BASE}/sessions/sb:detectIntent", json=reply)
    answer = api.ok("dialogflow-message", event="WELCOME")
    assert body(responses.calls[1])["queryInput"] == {"event": {"name": "WELCOME", "languageCode": "en"}}
    assert answer["messages"] == [{"message": "Our catalogue:", "attachments": []},
                                  {"message": "", "attachments": [["catalogue.pdf", "https://example.com/c.pdf"]]}]


@responses.activate
def test_no_answer_stores_nothing_and_fires_nothing(api, configured):
    _, conversation_id = conversation(api)
    token_endpoint()
    responses.post(f"{BASE}/sessions/{api.ok('get-conversation', conversation_id=conversation_id)['details']['user_id']}"
                   ":detectIntent", json={"responseId": "x", "queryResult": {"queryText": "x", "languageCode": "en"}})
    assert api.ok("dialogflow-message", message="x", conversation_id=conversation_id)["messages"] == []
    with dbmod.connection():
        assert not Event.select().where(Event.name == "dialogflow-message").exists()
        assert Message.select().where(Message.conversation == conversation_id).count() == 0


@responses.activate
def test_dialogflow_error_is_502_and_nothing_is_stored(api, configured):
    user_id, conversation_id = conversation(api)
    token_endpoint()
    responses.post(f"{BASE}/sessions/{user_id}:detectIntent", json=DENIED, status=403)
    result = api.call("dialogflow-message", message="hi", conversation_id=conversation_id)
    assert result.status == 502 and result.response == "dialogflow-error"
    assert "IAM permission" in result.json["message"] and ACCESS not in result.json["message"]
    with dbmod.connection():
        assert Message.select().where(Message.conversation == conversation_id).count() == 0


def test_bad_arguments_are_400_before_any_call(api, configured):
    with responses.RequestsMock():
        assert api.call("dialogflow-message").response == "missing-argument"
        assert api.call("dialogflow-message", message="hi", language="e n").response == "invalid-argument"
        assert api.call("dialogflow-message", event="a/b").response == "invalid-argument"
        assert api.call("dialogflow-message", message="hi", conversation_id=99999).status == 404


@responses.activate
def test_a_payload_human_takeover_hands_the_conversation_over(api, configured):
    user_id, conversation_id = conversation(api)
    token_endpoint()
    responses.post(f"{BASE}/sessions/{user_id}:detectIntent", json={"responseId": "r", "queryResult": {
        "queryText": "agent please", "action": "handover",
        "fulfillmentMessages": [{"text": {"text": ["Let me find someone."]}}, {"payload": {"human-takeover": True}}],
        "languageCode": "en"}})
    api.ok("dialogflow-message", message="agent please", conversation_id=conversation_id)
    details = api.ok("get-conversation", conversation_id=conversation_id)
    assert details["details"]["conversation_status_code"] == "2"
    assert any(m["payload"] == '{"human-takeover": true}' for m in details["messages"])


# --- human takeover ---


def test_human_takeover(api, configured):
    user_id, conversation_id = conversation(api)
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="I need a person")
    api.ok("update-conversation-status", conversation_id=conversation_id, status_code=1)
    answer = api.ok("dialogflow-human-takeover", conversation_id=conversation_id)
    assert answer == [True, True]
    assert_shape(answer, reference_example("dialogflow-human-takeover"))
    details = api.ok("get-conversation", conversation_id=conversation_id)
    assert details["details"]["conversation_status_code"] == "2"
    api.ok("save-settings", settings={
        "dialogflow-human-takeover": {"dialogflow-human-takeover-message-confirmation": "An agent will reply soon."},
        "offline-message": {"active": True, "title": "", "message": "We are offline."}})
    assert api.ok("dialogflow-human-takeover", conversation_id=conversation_id, auto_messages=True) == [True, True, True]
    messages = api.ok("get-conversation", conversation_id=conversation_id)["messages"]
    assert [m["message"] for m in messages[-2:]] == ["An agent will reply soon.", "We are offline."]
    assert json.loads(messages[-2]["payload"])["preview"] == "I need a person"
    assert api.call("dialogflow-human-takeover", conversation_id=99999).status == 404


# --- smart reply ---


@responses.activate
def test_smart_reply_suggests_the_agent_answer(api, configured):
    token_endpoint()
    responses.post(f"{BASE}/sessions/sb:detectIntent", json=WELCOME)
    answer = api.ok("dialogflow-smart-reply", message="hi", dialogflow_language="en")
    assert answer == {"suggestions": ["Hi! How are you doing?"], "token": ACCESS, "detected_language": False,
                      "smart_reply": False}
    assert_shape(answer, reference_example("dialogflow-smart-reply"))
    responses.replace(responses.POST, f"{BASE}/sessions/sb:detectIntent", json=FALLBACK)
    assert api.ok("dialogflow-smart-reply", message="qwerty")["suggestions"] == []
    with dbmod.connection():
        assert not Event.select().where(Event.name == "dialogflow-message").exists()


# --- contexts, intents, entities, agent ---


@responses.activate
def test_set_active_context(api, configured):
    token_endpoint()
    reply = {"responseId": "09f2", "queryResult": {"queryText": "sb-trigger-context", "parameters": {},
             "outputContexts": [{"name": "projects/support-agent-42/agent/sessions/208/contexts/abcde",
                                 "lifespanCount": 4, "parameters": {"products": "Shoes"}}], "languageCode": "en"}}
    responses.post(f"{BASE}/sessions/208:detectIntent", json=reply)
    answer = api.ok("dialogflow-set-active-context", context_name="abcde", user_id=208,
                    parameters={"products": "Shoes"}, life_span=4)
    assert answer == reply
    assert body(responses.calls[1]) == {
        "queryInput": {"text": {"text": "sb-trigger-context", "languageCode": "en"}},
        "queryParams": {"contexts": [{"name": "projects/support-agent-42/agent/sessions/208/contexts/abcde",
                                      "lifespanCount": 4, "parameters": {"products": "Shoes"}}]}}
    assert api.call("dialogflow-set-active-context", context_name="a/../b").response == "invalid-argument"


@responses.activate
def test_get_intents_pages_through_all(api, configured):
    token_endpoint()
    second = dict(INTENT, name="projects/support-agent-42/agent/intents/2", displayName="Shipping")
    responses.get(f"{BASE}/intents", match=[responses.matchers.query_param_matcher(
        {"intentView": "INTENT_VIEW_FULL", "languageCode": "en", "pageSize": "1000"})],
        json={"intents": [INTENT], "nextPageToken": "page-2"})
    responses.get(f"{BASE}/intents", match=[responses.matchers.query_param_matcher(
        {"intentView": "INTENT_VIEW_FULL", "languageCode": "en", "pageSize": "1000", "pageToken": "page-2"})],
        json={"intents": [second]})
    intents = api.ok("dialogflow-get-intents")
    assert [i["displayName"] for i in intents] == ["Default Welcome Intent", "Shipping"]
    assert_shape(intents, reference_example("dialogflow-get-intents"))
    responses.get(f"{BASE}/intents/1655ee2c-8116-45f1-95fu-93700ff32e8d", json=INTENT)
    assert api.ok("dialogflow-get-intents", intent_name=INTENT["name"])["displayName"] == "Default Welcome Intent"


@responses.activate
def test_create_and_update_intent(api, configured):
    token_endpoint()
    responses.post(f"{BASE}/intents", json=dict(INTENT, displayName="Where is my order"))
    assert api.ok("dialogflow-create-intent", expressions=["Where is my order", "Order status"],
                  response="Check your email.", agent_language="en") is True
    created = body(responses.calls[1])
    assert urlsplit(responses.calls[1].request.url).query == "languageCode=en"
    assert created["trainingPhrases"] == [{"type": "EXAMPLE", "parts": [{"text": "Where is my order"}]},
                                          {"type": "EXAMPLE", "parts": [{"text": "Order status"}]}]
    assert created["messages"] == [{"text": {"text": ["Check your email."]}}]
    responses.get(f"{BASE}/intents/abc", json=INTENT)
    responses.patch(f"{BASE}/intents/abc", json=INTENT)
    assert api.ok("dialogflow-update-intent", intent_name="abc", expressions=["hey there"]) is True
    patched = responses.calls[-1].request
    assert parse_qs(urlsplit(patched.url).query) == {"languageCode": ["en"], "updateMask": ["trainingPhrases"]}
    assert json.loads(patched.body)["trainingPhrases"][-1] == {"type": "EXAMPLE", "parts": [{"text": "hey there"}]}
    assert len(json.loads(patched.body)["trainingPhrases"]) == 2
    assert api.call("dialogflow-create-intent", expressions=[], response="x").response == "invalid-argument"


@responses.activate
def test_entities(api, configured):
    token_endpoint()
    responses.post(f"{BASE}/entityTypes", json=ENTITY)
    assert api.ok("dialogflow-entity", entity_name="products",
                  synonyms=[{"value": "Cotton Blouse", "synonyms": ["Cotton Blouse", "blouse"]}, "Beanie"]) is True
    assert body(responses.calls[1])["entities"] == [{"value": "Cotton Blouse", "synonyms": ["Cotton Blouse", "blouse"]},
                                                    {"value": "Beanie", "synonyms": ["Beanie"]}]
    responses.replace(responses.POST, f"{BASE}/entityTypes", status=400, json={"error": {
        "code": 400, "message": "Entity type with display name 'products' already exists.",
        "status": "FAILED_PRECONDITION"}})
    result = api.call("dialogflow-entity", entity_name="products", synonyms=["x"])
    assert result.status == 409 and result.response == "duplicate-dialogflow-entity"
    responses.get(f"{BASE}/entityTypes", json={"entityTypes": [ENTITY]})
    assert api.ok("dialogflow-get-entity") == [ENTITY]
    entity = api.ok("dialogflow-get-entity", entity_id="products")
    assert_shape(entity, reference_example("dialogflow-get-entity"))
    assert api.call("dialogflow-get-entity", entity_id="nothing").response == "entity-not-found"


@responses.activate
def test_get_agent(api, configured):
    token_endpoint()
    example = reference_example("dialogflow-get-agent")
    responses.get(BASE, json=example)
    assert api.ok("dialogflow-get-agent") == example


# --- dialogflow-curl ---


@responses.activate
def test_curl(api, configured):
    token_endpoint()
    responses.post(f"{BASE}/sessions/sb:detectIntent", json=WELCOME)
    query = {"queryInput": {"text": {"text": "hi", "languageCode": "en"}}}
    assert api.ok("dialogflow-curl", query=query) == WELCOME
    assert body(responses.calls[1]) == query
    responses.get(f"{BASE}/intents", json={"intents": [INTENT]})
    assert api.ok("dialogflow-curl", url_part="/agent/intents", type="GET", language="en")["intents"] == [INTENT]
    assert "languageCode=en" in responses.calls[-1].request.url


@pytest.mark.parametrize("url_part", ["https://evil.example.com", "//evil.example.com/x", "/../../other",
                                      "/intents?x=1", "intents", "/a//b"])
def test_curl_stays_under_the_agent(api, configured, url_part):
    with responses.RequestsMock():
        result = api.call("dialogflow-curl", url_part=url_part, query={})
        assert result.status == 400 and result.response == "invalid-argument"


def test_cached_token_expiry_is_honoured(ctx, configured):
    from sbcore_dialogflow.client import TOKEN_CACHE, access_token
    from sbcore_dialogflow.functions import settings_of
    settings = settings_of(ctx)
    identity = f"sa:{EMAIL}:a1b2c3d4"
    with ctx.core.database.atomic():
        ctx.settings.set_external(TOKEN_CACHE, ["ya29.cached", time.time() + 3000, identity])
    with responses.RequestsMock():
        assert access_token(ctx, settings) == "ya29.cached"
    with ctx.core.database.atomic():
        ctx.settings.set_external(TOKEN_CACHE, ["ya29.cached", time.time() + 30, identity])
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json={"access_token": ACCESS, "expires_in": 3599, "token_type": "Bearer"})
        assert access_token(ctx, settings) == ACCESS


@responses.activate
def test_the_callers_access_token_is_used(api, configured):
    responses.post(f"{BASE}/sessions/sb:detectIntent", json=WELCOME)
    result = api.post_json({"function": "dialogflow-message", "message": "hi", "token": "ya29.callers-token"},
                           headers={"Authorization": f"Bearer {api.token}"})
    assert result.ok and result.response["token"] == "ya29.callers-token"
    assert len(responses.calls) == 1  # no token endpoint
    assert responses.calls[0].request.headers["Authorization"] == "Bearer ya29.callers-token"


@responses.activate
def test_audio_is_sent_as_input_audio(api, configured):
    import base64
    token_endpoint()
    responses.get("https://files.example.com/voice.wav", body=b"RIFF....WAVEfmt fake")
    responses.post(f"{BASE}/sessions/sb:detectIntent", json=WELCOME)
    api.ok("dialogflow-message", audio="https://files.example.com/voice.wav")
    sent = body(responses.calls[-1])
    assert sent["inputAudio"] == base64.b64encode(b"RIFF....WAVEfmt fake").decode()
    assert sent["queryInput"] == {"audioConfig": {"audioEncoding": "AUDIO_ENCODING_LINEAR_16", "languageCode": "en"}}
    result = api.call("dialogflow-message", audio="https://files.example.com/voice.mp3")
    assert result.status == 400 and result.response == "invalid-argument"


class TestWithOpenAI:
    """dialogflow-smart-reply falls back to OpenAI's suggestions when both plugins are installed."""

    @pytest.fixture
    def sbcore_plugins(self):
        from sbcore_openai import plugin as openai_plugin
        return [plugin, openai_plugin]

    @pytest.fixture
    def openai_on(self, core):
        with dbmod.connection():
            core.settings.set("open-ai", {"open-ai-active": True, "open-ai-key": "sk-test"})
        return core

    @responses.activate
    def test_openai_suggests_when_dialogflow_does_not_know(self, api, configured, openai_on):
        _, conversation_id = conversation(api)
        token_endpoint()
        responses.post(f"{BASE}/sessions/sb:detectIntent", json=FALLBACK)
        responses.post("https://api.openai.com/v1/chat/completions", json={
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952, "model": "gpt-3.5-turbo",
            "choices": [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        for i, text in enumerate(["Let me check.", "One moment please."])]})
        answer = api.ok("dialogflow-smart-reply", message="Where is my parcel?", conversation_id=conversation_id)
        assert answer["suggestions"] == ["Let me check.", "One moment please."]
        assert json.loads(responses.calls[-1].request.body)["n"] == 3
        # without a conversation_id, no OpenAI
        assert api.ok("dialogflow-smart-reply", message="Where is my parcel?")["suggestions"] == []

    @responses.activate
    def test_openai_answers_users_when_the_agent_says_nothing(self, api, configured, openai_on):
        with dbmod.connection():
            configured.settings.set("dialogflow", {**configured.settings.get("dialogflow"),
                                                   "dialogflow-answer-users": True})
            configured.settings.set("open-ai", {**configured.settings.get("open-ai"), "open-ai-answer-users": True})
        user_id, conversation_id = conversation(api)
        token_endpoint()
        responses.post(f"{BASE}/sessions/{user_id}:detectIntent",
                       json={"responseId": "x", "queryResult": {"queryText": "x", "languageCode": "en"}})
        responses.post("https://api.openai.com/v1/chat/completions", json={
            "id": "chatcmpl-3", "object": "chat.completion", "created": 1741569952, "model": "gpt-3.5-turbo",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "I can help."},
                         "finish_reason": "stop"}]})
        api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Need help with X")
        urls = [c.request.url for c in responses.calls]
        assert urls[-2].endswith(":detectIntent") and urls[-1].endswith("/chat/completions")
        messages = api.ok("get-conversation", conversation_id=conversation_id)["messages"]
        assert messages[-1]["message"] == "I can help." and messages[-1]["user_type"] == "bot"

    @responses.activate
    def test_openai_alone_when_dialogflow_is_off(self, api, openai_on):
        _, conversation_id = conversation(api)
        responses.post("https://api.openai.com/v1/chat/completions", json={
            "id": "chatcmpl-2", "object": "chat.completion", "created": 1741569952, "model": "gpt-3.5-turbo",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Sure."}, "finish_reason": "stop"}]})
        answer = api.ok("dialogflow-smart-reply", message="Can you help?", conversation_id=conversation_id)
        assert answer == {"suggestions": ["Sure."], "token": False, "detected_language": False, "smart_reply": False}
        assert api.call("dialogflow-smart-reply", message="Can you help?").response == "dialogflow-not-active"


@responses.activate
def test_the_bot_answers_users_by_itself_only_when_asked(api, configured):
    user_id, conversation_id = conversation(api)
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="hi")
    assert len(responses.calls) == 0  # dialogflow-answer-users is off
    with dbmod.connection():
        configured.settings.set("dialogflow", {**configured.settings.get("dialogflow"), "dialogflow-answer-users": True})
    token_endpoint()
    responses.post(f"{BASE}/sessions/{user_id}:detectIntent", json=WELCOME)
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="hi again")
    assert body(responses.calls[-1])["queryInput"]["text"]["text"] == "hi again"
    messages = api.ok("get-conversation", conversation_id=conversation_id)["messages"]
    assert [(m["message"], m["user_type"]) for m in messages] == [
        ("hi", "user"), ("hi again", "user"), ("Hi! How are you doing?", "bot")]
    api.ok("dialogflow-human-takeover", conversation_id=conversation_id)
    calls = len(responses.calls)
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="hello?")
    assert len(responses.calls) == calls  # handed to the agents: the bot stays quiet


def test_human_takeover_notifies_the_agents(api, configured):
    from sbcore.models import Notification
    from sbcore.testing import agents_offline
    user_id, conversation_id = conversation(api)
    agent_id = api.ok("add-user", first_name="Al", user_type="agent", email="al@example.com")
    api.ok("save-settings", settings={"smtp-host": "smtp.example.com", "notifications-agents": "all"})
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="I want a human")
    agents_offline(configured)
    with dbmod.connection():
        Notification.delete().execute()
    api.ok("dialogflow-human-takeover", conversation_id=conversation_id)
    with dbmod.connection():
        rows = list(Notification.select().where(Notification.recipient == int(agent_id)))
    assert [row.channel for row in rows] == ["email"]
    data = json.loads(rows[0].data)
    assert data["message"] == "I want a human" and data["conversation_id"] == conversation_id
    assert data["to"] == "al@example.com"
