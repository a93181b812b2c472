"""The Viber plugin against a fake REST bot API (responses), with the callbacks, answers
and error statuses of Viber's REST bot API documentation (send_message, set_webhook,
callbacks, error codes)."""

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
from sbcore_viber.plugin import channel as plugin

API = "https://chatapi.viber.com/pa"
TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
VIBER_ID = "01234567890A="

SENT = {"status": 0, "status_message": "ok", "message_token": 5741311803571721087,
        "chat_hostname": "SN-CHAT-05_", "billing_status": 1}
NOT_SUBSCRIBED = {"status": 6, "status_message": "notSubscribed", "message_token": 5741311803571721088,
                  "chat_hostname": "SN-CHAT-05_"}


def message(token=4912661846655238145, **content):
    return {"event": "message", "timestamp": 1457764197627, "message_token": token,
            "sender": {"id": VIBER_ID, "name": "John McClane", "avatar": "http://avatar.example.com",
                       "country": "UK", "language": "en", "api_version": 1},
            "message": content or {"type": "text", "text": "a message to the service",
                                   "tracking_data": "tracking data"}}


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("viber-token", TOKEN)
        core.settings.set("viber-sender-name", "Acme Support")
    return core


@pytest.fixture
def client(app):
    return TestClient(app)


def post(client, value, token=TOKEN):
    raw = json.dumps(value).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Viber-Content-Signature"] = hmac.new(token.encode(), raw, hashlib.sha256).hexdigest()
    return client.simulate_post("/channels/viber", body=raw, headers=headers)


def sent_json(index=-1):
    return json.loads(responses.calls[index].request.body)


BASE = {"receiver": VIBER_ID, "min_api_version": 1, "sender": {"name": "Acme Support"}}


# --- viber-send-message ---


@responses.activate
def test_send_text_picture_file_and_link(api, configured):
    responses.post(f"{API}/send_message", json=SENT)
    responses.head("https://example.com/manual.pdf", headers={"Content-Length": "10000"})
    responses.head("https://example.com/report", status=405)
    answer = api.ok("viber-send-message", viber_id=VIBER_ID, message="Hello!",
                    attachments=[["photo.jpg", "https://example.com/photo.jpg"],
                                 ["manual.pdf", "https://example.com/manual.pdf"],
                                 ["report", "https://example.com/report"]])
    sends = [c for c in responses.calls if c.request.method == "POST"]
    assert all(c.request.url == f"{API}/send_message" for c in sends)
    assert all(c.request.headers["X-Viber-Auth-Token"] == TOKEN for c in sends)
    assert [json.loads(c.request.body) for c in sends] == [
        {**BASE, "type": "text", "text": "Hello!"},
        {**BASE, "type": "picture", "text": "", "media": "https://example.com/photo.jpg"},
        {**BASE, "type": "file", "media": "https://example.com/manual.pdf", "size": 10000,
         "file_name": "manual.pdf"},
        {**BASE, "type": "url", "media": "https://example.com/report"}]
    assert answer == SENT
    assert_shape(answer, reference_example("viber-send-message"))


@responses.activate
def test_a_refusal_in_a_200_is_a_502_and_the_base_url_override(api, configured):
    configured.config = configured.config.replace(url_overrides={"viber": "https://viber-proxy.example"})
    responses.post("https://viber-proxy.example/pa/send_message", json=NOT_SUBSCRIBED)
    result = api.call("viber-send-message", viber_id=VIBER_ID, message="Hello!")
    assert (result.status, result.response) == (502, "viber-error")
    assert "notSubscribed (status 6)" in result.json["message"] and TOKEN not in result.json["message"]


@responses.activate
def test_an_http_error_is_a_502(api, configured):
    responses.post(f"{API}/send_message", json={"status": 2, "status_message": "invalidAuthToken"}, status=401)
    result = api.call("viber-send-message", viber_id=VIBER_ID, message="Hello!")
    assert (result.status, result.response) == (502, "viber-error")
    assert "invalidAuthToken" in result.json["message"]


def test_not_configured_and_bad_arguments(api, core):
    result = api.call("viber-send-message", viber_id=VIBER_ID, message="Hello!")
    assert (result.status, result.response) == (400, "viber-not-active")
    for fields in ({"viber_id": "a b; DROP", "message": "x"}, {"viber_id": VIBER_ID, "message": " "},
                   {"viber_id": VIBER_ID, "attachments": [["a", "ftp://x"]]}):
        assert api.call("viber-send-message", **fields).status == 400


# --- inbound ---


def test_a_message_reaches_the_inbox_once(api, client, configured):
    assert post(client, message()).status_code == 200
    assert post(client, message()).status_code == 200  # Viber retries
    rows = api.ok("get-conversations")
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["message"]) == ("vb", "a message to the service")
    assert (row["conversation_first_name"], row["conversation_last_name"]) == ("John", "McClane")
    details = {d["slug"]: d["value"] for d in api.ok("get-user", user_id=row["conversation_user_id"],
                                                       extra=True)["details"]}
    assert details == {"viber-id": VIBER_ID, "country": "UK", "language": "en"}
    post(client, message(4912661846655238146, type="location", location={"lat": 50.76891, "lon": 6.11499}))
    messages = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"]
    assert [m["message"] for m in messages] == ["a message to the service",
                                                "https://maps.google.com/?q=50.76891,6.11499"]


def test_a_request_failing_verification_changes_nothing(api, client, configured):
    assert post(client, message(), token="another-token").status_code == 403
    assert post(client, message(), token=None).status_code == 403
    assert api.ok("get-conversations") == []


def test_without_a_token_every_post_is_refused(api, client, core):
    assert post(client, message(), token="").status_code == 403
    assert api.ok("get-conversations") == []


def test_the_webhook_check_and_other_callbacks_are_acknowledged(api, client, configured):
    assert post(client, {"event": "webhook", "timestamp": 1457764197627, "chat_hostname": "SN-172_",
                         "message_token": 241256543215}).status_code == 200
    assert post(client, {"event": "conversation_started", "timestamp": 1457764197627,
                         "message_token": 4912661846655238145, "type": "open", "context": "context information",
                         "user": {"id": VIBER_ID, "name": "John McClane", "country": "UK", "language": "en",
                                  "api_version": 1}, "subscribed": False}).status_code == 200
    assert post(client, message(type="sticker", sticker_id=46105)).status_code == 200
    assert api.ok("get-conversations") == []


@responses.activate
def test_a_picture_and_a_file_are_downloaded_into_uploads(api, client, configured):
    responses.get("https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/5688fdffdf.jpg",
                  body=b"\xff\xd8 picture", headers={"Content-Type": "image/jpeg"})
    responses.get("https://dl-media.viber.com/1/share/2/long/bots/file/contract.pdf", body=b"%PDF-1.4",
                  headers={"Content-Type": "application/pdf"})
    assert post(client, message(1, type="picture", text="The broken part",
                                media="https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/"
                                      "5688fdffdf.jpg",
                                thumbnail="https://dl-media.viber.com/thumb.jpg")).status_code == 200
    assert post(client, message(2, type="file", media="https://dl-media.viber.com/1/share/2/long/bots/file/"
                                "contract.pdf", size=8, file_name="contract.pdf")).status_code == 200
    messages = api.ok("get-conversation", conversation_id=api.ok("get-conversations")[0]["conversation_id"])["messages"]
    assert messages[0]["message"] == "The broken part"
    [[name, url]] = json.loads(messages[0]["attachments"])
    assert name == "image.jpg"
    assert open(os.path.join(configured.config.uploads_dir, url.split("/uploads/", 1)[1]), "rb").read() == \
        b"\xff\xd8 picture"
    assert json.loads(messages[1]["attachments"])[0][0] == "contract.pdf"


def test_media_that_cannot_be_fetched_keeps_the_message(api, client, configured):
    configured.config = configured.config.replace(allow_private_network=False)
    post(client, message(3, type="video", media="http://127.0.0.1/video.mp4", size=100, duration=3))
    row = api.ok("get-conversations")[0]
    assert row["attachments"] == "" and "private address" in row["payload"]["media_error"]  # get-conversations decodes it, as 3.8


# --- replies from the inbox ---


@responses.activate
def test_an_agent_reply_goes_to_viber_and_receipts_come_back(api, client, configured):
    post(client, message())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{API}/send_message", json=SENT)
    sent = api.ok("send-message", user_id=agent, conversation_id=cid, message="How can I help?")
    assert sent_json() == {**BASE, "type": "text", "text": "How can I help?"}
    with dbmod.connection():
        assert ChannelMessage.get(ChannelMessage.external_id == "5741311803571721087").message_id == sent["message-id"]
    seen = {"event": "seen", "timestamp": 1457764197627, "message_token": 5741311803571721087, "user_id": VIBER_ID}
    assert post(client, seen).status_code == 200
    assert api.ok("get-conversation", conversation_id=cid)["messages"][-1]["status_code"] == "2"
    failed = {"event": "failed", "timestamp": 1457764197627, "message_token": 5741311803571721087,
              "user_id": VIBER_ID, "desc": "failure description"}
    assert post(client, failed).status_code == 200
    payload = json.loads(api.ok("get-conversation", conversation_id=cid)["messages"][-1]["payload"])
    assert payload["delivery"] == {"status": "failed", "code": "viber-error", "error": "failure description"}


@responses.activate
def test_a_failed_reply_is_a_502_and_stays_with_its_failure(api, client, configured):
    post(client, message())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{API}/send_message", json=NOT_SUBSCRIBED)
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Hello?")
    assert (result.status, result.response) == (502, "viber-error")
    last = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert last["message"] == "Hello?" and "notSubscribed" in json.loads(last["payload"])["delivery"]["error"]
    with dbmod.connection():
        assert Message.select().count() == 2


@responses.activate
def test_messaging_platforms_send_message(api, client, configured):
    post(client, message())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    responses.post(f"{API}/send_message", json=SENT)
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="Sent again") is True
    assert sent_json() == {**BASE, "type": "text", "text": "Sent again"}


@responses.activate
def test_the_command_sets_the_webhook(configured):
    from sbcore_viber.functions import set_webhook
    responses.post(f"{API}/set_webhook", json={"status": 0, "status_message": "ok", "event_types": [
        "delivered", "seen", "failed", "conversation_started"]})
    lines = []
    set_webhook(configured, report=lines.append)
    assert responses.calls[0].request.headers["X-Viber-Auth-Token"] == TOKEN
    assert sent_json() == {"url": "http://testserver/channels/viber", "send_name": True, "send_photo": False,
                           "event_types": ["delivered", "seen", "failed", "conversation_started"]}
    assert lines == ["http://testserver/channels/viber (ok; events: delivered, seen, failed, conversation_started)"]


def test_the_plugin_installs_and_uninstalls_on_its_own():
    assert collect_functions(get_plugin_manager(load_entrypoints=False, plugins=[plugin]))[
        "viber-send-message"].owner == "viber"
    assert "viber-send-message" not in collect_functions(get_plugin_manager(load_entrypoints=False))
    assert "viber-send-message" in collect_functions(get_plugin_manager(load_entrypoints=True))
