"""The Messenger and Instagram plugin against a fake Graph API (responses), with the
webhook payloads, Send API answers and error bodies of Meta's Messenger Platform and
Instagram messaging documentation."""

import hashlib
import hmac
import json
import os

import pytest
import responses
from falcon.testing import TestClient
from responses import matchers

from sbcore import db as dbmod
from sbcore.models import ChannelMessage, Message
from sbcore.plugins import get_plugin_manager
from sbcore.registry import collect_functions
from sbcore.testing import assert_shape, reference_example
from sbcore_messenger import plugin

GRAPH = "https://graph.facebook.com/v21.0"
PAGE_ID = "107728715447892"
IG_ACCOUNT = "17841405822304914"
PSID = "6245387192247316"
IGSID = "5483962191718324"
SECRET = "meta-app-secret"

SENT = {"recipient_id": PSID, "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"}
NO_USER = {"error": {"message": "(#100) No matching user found", "type": "OAuthException", "code": 100,
                     "error_subcode": 2018001, "fbtrace_id": "AqK6pwqHBBsNpf1Ad4e7Fz3"}}
OUTSIDE_WINDOW = {"error": {"message": "(#10) This message is sent outside of allowed window.",
                            "type": "OAuthException", "code": 10, "error_subcode": 2018278,
                            "fbtrace_id": "A6pHmKYHzvuAQYPdA_QXxqY"}}


def page_event(message, sender=PSID, obj="page", entry_id=PAGE_ID):
    return {"object": obj, "entry": [{"id": entry_id, "time": 1458692752478, "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": entry_id}, "timestamp": 1458692752478, "message": message}]}]}


def text(mid="mid.1457764197618:41d102a3e1ae206a38", body="hello, world!"):
    return page_event({"mid": mid, "text": body})


@pytest.fixture
def sbcore_plugins():
    return [plugin]


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("messenger-pages", [{"page-id": PAGE_ID, "token": "EAAPage1", "instagram-id": IG_ACCOUNT},
                                              {"page-id": "200000000000002", "token": "EAAPage2"}])
        core.settings.set("messenger-app-secret", SECRET)
        core.settings.set("messenger-verify-token", "verify-me")
    return core


@pytest.fixture
def client(app):
    return TestClient(app)


@pytest.fixture
def profiles():
    """The Graph API's user profiles (Messenger: first/last name; Instagram: name, username)."""
    responses.get(f"{GRAPH}/{PSID}", match=[matchers.query_param_matcher({"fields": "first_name,last_name"})],
                  json={"first_name": "Peter", "last_name": "Chang", "id": PSID})
    responses.get(f"{GRAPH}/{IGSID}", match=[matchers.query_param_matcher({"fields": "name,username"})],
                  json={"name": "Ines Rocha", "username": "ines.rocha", "id": IGSID})


def post(client, body, secret=SECRET):
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.simulate_post("/channels/messenger", body=raw, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": signature})


def sent_json(index=-1):
    return json.loads(responses.calls[index].request.body)


def graph_calls(path):
    return [c for c in responses.calls if c.request.url.split("?")[0] == f"{GRAPH}/{path}"]


# --- messenger-send-message ---


@responses.activate
def test_send_text_with_metadata_and_attachments(api, configured):
    responses.post(f"{GRAPH}/{PAGE_ID}/messages", json=SENT)
    answer = api.ok("messenger-send-message", psid=PSID, facebook_page_id=PAGE_ID, message="Hello!",
                    metadata="1234", attachments=[["photo.png", "https://example.com/photo.png"],
                                                  ["guide.pdf", "https://example.com/guide.pdf"]])
    assert [c.request.url for c in responses.calls] == [f"{GRAPH}/{PAGE_ID}/messages"] * 3
    assert all(c.request.headers["Authorization"] == "Bearer EAAPage1" for c in responses.calls)
    base = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE"}
    assert [sent_json(i) for i in range(3)] == [
        {**base, "message": {"text": "Hello!", "metadata": "1234"}},
        {**base, "message": {"attachment": {"type": "image", "payload": {
            "url": "https://example.com/photo.png", "is_reusable": True}}}},
        {**base, "message": {"attachment": {"type": "file", "payload": {
            "url": "https://example.com/guide.pdf", "is_reusable": True}}}}]
    assert answer == SENT
    assert_shape(answer, reference_example("messenger-send-message"))


@responses.activate
def test_another_page_and_a_base_url_override(api, configured):
    configured.config = configured.config.replace(url_overrides={"messenger": "https://graph-proxy.example/v9"})
    responses.post("https://graph-proxy.example/v9/200000000000002/messages", json=SENT)
    api.ok("messenger-send-message", psid=PSID, facebook_page_id="200000000000002", message="Hi")
    assert responses.calls[0].request.headers["Authorization"] == "Bearer EAAPage2"
    result = api.call("messenger-send-message", psid=PSID, facebook_page_id="999", message="Hi")
    assert (result.status, result.response) == (400, "messenger-page-not-found")


@responses.activate
def test_a_send_api_error_is_a_502_with_its_message(api, configured):
    responses.post(f"{GRAPH}/{PAGE_ID}/messages", json=NO_USER, status=400)
    result = api.call("messenger-send-message", psid=PSID, facebook_page_id=PAGE_ID, message="Hello!")
    assert (result.status, result.response) == (502, "messenger-error")
    assert "(#100) No matching user found" in result.json["message"]


@responses.activate
def test_a_2xx_that_is_not_json_is_a_502(api, configured):
    responses.post(f"{GRAPH}/{PAGE_ID}/messages", body="<html>Bad gateway</html>", status=200)
    result = api.call("messenger-send-message", psid=PSID, facebook_page_id=PAGE_ID, message="Hello!")
    assert (result.status, result.response) == (502, "messenger-error")
    assert "without a JSON object" in result.json["message"]


def test_not_configured_and_bad_arguments(api):
    result = api.call("messenger-send-message", psid=PSID, facebook_page_id=PAGE_ID, message="Hello!")
    assert (result.status, result.response) == (400, "messenger-not-active")
    for fields in ({"psid": "../me", "message": "x"}, {"psid": PSID, "message": ""},
                   {"psid": PSID, "message": "x", "metadata": "m" * 1001}):
        assert api.call("messenger-send-message", **fields).status == 400


# --- inbound ---


def test_the_verification_handshake(client, configured):
    ok = client.simulate_get("/channels/messenger", params={
        "hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "CHALLENGE_ACCEPTED"})
    assert (ok.status_code, ok.text) == (200, "CHALLENGE_ACCEPTED")
    assert client.simulate_get("/channels/messenger", params={
        "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "x"}).status_code == 403


@responses.activate
def test_a_messenger_message_reaches_the_inbox_once(api, client, configured, profiles):
    assert post(client, text()).status_code == 200
    assert post(client, text()).status_code == 200  # delivered again
    assert len(graph_calls(PSID)) == 1  # the profile is read once, for the new person
    assert graph_calls(PSID)[0].request.headers["Authorization"] == "Bearer EAAPage1"
    rows = api.ok("get-conversations")
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["extra"], row["message"]) == ("fb", PAGE_ID, "hello, world!")
    assert (row["conversation_first_name"], row["conversation_last_name"]) == ("Peter", "Chang")
    user = api.ok("get-user", user_id=row["conversation_user_id"], extra=True)
    assert {"slug": "facebook-id", "name": "Facebook ID", "value": PSID} in user["details"]
    post(client, text("mid.second", "are you there?"))
    assert len(graph_calls(PSID)) == 1
    messages = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"]
    assert [m["message"] for m in messages] == ["hello, world!", "are you there?"]


@responses.activate
def test_an_instagram_message_opens_an_ig_conversation_of_the_linked_page(api, client, configured, profiles):
    body = page_event({"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0", "text": "Olá!"},
                      sender=IGSID, obj="instagram", entry_id=IG_ACCOUNT)
    assert post(client, body).status_code == 200
    row = api.ok("get-conversations")[0]
    assert (row["source"], row["extra"], row["message"]) == ("ig", PAGE_ID, "Olá!")
    assert (row["conversation_first_name"], row["conversation_last_name"]) == ("Ines", "Rocha")
    details = {d["slug"]: d["value"] for d in api.ok("get-user", user_id=row["conversation_user_id"],
                                                       extra=True)["details"]}
    assert details == {"instagram-id": IGSID, "instagram-username": "ines.rocha"}


def test_a_request_failing_verification_changes_nothing(api, client, configured):
    assert post(client, text(), secret="wrong-secret").status_code == 403
    raw = json.dumps(text()).encode()
    assert client.simulate_post("/channels/messenger", body=raw).status_code == 403
    assert api.ok("get-conversations") == []


@responses.activate
def test_echoes_deliveries_and_reads_store_nothing(api, client, configured, profiles):
    echo = page_event({"is_echo": True, "app_id": 1517776481860111, "metadata": "7",
                       "mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "hello from the page"},
                      sender=PAGE_ID)
    echo["entry"][0]["messaging"][0]["recipient"] = {"id": PSID}
    assert post(client, echo).status_code == 200
    delivery = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1458668856463, "messaging": [
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID},
         "delivery": {"mids": ["mid.1458668856218:ed81099e15d3f4f233"], "watermark": 1458668856253}}]}]}
    assert post(client, delivery).status_code == 200
    assert api.ok("get-conversations") == []


@responses.activate
def test_an_image_is_downloaded_into_uploads(api, client, configured, profiles):
    cdn = "https://scontent.xx.fbcdn.net/v/t1.15752-9/431_n.png?_nc_cat=1&oh=00_AfB"
    responses.get(cdn, body=b"\x89PNG image", headers={"Content-Type": "image/png"})
    body = page_event({"mid": "mid.image", "attachments": [{"type": "image", "payload": {"url": cdn}}]})
    assert post(client, body).status_code == 200
    row = api.ok("get-conversations")[0]
    [[name, url]] = json.loads(row["attachments"])
    assert name == "image.png" and url.startswith("http://testserver/uploads/channels/")
    assert open(os.path.join(configured.config.uploads_dir, url.split("/uploads/", 1)[1]), "rb").read() == \
        b"\x89PNG image"


# --- replies from the inbox ---


@responses.activate
def test_an_agent_reply_goes_to_messenger(api, client, configured, profiles):
    post(client, text())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{GRAPH}/{PAGE_ID}/messages", json=SENT)
    sent = api.ok("send-message", user_id=agent, conversation_id=cid, message="How can I help?")
    [call] = graph_calls(f"{PAGE_ID}/messages")
    assert call.request.headers["Authorization"] == "Bearer EAAPage1"
    assert json.loads(call.request.body) == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                                             "message": {"text": "How can I help?"}}
    with dbmod.connection():
        assert ChannelMessage.get(ChannelMessage.external_id == SENT["message_id"]).message_id == sent["message-id"]
    # the page's echo of that reply is not stored again
    echo = page_event({"is_echo": True, "app_id": 1517776481860111, "mid": SENT["message_id"],
                       "text": "How can I help?"}, sender=PAGE_ID)
    post(client, echo)
    with dbmod.connection():
        assert Message.select().count() == 2


@responses.activate
def test_a_failed_instagram_reply_is_a_502_and_stays_with_its_failure(api, client, configured, profiles):
    post(client, page_event({"mid": "ig.mid.1", "text": "Olá!"}, sender=IGSID, obj="instagram", entry_id=IG_ACCOUNT))
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{GRAPH}/{PAGE_ID}/messages", json=OUTSIDE_WINDOW, status=400)
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Still there?")
    assert (result.status, result.response) == (502, "messenger-error")
    assert "outside of allowed window" in result.json["message"]
    assert json.loads(graph_calls(f"{PAGE_ID}/messages")[0].request.body)["recipient"] == {"id": IGSID}
    last = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert last["message"] == "Still there?"
    assert json.loads(last["payload"])["delivery"]["status"] == "failed"


@responses.activate
def test_messaging_platforms_send_message_with_a_page_id(api, client, configured, profiles):
    post(client, text())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    responses.post(f"{GRAPH}/200000000000002/messages", json=SENT)
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="From page two",
                  source={"source": "fb", "page_id": "200000000000002"}) is True
    assert sent_json()["message"] == {"text": "From page two"}


def test_the_plugin_installs_and_uninstalls_on_its_own():
    assert collect_functions(get_plugin_manager(load_entrypoints=False, plugins=[plugin]))[
        "messenger-send-message"].owner == "sbcore_messenger.plugin"
    assert "messenger-send-message" not in collect_functions(get_plugin_manager(load_entrypoints=False))
