"""The Google plugin against a fake Cloud Translation API (responses): the request and
response bodies of the Basic (v2) reference (translate, detect) and Google's error
bodies as the API answers them."""

import json

import pytest
import responses
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore.testing import assert_shape, reference_example
from sbcore_google import plugin
from sbcore_google.client import MAX_SEGMENTS as MAX

BASE = "https://translation.googleapis.com/language/translate/v2"
KEY = "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"
ACCESS_TOKEN = "ya29.a0AVvZVsqVHw9U7LxFukwIoQEfwA3JyT_2SSRnP2nX4oQ_XyMP9GQk2O"

# Error bodies as translation.googleapis.com answers them.
KEY_INVALID = {"error": {
    "code": 400, "message": "API key not valid. Please pass a valid API key.",
    "errors": [{"message": "API key not valid. Please pass a valid API key.", "domain": "global",
                "reason": "badRequest"}],
    "status": "INVALID_ARGUMENT",
    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com", "metadata": {"service": "translate.googleapis.com"}}]}}
UNREGISTERED = {"error": {
    "code": 403, "message": "Method doesn't allow unregistered callers (callers without established identity). "
                            "Please use API Key or other form of API consumer identity to call this API.",
    "errors": [{"message": "Method doesn't allow unregistered callers (callers without established identity). "
                           "Please use API Key or other form of API consumer identity to call this API.",
                "domain": "global", "reason": "forbidden"}],
    "status": "PERMISSION_DENIED"}}
INVALID_VALUE = {"error": {"code": 400, "message": "Invalid Value",
                           "errors": [{"message": "Invalid Value", "domain": "global", "reason": "invalid"}]}}


def translated(*pairs):
    return {"data": {"translations": [{"translatedText": text, "detectedSourceLanguage": source}
                                      for text, source in pairs]}}


def detected(language, confidence=0.9882):
    return {"data": {"detections": [[{"language": language, "isReliable": False, "confidence": confidence}]]}}


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("google-api-key", KEY)
    return core


@pytest.fixture
def google():
    with responses.RequestsMock() as mock:
        yield mock


def sent(call):
    return json.loads(call.request.body)


def bearer_call(app, admin_token, function, **fields):
    """The admin token in Authorization: Bearer, which frees the field `token`."""
    result = TestClient(app).simulate_post("/api", json={"function": function, **fields},
                                           headers={"Authorization": f"Bearer {admin_token}"})
    return result.status_code, result.json


def user_language(api, user_id):
    return api.ok("get-user-extra", user_id=user_id, slug="language", default=None)


# --- google-translate ---


def test_translate_with_the_api_key(api, configured, google):
    google.post(BASE, json=translated(("Ciao mondo", "en"), ("Come stai?", "en")))
    answer = api.ok("google-translate", strings=["Hello world", "How are you?"], language_code="it")
    assert answer == [["Ciao mondo", "Come stai?"], False]  # no access token was used
    assert_shape(answer, reference_example("google-translate"))
    [call] = google.calls
    assert call.request.url == BASE  # the key is never in the URL
    assert call.request.headers["X-goog-api-key"] == KEY
    assert "Authorization" not in call.request.headers
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent(call) == {"q": ["Hello world", "How are you?"], "target": "it", "format": "text"}


def test_translate_with_an_access_token_answers_it(app, admin_token, configured, google):
    google.post(BASE, json=translated(("Hallo Welt", "en")))
    status, body = bearer_call(app, admin_token, "google-translate", token=ACCESS_TOKEN,
                               strings=["Hello world"], language_code="de")
    assert (status, body) == (200, {"success": True, "response": [["Hallo Welt"], ACCESS_TOKEN]})
    [call] = google.calls
    assert call.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert "X-goog-api-key" not in call.request.headers


def test_an_access_token_works_without_the_key(app, admin_token, core, google):
    google.post(BASE, json=translated(("Bonjour", "en")))
    status, body = bearer_call(app, admin_token, "google-translate", token=ACCESS_TOKEN,
                               strings=["Hello"], language_code="fr")
    assert status == 200 and body["response"] == [["Bonjour"], ACCESS_TOKEN]


def test_the_references_chinese_codes_become_googles(api, configured, google):
    google.post(BASE, json=translated(("你好", "en")))
    api.ok("google-translate", strings=["Hello"], language_code="zt")
    api.ok("google-translate", strings=["Hello"], language_code="zh")
    api.ok("google-translate", strings=["Hello"], language_code="pt-BR")
    assert [sent(c)["target"] for c in google.calls] == ["zh-TW", "zh-CN", "pt-BR"]


def test_markup_is_translated_as_plain_text(api, configured, google):
    # format "text": Google neither parses the tags nor answers HTML entities
    google.post(BASE, json=translated(("<script>alert(1)</script> Ciao & addio", "en")))
    answer = api.ok("google-translate", strings=["<script>alert(1)</script> Hello & bye"], language_code="it")
    assert sent(google.calls[0])["format"] == "text"
    assert answer[0] == ["<script>alert(1)</script> Ciao & addio"]


def test_numbers_are_sent_as_strings_and_an_empty_list_asks_nothing(api, configured, google):
    google.post(BASE, json=translated(("42", "und")))
    assert api.ok("google-translate", strings=[42], language_code="it") == [["42"], False]
    assert sent(google.calls[0])["q"] == ["42"]
    assert api.ok("google-translate", strings=[], language_code="it") == [[], False]
    assert len(google.calls) == 1


def test_sb_url_google_overrides_the_setting(api, configured, google):
    configured.config = configured.config.replace(url_overrides={"google": "https://proxy.example/google/"})
    google.post("https://proxy.example/google/language/translate/v2", json=translated(("Hola", "en")))
    assert api.ok("google-translate", strings=["Hello"], language_code="es")[0] == ["Hola"]
    configured.config = configured.config.replace(url_overrides={})
    api.ok("save-settings", settings={"google-url": "https://other.example"})
    google.post("https://other.example/language/translate/v2", json=translated(("Hej", "en")))
    assert api.ok("google-translate", strings=["Hello"], language_code="sv")[0] == ["Hej"]


def test_a_private_base_url_is_refused(api, configured, google):
    configured.config = configured.config.replace(allow_private_network=False,
                                                  url_overrides={"google": "http://127.0.0.1:9"})
    result = api.call("google-translate", strings=["Hello"], language_code="it")
    assert (result.status, result.response) == (400, "url-not-allowed")
    assert len(google.calls) == 0


@pytest.mark.parametrize("status, body, said", [
    (400, KEY_INVALID, "API key not valid. Please pass a valid API key. (INVALID_ARGUMENT)"),
    (403, UNREGISTERED, "Method doesn't allow unregistered callers (callers without established identity). "
                        "Please use API Key or other form of API consumer identity to call this API. "
                        "(PERMISSION_DENIED)"),
    (400, INVALID_VALUE, "Invalid Value"),
])
def test_googles_errors_are_502_with_googles_message(api, configured, google, status, body, said):
    google.post(BASE, status=status, json=body)
    result = api.call("google-translate", strings=["Hello"], language_code="it")
    assert (result.status, result.response) == (502, "google-error")
    assert result.json["message"] == f"google answered {status}: {said}"
    assert KEY not in result.json["message"]


def test_an_outage_or_an_odd_answer_is_502(api, configured, google):
    google.post(BASE, status=503, body="<html>Service Unavailable</html>", content_type="text/html")
    result = api.call("google-translate", strings=["Hello"], language_code="it")
    assert (result.status, result.response) == (502, "google-error")
    assert "Service Unavailable" in result.json["message"]
    google.replace(responses.POST, BASE, json=translated(("Ciao", "en")))  # one translation for two strings
    result = api.call("google-translate", strings=["Hello", "Bye"], language_code="it")
    assert (result.status, result.response) == (502, "google-error")
    google.replace(responses.POST, BASE, json={"data": {"translations": [{"detectedSourceLanguage": "en"}]}})
    assert api.call("google-translate", strings=["Hello"], language_code="it").status == 502


def test_not_configured_answers_google_not_active_without_a_request(api, core, google):
    result = api.call("google-translate", strings=["Hello"], language_code="it")
    assert (result.status, result.response) == (400, "google-not-active")
    # the token field is the admin token unless that comes as Authorization: Bearer
    result = api.call("google-translate", strings=["Hello"], language_code="it", token=api.token)
    assert result.response == "google-not-active"
    result = api.call("google-language-detection-update-user", string="Ciao", user_id=1)
    assert (result.status, result.response) == (400, "google-not-active")
    assert len(google.calls) == 0


@pytest.mark.parametrize("fields", [
    {"strings": "Hello", "language_code": "it"},
    {"strings": ["Hello", {"text": "x"}], "language_code": "it"},
    {"strings": ["Hello", None], "language_code": "it"},
    {"strings": ["x"] * 129, "language_code": "it"},
    {"strings": ["Hello"], "language_code": "italian!"},
    {"strings": ["Hello"], "language_code": ""},
    {"strings": ["Hello"]},
])
def test_bad_arguments_are_400_without_a_request(api, configured, google, fields):
    result = api.call("google-translate", **fields)
    assert result.status == 400 and result.response in ("invalid-argument", "missing-argument")
    assert len(google.calls) == 0


def test_a_token_that_is_no_header_value_is_refused_unechoed(app, admin_token, configured, google):
    status, body = bearer_call(app, admin_token, "google-translate", token="ya29.abc\r\nX-Evil: 1",
                               strings=["Hello"], language_code="it")
    assert (status, body["response"]) == (400, "invalid-argument")
    assert "Evil" not in body["message"]
    assert len(google.calls) == 0


def test_the_api_key_setting_is_checked(api):
    result = api.call("save-settings", settings={"google-api-key": "two words"})
    assert (result.status, result.response) == (400, "invalid-setting-value")
    assert "two words" not in result.json["message"]


# --- google-language-detection-update-user ---


def test_detection_stores_the_users_language(api, configured, google):
    user_id = api.ok("add-user", first_name="Ann", extra={"language": ["en", "Language"]})
    google.post(f"{BASE}/detect", json=detected("it"))
    answer = api.ok("google-language-detection-update-user", string="Ciao, ho bisogno di aiuto", user_id=user_id)
    assert answer is True
    assert_shape(answer, reference_example("google-language-detection-update-user"))
    [call] = google.calls
    assert call.request.url == f"{BASE}/detect"
    assert call.request.headers["X-goog-api-key"] == KEY
    assert sent(call) == {"q": ["Ciao, ho bisogno di aiuto"]}
    assert user_language(api, user_id) == "it"
    assert api.ok("get-user-language", user_id=user_id) == "it"
    assert [d for d in api.ok("get-user-extra", user_id=user_id) if d["slug"] == "language"] == [
        {"slug": "language", "name": "Language", "value": "it"}]


@pytest.mark.parametrize("google_code, stored", [("zh-TW", "zt"), ("zh-CN", "zh"), ("pt-PT", "pt"), ("fr", "fr")])
def test_googles_codes_become_the_references(api, configured, google, google_code, stored):
    user_id = api.ok("add-user", first_name="Li")
    google.post(f"{BASE}/detect", json=detected(google_code))
    assert api.ok("google-language-detection-update-user", string="text", user_id=user_id) is True
    assert user_language(api, user_id) == stored


def test_detection_with_an_access_token(app, admin_token, api, core, google):
    user_id = api.ok("add-user", first_name="Ann")
    google.post(f"{BASE}/detect", json=detected("de"))
    status, body = bearer_call(app, admin_token, "google-language-detection-update-user", token=ACCESS_TOKEN,
                               string="Guten Tag, ich brauche Hilfe", user_id=user_id)
    assert (status, body["response"]) == (200, True)
    assert google.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert user_language(api, user_id) == "de"


def test_undetermined_changes_nothing(api, configured, google):
    user_id = api.ok("add-user", first_name="Ann", extra={"language": ["es", "Language"]})
    google.post(f"{BASE}/detect", json=detected("und", 1))
    assert api.ok("google-language-detection-update-user", string="12345 ???", user_id=user_id) is False
    assert user_language(api, user_id) == "es"


def test_detection_holds_no_transaction_and_sends_a_sample(api, configured, google):
    user_id = api.ok("add-user", first_name="Ann")
    seen = []

    def detect(request):
        seen.append((dbmod.database.in_transaction(), json.loads(request.body)["q"][0]))
        return 200, {"Content-Type": "application/json"}, json.dumps(detected("en"))
    google.add_callback(responses.POST, f"{BASE}/detect", callback=detect)
    api.ok("google-language-detection-update-user", string="  " + "word " * 1000, user_id=user_id)
    [(in_transaction, text)] = seen
    assert in_transaction is False
    assert len(text) == 2000 and text.startswith("word ")


def test_detection_errors_change_nothing(api, configured, google):
    user_id = api.ok("add-user", first_name="Ann", extra={"language": ["es", "Language"]})
    google.post(f"{BASE}/detect", status=400, json=KEY_INVALID)
    result = api.call("google-language-detection-update-user", string="Ciao", user_id=user_id)
    assert (result.status, result.response) == (502, "google-error")
    assert "API key not valid" in result.json["message"] and KEY not in result.json["message"]
    google.replace(responses.POST, f"{BASE}/detect", json={"data": {"detections": []}})
    result = api.call("google-language-detection-update-user", string="Ciao", user_id=user_id)
    assert (result.status, result.response) == (502, "google-error")
    assert user_language(api, user_id) == "es"


def test_detection_bad_arguments_ask_nothing(api, configured, google):
    result = api.call("google-language-detection-update-user", string="Ciao", user_id=99999)
    assert (result.status, result.response) == (404, "user-not-found")
    user_id = api.ok("add-user", first_name="Ann")
    for fields in ({"string": "   ", "user_id": user_id}, {"string": "Ciao", "user_id": "abc"},
                   {"string": "Ciao"}, {"user_id": user_id}):
        assert api.call("google-language-detection-update-user", **fields).status == 400
    assert len(google.calls) == 0


def test_a_user_deleted_during_the_call_is_not_found(api, configured, google):
    user_id = api.ok("add-user", first_name="Ann")

    def detect(request):
        api.ok("delete-user", user_id=user_id)
        return 200, {"Content-Type": "application/json"}, json.dumps(detected("it"))
    google.add_callback(responses.POST, f"{BASE}/detect", callback=detect)
    result = api.call("google-language-detection-update-user", string="Ciao", user_id=user_id)
    assert (result.status, result.response) == (404, "user-not-found")


# --- sbcore_translate: translate-replies through Google ---


def test_sbcore_translate_with_the_key(core, ctx, google):
    assert core.pm.hook.sbcore_translate(ctx=ctx, strings=["Hello"], language_code="it") is None  # no key
    core.settings.set("google-api-key", KEY)
    google.post(BASE, json=translated(*[(f"t{i}", "en") for i in range(MAX)]))
    google.post(BASE, json=translated(("t128", "en"), ("t129", "en")))
    ctx = core.context()  # a new call: a call's settings are read once, at its first read
    answer = core.pm.hook.sbcore_translate(ctx=ctx, strings=[f"s{i}" for i in range(130)], language_code="zt")
    assert answer == [f"t{i}" for i in range(130)]
    assert [len(sent(c)["q"]) for c in google.calls] == [128, 2]  # Google's 128 strings a request
    assert {sent(c)["target"] for c in google.calls} == {"zh-TW"}
    assert google.calls[0].request.headers["X-goog-api-key"] == KEY


class Channel:
    """A channel plugin owning the source ``tg``."""

    def __init__(self):
        self.sent = []

    from sbcore import hookimpl

    @hookimpl
    def sbcore_channel_send(self, ctx, conversation, message, attachments):
        if conversation.source != "tg":
            return None
        self.sent.append(message)
        return True


def test_replies_go_out_translated_by_google(api, core, configured, google):
    channel = Channel()
    core.pm.register(channel)
    api.ok("save-settings", settings={"translate-replies": True})
    user_id = api.ok("add-user", first_name="Lia", extra={"language": ["it", "Language"]})
    agent_id = api.ok("add-user", first_name="Bo", user_type="agent", email="bo@example.com")
    conversation_id = api.ok("new-conversation", user_id=user_id, source="tg")["details"]["id"]
    google.post(BASE, json=translated(("Il tuo ordine <b>è partito</b>", "en")))
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="Your order <b>shipped</b>")
    assert sent(google.calls[0]) == {"q": ["Your order <b>shipped</b>"], "target": "it", "format": "text"}
    assert channel.sent == ["Il tuo ordine <b>è partito</b>"]
    [message] = api.ok("get-conversation", conversation_id=conversation_id)["messages"]
    assert message["message"] == "Your order <b>shipped</b>"
    assert json.loads(message["payload"]) == {"translation": "Il tuo ordine <b>è partito</b>",
                                              "translation-language": "it"}
