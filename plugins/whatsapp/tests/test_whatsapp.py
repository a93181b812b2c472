"""The WhatsApp plugin against a fake Cloud API (responses), with the payloads and error
bodies of Meta's documentation (WhatsApp Cloud API: messages endpoint, media, webhooks)."""

import hashlib
import hmac
import json
import os

import pytest
import responses
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore.models import ChannelMessage, Message
from sbcore.plugins import get_plugin_manager
from sbcore.registry import collect_functions
from sbcore.testing import assert_shape, reference_example
from sbcore_whatsapp import plugin

GRAPH = "https://graph.facebook.com/v21.0"
PHONE_ID = "106540352242922"
OTHER_PHONE_ID = "106540352242999"
SECRET = "meta-app-secret"
WA_ID = "16505551234"

# Cloud API answers (developers.facebook.com, messages endpoint and error codes)
SENT = {"messaging_product": "whatsapp", "contacts": [{"input": "+16505551234", "wa_id": WA_ID}],
        "messages": [{"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3N0EyQUJDMjFEQzZCQUMzODMA"}]}
NOT_ALLOWED = {"error": {
    "message": "(#131030) Recipient phone number not in allowed list", "type": "OAuthException",
    "code": 131030, "error_data": {"messaging_product": "whatsapp",
                                   "details": "Recipient phone number not in allowed list: Add recipient phone "
                                              "number to recipient list and try again."},
    "fbtrace_id": "AxpiFbMNbO1yJBW6ND_cVfU"}}


def notification(value):
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"value": {"messaging_product": "whatsapp",
                   "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
                   **value}, "field": "messages"}]}]}


def text_message(message_id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", body="Hi, I need help"):
    return notification({"contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": WA_ID}],
                         "messages": [{"from": WA_ID, "id": message_id, "timestamp": "1749416383",
                                       "type": "text", "text": {"body": body}}]})


@pytest.fixture
def sbcore_plugins():
    return [plugin]


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("whatsapp-numbers", [{"phone-id": PHONE_ID, "token": "EAAG-first"},
                                               {"phone-id": OTHER_PHONE_ID, "token": "EAAG-second"}])
        core.settings.set("whatsapp-app-secret", SECRET)
        core.settings.set("whatsapp-verify-token", "verify-me")
    return core


@pytest.fixture
def client(app):
    return TestClient(app)


def post(client, body, secret=SECRET, raw=None):
    raw = raw if raw is not None else json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.simulate_post("/channels/whatsapp", body=raw, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": signature})


def sent_json(index=-1):
    return json.loads(responses.calls[index].request.body)


# --- whatsapp-send-message ---


@responses.activate
def test_send_text_image_and_document(api, configured):
    responses.post(f"{GRAPH}/{PHONE_ID}/messages", json=SENT)
    answer = api.ok("whatsapp-send-message", to="+16505551234", message="Hello!",
                    attachments=[["photo.jpg", "https://example.com/photo.jpg"],
                                 ["invoice.pdf", "https://example.com/invoice.pdf"]])
    assert [call.request.url for call in responses.calls] == [f"{GRAPH}/{PHONE_ID}/messages"] * 3
    assert all(call.request.headers["Authorization"] == "Bearer EAAG-first" for call in responses.calls)
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234"}
    assert [sent_json(i) for i in range(3)] == [
        {**base, "type": "text", "text": {"preview_url": False, "body": "Hello!"}},
        {**base, "type": "image", "image": {"link": "https://example.com/photo.jpg"}},
        {**base, "type": "document", "document": {"link": "https://example.com/invoice.pdf",
                                                   "filename": "invoice.pdf"}}]
    assert answer["messaging_product"] == "whatsapp" and answer["contacts"] == SENT["contacts"]
    assert len(answer["messages"]) == 3
    assert_shape(answer, reference_example("whatsapp-send-message"))


@responses.activate
def test_send_from_another_number_and_a_base_url_override(api, configured):
    configured.config = configured.config.replace(url_overrides={"whatsapp": "https://wa-proxy.example/v1"})
    responses.post(f"https://wa-proxy.example/v1/{OTHER_PHONE_ID}/messages", json=SENT)
    api.ok("whatsapp-send-message", to="16505551234", message="From the second number", phone_id=OTHER_PHONE_ID)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer EAAG-second"
    result = api.call("whatsapp-send-message", to="16505551234", message="x", phone_id="42")
    assert (result.status, result.response) == (400, "whatsapp-number-not-found")


@responses.activate
def test_a_cloud_api_error_is_a_502_with_its_message(api, configured):
    responses.post(f"{GRAPH}/{PHONE_ID}/messages", json=NOT_ALLOWED, status=400)
    result = api.call("whatsapp-send-message", to="+16505551234", message="Hello!")
    assert (result.status, result.response) == (502, "whatsapp-error")
    assert "(#131030) Recipient phone number not in allowed list" in result.json["message"]
    assert "Add recipient phone number to recipient list" in result.json["message"]


@responses.activate
def test_a_2xx_that_is_not_json_is_a_502(api, configured):
    responses.post(f"{GRAPH}/{PHONE_ID}/messages", body="<html>Bad gateway</html>", status=200)
    result = api.call("whatsapp-send-message", to="+16505551234", message="Hello!")
    assert (result.status, result.response) == (502, "whatsapp-error")
    assert "without a JSON object" in result.json["message"]


def test_not_configured_and_bad_arguments(api):
    result = api.call("whatsapp-send-message", to="+16505551234", message="Hello!")
    assert (result.status, result.response) == (400, "whatsapp-not-active")
    for fields in ({"to": "not a number", "message": "x"}, {"to": "+16505551234", "message": ""},
                   {"to": "+16505551234", "attachments": [["a", "ftp://x"]]}):
        assert api.call("whatsapp-send-message", **fields).status == 400


# --- inbound ---


def test_the_verification_handshake(client, configured):
    ok = client.simulate_get("/channels/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert client.simulate_get("/channels/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}).status_code == 403


def test_a_text_message_reaches_the_inbox_once(api, client, configured):
    assert post(client, text_message()).status_code == 200
    assert post(client, text_message()).status_code == 200  # Meta delivers again
    rows = api.ok("get-conversations")
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["extra"], row["message"]) == ("wa", PHONE_ID, "Hi, I need help")
    assert (row["conversation_first_name"], row["conversation_last_name"]) == ("Sheena", "Nelson")
    user = api.ok("get-user", user_id=row["conversation_user_id"], extra=True)
    assert {"slug": "phone", "name": "Phone", "value": f"+{WA_ID}"} in user["details"]
    post(client, text_message("wamid.SECOND", "Are you there?"))
    messages = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"]
    assert [m["message"] for m in messages] == ["Hi, I need help", "Are you there?"]


def test_a_request_failing_verification_changes_nothing(api, client, configured):
    assert post(client, text_message(), secret="not-the-secret").status_code == 403
    raw = json.dumps(text_message()).encode()
    unsigned = client.simulate_post("/channels/whatsapp", body=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 403
    assert api.ok("get-conversations") == []


def test_without_an_app_secret_every_post_is_refused(api, client, core):
    assert post(client, text_message(), secret="").status_code == 403
    assert api.ok("get-conversations") == []


@responses.activate
def test_an_image_is_downloaded_into_uploads(api, client, configured):
    media_url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=2621233374848975&ext=1749416383"
    responses.get(f"{GRAPH}/2621233374848975", json={
        "messaging_product": "whatsapp", "url": media_url, "mime_type": "image/jpeg",
        "sha256": "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3",
        "file_size": "303833", "id": "2621233374848975"})
    in_transaction = []

    def media(request):  # what the download sees: no transaction open
        in_transaction.append(dbmod.database.in_transaction())
        return 200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff jpeg bytes"
    responses.add_callback(responses.GET, media_url, callback=media)
    body = notification({"contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": WA_ID}],
                         "messages": [{"from": WA_ID, "id": "wamid.IMAGE", "timestamp": "1749416383",
                                       "type": "image", "image": {
                                           "caption": "The broken part", "mime_type": "image/jpeg",
                                           "sha256": "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3",
                                           "id": "2621233374848975"}}]})
    assert post(client, body).status_code == 200
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer EAAG-first"] * 2
    assert in_transaction == [False]
    row = api.ok("get-conversations")[0]
    assert row["message"] == "The broken part"
    [[name, url]] = json.loads(row["attachments"])
    assert name == "image.jpg" and url.startswith("http://testserver/uploads/channels/")
    path = os.path.join(configured.config.uploads_dir, url.split("/uploads/", 1)[1])
    assert open(path, "rb").read() == b"\xff\xd8\xff jpeg bytes"
    assert post(client, body).status_code == 200  # again: no second download, no second message
    assert len(responses.calls) == 2
    with dbmod.connection():
        assert Message.select().count() == 1


@responses.activate
def test_a_document_that_cannot_be_fetched_keeps_the_message(api, client, configured):
    responses.get(f"{GRAPH}/998877", json={"error": {"message": "Unsupported get request.",
                                                     "type": "GraphMethodException", "code": 100}}, status=400)
    body = notification({"contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": WA_ID}],
                         "messages": [{"from": WA_ID, "id": "wamid.DOC", "timestamp": "1749416383",
                                       "type": "document", "document": {
                                           "filename": "contract.pdf", "mime_type": "application/pdf",
                                           "sha256": "abc", "id": "998877"}}]})
    assert post(client, body).status_code == 200
    row = api.ok("get-conversations")[0]
    assert row["attachments"] == "" and "Unsupported get request." in json.loads(row["payload"])["media_error"]


# --- replies from the inbox ---


@responses.activate
def test_an_agent_reply_goes_to_whatsapp_and_statuses_come_back(api, client, configured):
    post(client, text_message())
    row = api.ok("get-conversations")[0]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{GRAPH}/{PHONE_ID}/messages", json=SENT)
    sent = api.ok("send-message", user_id=agent, conversation_id=row["conversation_id"], message="How can I help?")
    assert responses.calls[0].request.url == f"{GRAPH}/{PHONE_ID}/messages"
    assert sent_json() == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID,
                           "type": "text", "text": {"preview_url": False, "body": "How can I help?"}}
    wamid = SENT["messages"][0]["id"]
    with dbmod.connection():
        assert ChannelMessage.get(ChannelMessage.external_id == wamid).message_id == sent["message-id"]
    # the status webhook: read, then (for another message) failed
    read = notification({"statuses": [{"id": wamid, "status": "read", "timestamp": "1750263773",
                                       "recipient_id": WA_ID}]})
    assert post(client, read).status_code == 200
    messages = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"]
    assert messages[-1]["status_code"] == "2"
    failed = notification({"statuses": [{"id": wamid, "status": "failed", "timestamp": "1750263773",
                                         "recipient_id": WA_ID, "errors": [{
                                             "code": 131047, "title": "Re-engagement message",
                                             "message": "Re-engagement message",
                                             "error_data": {"details": "Message failed to send because more "
                                                            "than 24 hours have passed since the customer last "
                                                            "replied to this number."}}]}]})
    assert post(client, failed).status_code == 200
    payload = json.loads(api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"][-1]["payload"])
    assert payload["delivery"]["status"] == "failed" and "(131047) Re-engagement message" in payload["delivery"]["error"]


@responses.activate
def test_a_failed_reply_is_a_502_and_stays_with_its_failure(api, client, configured):
    post(client, text_message())
    row = api.ok("get-conversations")[0]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{GRAPH}/{PHONE_ID}/messages", json=NOT_ALLOWED, status=400)
    result = api.call("send-message", user_id=agent, conversation_id=row["conversation_id"], message="Hello?")
    assert (result.status, result.response) == (502, "whatsapp-error")
    last = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"][-1]
    assert last["message"] == "Hello?"
    delivery = json.loads(last["payload"])["delivery"]
    assert delivery["code"] == "whatsapp-error" and "(#131030)" in delivery["error"]


@responses.activate
def test_messaging_platforms_send_message(api, client, configured):
    post(client, text_message())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    responses.post(f"{GRAPH}/{PHONE_ID}/messages", json=SENT)
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="Sent again",
                  attachments=[["manual.pdf", "https://example.com/manual.pdf"]]) is True
    assert [sent_json(i)["type"] for i in range(2)] == ["text", "document"]


# --- install and uninstall ---


def test_the_plugin_installs_and_uninstalls_on_its_own(sb_config):
    with_plugin = collect_functions(get_plugin_manager(load_entrypoints=False, plugins=[plugin]))
    without = collect_functions(get_plugin_manager(load_entrypoints=False))
    assert with_plugin["whatsapp-send-message"].owner == "sbcore_whatsapp.plugin"
    assert "whatsapp-send-message" not in without
    installed = collect_functions(get_plugin_manager(load_entrypoints=True))
    assert "whatsapp-send-message" in installed  # the distribution's entry point
