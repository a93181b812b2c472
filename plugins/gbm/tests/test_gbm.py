"""The Google Business Messages plugin against a fake Business Messages API and OAuth
token endpoint (responses), with the webhook bodies, answers and error bodies of
Google's documentation and samples (google-business-communications/bm-python-echo-bot)."""

import base64
import hashlib
import hmac
import json
import os
from urllib.parse import parse_qs

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from falcon.testing import TestClient
from google.auth import jwt

from sbcore import db as dbmod
from sbcore.models import ChannelMessage, Message
from sbcore.plugins import get_plugin_manager
from sbcore.registry import collect_functions
from sbcore.testing import reference_example
from sbcore_gbm.plugin import channel as plugin

API = "https://businessmessages.googleapis.com/v1"
TOKEN_URI = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN = "ya29.c.b0AXv0zTOTc2VNmU5Eh3rH"
PARTNER_KEY = "bm-partner-key-0123456789"
CLIENT_TOKEN = "SJENCPGJESMGUFPY"
CONVERSATION = "a688d36c-a85e-44af-bc02-4248c2c97622"

PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
SERVICE_ACCOUNT = json.dumps({
    "type": "service_account", "project_id": "bm-agent-123", "private_key_id": "1a2b3c",
    "private_key": PRIVATE_KEY, "client_email": "bm-agent@bm-agent-123.iam.gserviceaccount.com",
    "client_id": "1234567890", "token_uri": TOKEN_URI})
NOT_FOUND = {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}


def created(request):
    body = json.loads(request.body)
    return 200, {}, json.dumps({"name": f"conversations/{CONVERSATION}/messages/{body['messageId']}", **body})


def user_message(message_id="4DD3C8CE-0B8E-4A6C-B3FB-3D6F2B5C2D40", **content):
    return {"agent": "brands/1234/agents/5678", "conversationId": CONVERSATION, "customAgentId": "",
            "requestId": f"req-{message_id}",
            "message": {"messageId": message_id, "name": f"conversations/{CONVERSATION}/messages/{message_id}",
                        "createTime": "2021-06-18T14:44:56.397352Z", **(content or {"text": "Hello, I need help"})},
            "context": {"placeId": "", "userInfo": {"displayName": "Michael Scott", "userDeviceLocale": "en-US"},
                        "resolvedLocale": "en"},
            "sendTime": "2021-06-18T14:44:56.656745Z"}


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("gbm-service-account", SERVICE_ACCOUNT)
        core.settings.set("gbm-partner-key", PARTNER_KEY)
        core.settings.set("gbm-client-token", CLIENT_TOKEN)
    return core


@pytest.fixture
def client(app):
    return TestClient(app)


def post(client, value, key=PARTNER_KEY):
    raw = json.dumps(value).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Goog-Signature"] = base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha512).digest()).decode()
    return client.simulate_post("/channels/gbm", body=raw, headers=headers)


def google():
    responses.post(TOKEN_URI, json={"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
    responses.add_callback(responses.POST, f"{API}/conversations/{CONVERSATION}/messages", callback=created)


def sent():
    return [json.loads(c.request.body) for c in responses.calls if "/messages" in c.request.url]


# --- gbm-send-message ---


@responses.activate
def test_send_text_image_and_file_with_a_service_account_token(api, configured):
    google()
    answer = api.ok("gbm-send-message", google_conversation_id=CONVERSATION, message="Hello!",
                    attachments=[["photo.jpg", "https://example.com/photo.jpg"],
                                 ["manual.pdf", "https://example.com/manual.pdf"]])
    body = responses.calls[0].request.body
    exchange = parse_qs(body.decode() if isinstance(body, bytes) else body)
    assert exchange["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(exchange["assertion"][0], verify=False)
    assert claims["iss"] == "bm-agent@bm-agent-123.iam.gserviceaccount.com" and claims["aud"] == TOKEN_URI
    assert claims["scope"] == "https://www.googleapis.com/auth/businessmessages"
    messages = [c for c in responses.calls if "/messages" in c.request.url]
    assert all(c.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" for c in messages)
    bodies = sent()
    assert len({b.pop("messageId") for b in bodies}) == 3  # a new id each
    human = {"representative": {"representativeType": "HUMAN"}}
    assert bodies == [{**human, "text": "Hello!"},
                      {**human, "image": {"contentInfo": {"fileUrl": "https://example.com/photo.jpg",
                                                          "forceRefresh": False}}},
                      {**human, "text": "manual.pdf: https://example.com/manual.pdf"}]
    first, attachments, token = answer
    assert first["text"] == "Hello!" and first["name"].startswith(f"conversations/{CONVERSATION}/messages/")
    assert [a.get("image", a.get("text")) for a in attachments][1] == "manual.pdf: https://example.com/manual.pdf"
    assert token == ACCESS_TOKEN
    assert isinstance(reference_example("gbm-send-message"), list) and len(answer) == 3


@responses.activate
def test_the_callers_token_skips_the_exchange_and_the_base_url_override(app, api, configured):
    configured.config = configured.config.replace(url_overrides={"gbm": "https://bm-proxy.example"})
    responses.post(f"https://bm-proxy.example/v1/conversations/{CONVERSATION}/messages", json={"name": "x"})
    result = TestClient(app).simulate_post("/api", headers={"Authorization": f"Bearer {api.token}"}, json={
        "function": "gbm-send-message", "google_conversation_id": CONVERSATION, "message": "Hi",
        "token": "callers-token"})
    assert result.json["response"] == [{"name": "x"}, [], "callers-token"]
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer callers-token"]


@responses.activate
def test_google_errors_are_502s(api, configured):
    responses.post(TOKEN_URI, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, status=400)
    result = api.call("gbm-send-message", google_conversation_id=CONVERSATION, message="Hi")
    assert (result.status, result.response) == (502, "gbm-error")
    assert "Invalid JWT Signature" in result.json["message"] and "PRIVATE KEY" not in result.json["message"]
    responses.replace(responses.POST, TOKEN_URI, json={"access_token": ACCESS_TOKEN, "expires_in": 3599})
    responses.post(f"{API}/conversations/{CONVERSATION}/messages", json=NOT_FOUND, status=404)
    result = api.call("gbm-send-message", google_conversation_id=CONVERSATION, message="Hi")
    assert (result.status, result.response) == (502, "gbm-error")
    assert "Requested entity was not found. (NOT_FOUND)" in result.json["message"]


def test_not_configured_and_bad_arguments(api, core):
    result = api.call("gbm-send-message", google_conversation_id=CONVERSATION, message="Hi")
    assert (result.status, result.response) == (400, "gbm-not-active")
    for fields in ({"google_conversation_id": "a/../b", "message": "x"},
                   {"google_conversation_id": CONVERSATION, "message": " "}):
        assert api.call("gbm-send-message", **fields).status == 400
    bad = api.call("save-settings", settings={"gbm-service-account": '{"client_email": "x"}'})
    assert (bad.status, bad.response) == (400, "invalid-setting-value")


def test_a_private_token_uri_is_refused(api, core):
    core.config = core.config.replace(allow_private_network=False)
    with dbmod.connection():
        core.settings.set("gbm-service-account", SERVICE_ACCOUNT.replace(TOKEN_URI, "http://127.0.0.1:9/token"))
    result = api.call("gbm-send-message", google_conversation_id=CONVERSATION, message="Hi")
    assert (result.status, result.response) == (400, "url-not-allowed")


@responses.activate
def test_the_token_request_goes_through_the_guarded_session_without_redirects(api, configured,
                                                                             monkeypatch):
    from sbcore import outbound
    sessions = []
    real = outbound.new_session

    def recording(config, redirects=True):
        sessions.append(redirects)
        return real(config, redirects)
    monkeypatch.setattr(outbound, "new_session", recording)
    responses.post(TOKEN_URI, status=302, headers={"Location": "http://169.254.169.254/token"})
    responses.post("http://169.254.169.254/token", json={"access_token": "stolen", "expires_in": 3599})
    result = api.call("gbm-send-message", google_conversation_id=CONVERSATION, message="Hi")
    assert result.status == 502 and result.response == "gbm-error"
    assert False in sessions  # the token exchange used the guard's session, redirects off
    assert [c.request.url for c in responses.calls] == [TOKEN_URI]


# --- inbound ---


def test_the_webhook_check_answers_the_secret(client, configured):
    ok = client.simulate_post("/channels/gbm", json={"clientToken": CLIENT_TOKEN, "secret": "1234567890"})
    assert (ok.status_code, ok.text) == (200, "1234567890")
    wrong = client.simulate_post("/channels/gbm", json={"clientToken": "another", "secret": "1234567890"})
    assert wrong.status_code == 403


def test_without_a_client_token_the_check_fails(client, core):
    assert client.simulate_post("/channels/gbm", json={"clientToken": "", "secret": "1"}).status_code == 403


def test_a_message_reaches_the_inbox_once(api, client, configured):
    assert post(client, user_message()).status_code == 200
    assert post(client, user_message()).status_code == 200  # delivered again
    rows = api.ok("get-conversations")
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["extra"], row["message"]) == ("gb", CONVERSATION, "Hello, I need help")
    assert (row["conversation_first_name"], row["conversation_last_name"]) == ("Michael", "Scott")
    details = {d["slug"]: d["value"] for d in api.ok("get-user", user_id=row["conversation_user_id"],
                                                       extra=True)["details"]}
    assert details == {"gbm-conversation-id": CONVERSATION, "language": "en"}
    tapped = {**user_message(), "requestId": "req-chip-1", "suggestionResponse": {
        "message": f"conversations/{CONVERSATION}/messages/abc", "postbackData": "sample_chip",
        "createTime": "2021-06-18T14:45:56Z", "text": "Sample Chip", "suggestionType": "REPLY"}}
    del tapped["message"]
    post(client, tapped)
    messages = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"]
    assert [m["message"] for m in messages] == ["Hello, I need help", "Sample Chip"]


def test_a_request_failing_verification_changes_nothing(api, client, configured):
    assert post(client, user_message(), key="not-the-key").status_code == 403
    assert post(client, user_message(), key=None).status_code == 403
    assert api.ok("get-conversations") == []


def test_without_a_partner_key_every_message_is_refused(api, client, core):
    assert post(client, user_message(), key="").status_code == 403
    assert api.ok("get-conversations") == []


def test_typing_and_other_statuses_are_acknowledged(api, client, configured):
    status = {**user_message(), "userStatus": {"isTyping": True, "createTime": "2021-06-18T14:44:56Z"}}
    del status["message"]
    assert post(client, status).status_code == 200
    assert api.ok("get-conversations") == []


@responses.activate
def test_an_image_is_downloaded_into_uploads(api, client, configured):
    url = "https://storage.googleapis.com/business-messages-us/936640919331/jzsu6cdguNGsBhmGJGuLs1DS"
    responses.get(url, body=b"\xff\xd8 image", headers={"Content-Type": "image/jpeg"})
    post(client, user_message("IMG-1", image={"contentInfo": {"fileUrl": url, "thumbnailUrl": url + "-t"}}))
    row = api.ok("get-conversations")[0]
    [[name, link]] = json.loads(row["attachments"])
    assert name == "image.jpg"
    assert open(os.path.join(configured.config.uploads_dir, link.split("/uploads/", 1)[1]), "rb").read() == \
        b"\xff\xd8 image"


# --- replies from the inbox ---


@responses.activate
def test_an_agent_reply_goes_to_the_conversation_and_read_receipts_come_back(api, client, configured):
    post(client, user_message())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    google()
    reply = api.ok("send-message", user_id=agent, conversation_id=cid, message="How can I help?")
    [body] = sent()
    assert body["text"] == "How can I help?"
    with dbmod.connection():
        assert ChannelMessage.get(ChannelMessage.external_id == body["messageId"]).message_id == reply["message-id"]
    receipt = {"agent": "brands/1234/agents/5678", "conversationId": CONVERSATION, "requestId": "r2",
               "receipts": {"receipts": [{"message": f"conversations/{CONVERSATION}/messages/{body['messageId']}",
                                          "receiptType": "READ"}], "createTime": "2021-06-18T14:46:56Z"},
               "sendTime": "2021-06-18T14:46:56Z"}
    assert post(client, receipt).status_code == 200
    assert api.ok("get-conversation", conversation_id=cid)["messages"][-1]["status_code"] == "2"


@responses.activate
def test_a_failed_reply_is_a_502_and_stays_with_its_failure(api, client, configured):
    post(client, user_message())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(TOKEN_URI, json={"access_token": ACCESS_TOKEN, "expires_in": 3599})
    responses.post(f"{API}/conversations/{CONVERSATION}/messages", json=NOT_FOUND, status=404)
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Hello?")
    assert (result.status, result.response) == (502, "gbm-error")
    last = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert last["message"] == "Hello?" and "NOT_FOUND" in json.loads(last["payload"])["delivery"]["error"]
    with dbmod.connection():
        assert Message.select().count() == 2


def test_the_plugin_installs_and_uninstalls_on_its_own():
    assert collect_functions(get_plugin_manager(load_entrypoints=False, plugins=[plugin]))[
        "gbm-send-message"].owner == "gbm"
    assert "gbm-send-message" not in collect_functions(get_plugin_manager(load_entrypoints=False))
    assert "gbm-send-message" in collect_functions(get_plugin_manager(load_entrypoints=True))
