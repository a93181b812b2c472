"""The LINE plugin against a fake Messaging API (responses), with the webhook events,
answers and error bodies of LINE's Messaging API reference (developers.line.biz)."""

import base64
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
from sbcore_line import plugin

API = "https://api.line.me"
DATA = "https://api-data.line.me"
TOKEN = "W1TeHCgfH2Liwa.long-lived-channel-access-token"
SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
USER = "U4af4980629a1b2c3d4e5f60718293a4b"
GROUP = "Ca56f94637c2b3d4e5f60718293a4b5c6"

SENT = {"sentMessages": [{"id": "481156985669026149", "quoteToken": "fKOxH1EKOAKYFLW6fe8vFGoKl2I2UZocU6Kco"}]}
BAD_REQUEST = {"message": "The request body has 2 error(s)", "details": [
    {"message": "May not be empty", "property": "messages[0].text"},
    {"message": "Must be one of the following values: [text, image, video, audio, location, sticker, "
                "template, imagemap]", "property": "messages[1].type"}]}
INVALID_TOKEN = {"message": "Authentication failed due to the following reason: invalid token. Confirm that "
                            "the access token in the authorization header is valid."}
PROFILE = {"displayName": "LINE Taro", "userId": USER, "language": "ja",
           "pictureUrl": "https://profile.line-scdn.net/ch/v2/p/uf9da5ee2b", "statusMessage": "Hello, LINE!"}


def event(message, source=None, event_id="01H810YECXQQZ37VAXPF6H9E6T"):
    return {"type": "message", "message": message, "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": False}, "timestamp": 1692251666727,
            "source": source or {"type": "user", "userId": USER},
            "replyToken": "38ef843bde154d9b91c21320ffd17a0f", "mode": "active"}


def body(*events):
    return {"destination": "U1234567890abcdef1234567890abcdef", "events": list(events)}


def text(message_id="468789577898262530", words="Hello, I need help", **kwargs):
    return body(event({"type": "text", "id": message_id, "quoteToken": "q3Plxr4AgKd", "text": words}, **kwargs))


@pytest.fixture
def sbcore_plugins():
    return [plugin]


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("line-channel-access-token", TOKEN)
        core.settings.set("line-channel-secret", SECRET)
    return core


@pytest.fixture
def client(app):
    return TestClient(app)


def post(client, value, secret=SECRET):
    raw = json.dumps(value).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Line-Signature"] = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return client.simulate_post("/channels/line", body=raw, headers=headers)


def sent_json(index=-1):
    return json.loads(responses.calls[index].request.body)


# --- line-send-message ---


@responses.activate
def test_send_text_image_and_file(api, configured):
    responses.post(f"{API}/v2/bot/message/push", json=SENT)
    answer = api.ok("line-send-message", line_id=USER, message="Hello!",
                    attachments=[["photo.png", "https://example.com/photo.png"],
                                 ["manual.pdf", "https://example.com/manual.pdf"]])
    [call] = responses.calls
    assert call.request.url == f"{API}/v2/bot/message/push"
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent_json() == {"to": USER, "messages": [
        {"type": "text", "text": "Hello!"},
        {"type": "image", "originalContentUrl": "https://example.com/photo.png",
         "previewImageUrl": "https://example.com/photo.png"},
        {"type": "text", "text": "manual.pdf: https://example.com/manual.pdf"}]}
    assert answer == SENT
    assert_shape(answer, reference_example("line-send-message"))


@responses.activate
def test_more_than_five_messages_go_in_two_pushes_and_the_base_url_override(api, configured):
    configured.config = configured.config.replace(url_overrides={"line": "https://line-proxy.example"})
    responses.post("https://line-proxy.example/v2/bot/message/push", json=SENT)
    files = [[f"f{i}.jpg", f"https://example.com/f{i}.jpg"] for i in range(6)]
    answer = api.ok("line-send-message", line_id=GROUP, message="Six photos", attachments=files)
    assert [len(sent_json(i)["messages"]) for i in range(2)] == [5, 2]
    assert len(answer["sentMessages"]) == 2


@responses.activate
def test_a_line_error_is_a_502_with_its_details(api, configured):
    responses.post(f"{API}/v2/bot/message/push", json=BAD_REQUEST, status=400)
    result = api.call("line-send-message", line_id=USER, message="Hello!")
    assert (result.status, result.response) == (502, "line-error")
    assert "The request body has 2 error(s) (messages[0].text: May not be empty;" in result.json["message"]
    responses.replace(responses.POST, f"{API}/v2/bot/message/push", json=INVALID_TOKEN, status=401)
    result = api.call("line-send-message", line_id=USER, message="Hello!")
    assert "invalid token" in result.json["message"] and TOKEN not in result.json["message"]


@responses.activate
@pytest.mark.parametrize("answer", [{"body": "<html>Bad gateway</html>"}, {"json": {}},
                                    {"json": {"sentMessages": None}}])
def test_a_2xx_that_is_not_a_push_answer_is_a_502(api, configured, answer):
    responses.post(f"{API}/v2/bot/message/push", status=200, **answer)
    result = api.call("line-send-message", line_id=USER, message="Hello!")
    assert (result.status, result.response) == (502, "line-error")


def test_not_configured_and_bad_arguments(api, core):
    result = api.call("line-send-message", line_id=USER, message="Hello!")
    assert (result.status, result.response) == (400, "line-not-active")
    for fields in ({"line_id": "U123; DROP", "message": "x"}, {"line_id": USER, "message": " "},
                   {"line_id": USER, "attachments": [["a", "ftp://x"]]}):
        assert api.call("line-send-message", **fields).status == 400


# --- inbound ---


@responses.activate
def test_a_message_reaches_the_inbox_once_with_the_profile_name(api, client, configured):
    responses.get(f"{API}/v2/bot/profile/{USER}", json=PROFILE)
    assert post(client, text()).status_code == 200
    assert post(client, text()).status_code == 200  # redelivered
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    rows = api.ok("get-conversations")
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["extra"], row["message"]) == ("ln", USER, "Hello, I need help")
    assert (row["conversation_first_name"], row["conversation_last_name"]) == ("LINE", "Taro")
    details = {d["slug"]: d["value"] for d in api.ok("get-user", user_id=row["conversation_user_id"],
                                                       extra=True)["details"]}
    assert details == {"line-id": USER, "language": "ja"}
    post(client, text("468789577898262531", "Are you there?"))
    assert len(responses.calls) == 1  # a known user: no second profile look-up
    messages = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"]
    assert [m["message"] for m in messages] == ["Hello, I need help", "Are you there?"]


@responses.activate
def test_a_group_message_is_a_conversation_of_the_group(api, client, configured):
    assert post(client, text(source={"type": "group", "groupId": GROUP, "userId": USER})).status_code == 200
    assert len(responses.calls) == 0  # no profile API for group members
    row = api.ok("get-conversations")[0]
    assert row["extra"] == GROUP


def test_a_request_failing_verification_changes_nothing(api, client, configured):
    assert post(client, text(), secret="not-the-secret").status_code == 403
    assert post(client, text(), secret=None).status_code == 403
    raw = json.dumps(text()).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    tampered = client.simulate_post("/channels/line", body=raw.replace(b"help", b"HELP"),
                                    headers={"X-Line-Signature": signature})
    assert tampered.status_code == 403
    assert api.ok("get-conversations") == []


def test_without_a_channel_secret_every_post_is_refused(api, client, core):
    assert post(client, text(), secret="").status_code == 403
    assert api.ok("get-conversations") == []


def test_the_url_check_and_other_events_are_acknowledged(api, client, configured):
    assert post(client, body()).status_code == 200  # "Verify" in the LINE Developers Console
    follow = {"type": "follow", "webhookEventId": "01H", "deliveryContext": {"isRedelivery": False},
              "timestamp": 1692251666727, "source": {"type": "user", "userId": USER}, "mode": "active",
              "replyToken": "r", "follow": {"isUnblocked": False}}
    sticker = event({"type": "sticker", "id": "1501597916", "stickerId": "52002738", "packageId": "11537",
                     "stickerResourceType": "ANIMATION"})
    assert post(client, body(follow, sticker)).status_code == 200
    assert api.ok("get-conversations") == []


@responses.activate
def test_an_image_and_a_file_are_downloaded_into_uploads(api, client, configured):
    responses.get(f"{API}/v2/bot/profile/{USER}", json=PROFILE)
    in_transaction = []

    def content(request):
        in_transaction.append(dbmod.database.in_transaction())
        return 200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff jpeg"
    responses.add_callback(responses.GET, f"{DATA}/v2/bot/message/354718705033693859/content", callback=content)
    responses.get(f"{DATA}/v2/bot/message/325708/content", body=b"%PDF-1.4",
                  headers={"Content-Type": "application/pdf"})
    image = event({"type": "image", "id": "354718705033693859", "quoteToken": "yHAz4Ua2wx7",
                   "contentProvider": {"type": "line"}})
    document = event({"type": "file", "id": "325708", "fileName": "invoice.pdf", "fileSize": 8})
    assert post(client, body(image, document)).status_code == 200
    content_calls = [c for c in responses.calls if "/content" in c.request.url]
    assert [c.request.headers["Authorization"] for c in content_calls] == [f"Bearer {TOKEN}"] * 2
    assert in_transaction == [False]
    messages = api.ok("get-conversation", conversation_id=api.ok("get-conversations")[0]["conversation_id"])["messages"]
    [[name, url]] = json.loads(messages[0]["attachments"])
    assert name == "image.jpg" and url.startswith("http://testserver/uploads/channels/")
    assert open(os.path.join(configured.config.uploads_dir, url.split("/uploads/", 1)[1]), "rb").read() == \
        b"\xff\xd8\xff jpeg"
    assert json.loads(messages[1]["attachments"])[0][0] == "invoice.pdf"


@responses.activate
def test_content_that_cannot_be_fetched_keeps_the_message(api, client, configured):
    responses.get(f"{API}/v2/bot/profile/{USER}", json=PROFILE)
    responses.get(f"{DATA}/v2/bot/message/999/content", json={"message": "Not found"}, status=404)
    post(client, body(event({"type": "video", "id": "999", "duration": 60000,
                             "contentProvider": {"type": "line"}})))
    row = api.ok("get-conversations")[0]
    assert row["attachments"] == "" and "404" in json.loads(row["payload"])["media_error"]


# --- replies from the inbox ---


@responses.activate
def test_an_agent_reply_goes_to_line(api, client, configured):
    responses.get(f"{API}/v2/bot/profile/{USER}", json=PROFILE)
    post(client, text())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{API}/v2/bot/message/push", json=SENT)
    sent = api.ok("send-message", user_id=agent, conversation_id=cid, message="How can I help?")
    assert sent_json() == {"to": USER, "messages": [{"type": "text", "text": "How can I help?"}]}
    with dbmod.connection():
        assert ChannelMessage.get(ChannelMessage.external_id == "481156985669026149").message_id == sent["message-id"]


@responses.activate
def test_a_failed_reply_is_a_502_and_stays_with_its_failure(api, client, configured):
    responses.get(f"{API}/v2/bot/profile/{USER}", json=PROFILE)
    post(client, text())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{API}/v2/bot/message/push", json={"message": "Failed to send messages"}, status=400)
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Hello?")
    assert (result.status, result.response) == (502, "line-error")
    last = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert last["message"] == "Hello?"
    assert "Failed to send messages" in json.loads(last["payload"])["delivery"]["error"]
    with dbmod.connection():
        assert Message.select().count() == 2


@responses.activate
def test_messaging_platforms_send_message(api, client, configured):
    responses.get(f"{API}/v2/bot/profile/{USER}", json=PROFILE)
    post(client, text())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    responses.post(f"{API}/v2/bot/message/push", json=SENT)
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="Sent again") is True
    assert sent_json() == {"to": USER, "messages": [{"type": "text", "text": "Sent again"}]}


def test_the_plugin_installs_and_uninstalls_on_its_own():
    assert collect_functions(get_plugin_manager(load_entrypoints=False, plugins=[plugin]))[
        "line-send-message"].owner == "sbcore_line.plugin"
    assert "line-send-message" not in collect_functions(get_plugin_manager(load_entrypoints=False))
    assert "line-send-message" in collect_functions(get_plugin_manager(load_entrypoints=True))
