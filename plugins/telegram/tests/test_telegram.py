"""The Telegram plugin against a fake Bot API (responses), with the Update and Message
objects and the error bodies of the Bot API's documentation (core.telegram.org/bots/api)."""

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
from sbcore_telegram import plugin

API = "https://api.telegram.org"
TOKEN = "21202173:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OTHER_TOKEN = "55500011:AAFbQeXkT0ys2Wd7XyEb3pVqB6Rn9T4bX8m"
SECRET = "a-secret-token_123"
CHAT = 148766722

SENT = {"ok": True, "result": {
    "message_id": 2030, "from": {"id": 21202173, "is_bot": True, "first_name": "Support Board",
                                 "username": "sb_officialbot"},
    "chat": {"id": CHAT, "first_name": "Federico", "last_name": "Schiocchet", "username": "federicoschiocchet",
             "type": "private"}, "date": 1699621061, "text": "Hello!"}}
CHAT_NOT_FOUND = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
BLOCKED = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}


def update(message_id=1365, **content):
    message = {"message_id": message_id,
               "from": {"id": CHAT, "is_bot": False, "first_name": "Federico", "last_name": "Schiocchet",
                        "username": "federicoschiocchet", "language_code": "it"},
               "chat": {"id": CHAT, "first_name": "Federico", "last_name": "Schiocchet",
                        "username": "federicoschiocchet", "type": "private"},
               "date": 1699621000}
    message.update(content or {"text": "Ciao, ho bisogno di aiuto"})
    return {"update_id": 10000 + message_id, "message": message}


@pytest.fixture
def sbcore_plugins():
    return [plugin]


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("telegram-bots", [{"token": TOKEN, "secret-token": SECRET},
                                            {"token": OTHER_TOKEN, "secret-token": "other-secret"}])
    return core


@pytest.fixture
def client(app):
    return TestClient(app)


def post(client, body, secret=SECRET, bot="21202173"):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return client.simulate_post(f"/channels/telegram/{bot}", body=json.dumps(body).encode(), headers=headers)


def sent_json(index=-1):
    return json.loads(responses.calls[index].request.body)


# --- telegram-send-message ---


@responses.activate
def test_send_text_photo_and_document(api, configured):
    for method in ("sendMessage", "sendPhoto", "sendDocument"):
        responses.post(f"{API}/bot{TOKEN}/{method}", json=SENT)
    answer = api.ok("telegram-send-message", chat_id=str(CHAT), message="Hello!",
                    attachments=[["photo.png", "https://example.com/photo.png"],
                                 ["manual.pdf", "https://example.com/manual.pdf"]])
    assert [c.request.url for c in responses.calls] == [
        f"{API}/bot{TOKEN}/sendMessage", f"{API}/bot{TOKEN}/sendPhoto", f"{API}/bot{TOKEN}/sendDocument"]
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"
    assert [sent_json(i) for i in range(3)] == [
        {"chat_id": CHAT, "text": "Hello!"}, {"chat_id": CHAT, "photo": "https://example.com/photo.png"},
        {"chat_id": CHAT, "document": "https://example.com/manual.pdf"}]
    assert answer == SENT
    assert_shape(answer, reference_example("telegram-send-message"))


@responses.activate
def test_the_bot_of_a_conversation_and_a_base_url_override(api, client, configured):
    post(client, update(), secret="other-secret", bot="55500011")
    cid = api.ok("get-conversations")[0]["conversation_id"]
    configured.config = configured.config.replace(url_overrides={"telegram": "https://tg-proxy.example"})
    responses.post(f"https://tg-proxy.example/bot{OTHER_TOKEN}/sendMessage", json=SENT)
    api.ok("telegram-send-message", chat_id=str(CHAT), message="From the second bot", conversation_id=cid)
    assert responses.calls[0].request.url == f"https://tg-proxy.example/bot{OTHER_TOKEN}/sendMessage"
    missing = api.call("telegram-send-message", chat_id=str(CHAT), message="x", conversation_id=999999)
    assert (missing.status, missing.response) == (404, "conversation-not-found")


@responses.activate
def test_a_bot_api_error_is_a_502_without_the_token(api, configured):
    responses.post(f"{API}/bot{TOKEN}/sendMessage", json=CHAT_NOT_FOUND, status=400)
    result = api.call("telegram-send-message", chat_id="123", message="Hello!")
    assert (result.status, result.response) == (502, "telegram-error")
    assert "Bad Request: chat not found" in result.json["message"] and TOKEN not in result.json["message"]


@responses.activate
def test_a_2xx_that_is_not_json_is_a_502_without_the_token(api, configured):
    responses.post(f"{API}/bot{TOKEN}/sendMessage", body="<html>Bad gateway</html>", status=200)
    result = api.call("telegram-send-message", chat_id="123", message="Hello!")
    assert (result.status, result.response) == (502, "telegram-error")
    assert "without a JSON object" in result.json["message"] and TOKEN not in result.json["message"]


def test_not_configured_and_bad_arguments(api, core):
    result = api.call("telegram-send-message", chat_id=str(CHAT), message="Hello!")
    assert (result.status, result.response) == (400, "telegram-not-active")
    for fields in ({"chat_id": "12; DROP", "message": "x"}, {"chat_id": str(CHAT), "message": " "}):
        assert api.call("telegram-send-message", **fields).status == 400
    bad = api.call("save-settings", settings={"telegram-bots": [{"token": "not-a-token", "secret-token": "s"}]})
    assert (bad.status, bad.response) == (400, "invalid-setting-value")


# --- inbound ---


def test_a_message_reaches_the_inbox_once(api, client, configured):
    assert post(client, update()).status_code == 200
    assert post(client, update()).status_code == 200  # delivered again
    rows = api.ok("get-conversations")
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["extra"], row["message"]) == ("tg", str(CHAT), "Ciao, ho bisogno di aiuto")
    assert (row["conversation_first_name"], row["conversation_last_name"]) == ("Federico", "Schiocchet")
    details = {d["slug"]: d["value"] for d in api.ok("get-user", user_id=row["conversation_user_id"],
                                                       extra=True)["details"]}
    assert details == {"telegram-id": str(CHAT), "telegram-username": "federicoschiocchet", "language": "it"}
    post(client, update(1366, text="Ci sei?"))
    messages = api.ok("get-conversation", conversation_id=row["conversation_id"])["messages"]
    assert [m["message"] for m in messages] == ["Ciao, ho bisogno di aiuto", "Ci sei?"]


def test_a_request_failing_verification_changes_nothing(api, client, configured):
    assert post(client, update(), secret="wrong").status_code == 403
    assert post(client, update(), secret=None).status_code == 403
    assert post(client, update(), bot="99999999").status_code == 403  # not one of ours
    assert post(client, update(), secret="other-secret").status_code == 403  # another bot's secret
    assert api.ok("get-conversations") == []


def test_updates_without_a_message_are_acknowledged(api, client, configured):
    edited = {"update_id": 1, "edited_message": update()["message"]}
    assert post(client, edited).status_code == 200
    assert post(client, update(sticker={"file_id": "CAACAgI", "file_unique_id": "AgAD", "type": "regular",
                                        "width": 512, "height": 512, "is_animated": False,
                                        "is_video": False})).status_code == 200
    assert api.ok("get-conversations") == []


@responses.activate
def test_a_photo_is_downloaded_into_uploads(api, client, configured):
    responses.post(f"{API}/bot{TOKEN}/getFile", json={"ok": True, "result": {
        "file_id": "AgACAgQAAxkBAAIBZ2", "file_unique_id": "AQADBbkxG", "file_size": 71552,
        "file_path": "photos/file_7.jpg"}})
    responses.get(f"{API}/file/bot{TOKEN}/photos/file_7.jpg", body=b"\xff\xd8 photo",
                  headers={"Content-Type": "application/octet-stream"})
    photo = update(1400, caption="Questo è il problema", photo=[
        {"file_id": "AgACAgQAAxkBAAIBZ1", "file_unique_id": "AQADBbkxGx", "file_size": 1280, "width": 90, "height": 67},
        {"file_id": "AgACAgQAAxkBAAIBZ2", "file_unique_id": "AQADBbkxG", "file_size": 71552, "width": 800,
         "height": 600}])
    assert post(client, photo).status_code == 200
    assert sent_json(0) == {"file_id": "AgACAgQAAxkBAAIBZ2"}  # the largest size
    row = api.ok("get-conversations")[0]
    assert row["message"] == "Questo è il problema"
    [[name, url]] = json.loads(row["attachments"])
    assert name == "file_7.jpg"
    path = os.path.join(configured.config.uploads_dir, url.split("/uploads/", 1)[1])
    assert open(path, "rb").read() == b"\xff\xd8 photo"


# --- replies from the inbox ---


@responses.activate
def test_an_agent_reply_goes_to_the_chat(api, client, configured):
    post(client, update())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{API}/bot{TOKEN}/sendMessage", json=SENT)
    responses.post(f"{API}/bot{TOKEN}/sendDocument", json={**SENT, "result": {**SENT["result"], "message_id": 2031}})
    sent = api.ok("send-message", user_id=agent, conversation_id=cid, message="Come posso aiutarti?",
                  attachments=[["guide.pdf", "https://example.com/guide.pdf"]])
    assert [sent_json(i) for i in range(2)] == [{"chat_id": CHAT, "text": "Come posso aiutarti?"},
                                                {"chat_id": CHAT, "document": "https://example.com/guide.pdf"}]
    with dbmod.connection():
        keys = sorted(r.external_id for r in ChannelMessage.select().where(ChannelMessage.message == sent["message-id"]))
    assert keys == [f"21202173:{CHAT}:2030", f"21202173:{CHAT}:2031"]


@responses.activate
def test_a_failed_reply_is_a_502_and_stays_with_its_failure(api, client, configured):
    post(client, update())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    responses.post(f"{API}/bot{TOKEN}/sendMessage", json=BLOCKED, status=403)
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Ciao?")
    assert (result.status, result.response) == (502, "telegram-error")
    assert "Forbidden: bot was blocked by the user" in result.json["message"]
    last = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert last["message"] == "Ciao?" and json.loads(last["payload"])["delivery"]["code"] == "telegram-error"
    with dbmod.connection():
        assert Message.select().count() == 2


@responses.activate
def test_messaging_platforms_send_message_with_a_chat_id(api, client, configured):
    post(client, update())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    responses.post(f"{API}/bot{TOKEN}/sendMessage", json=SENT)
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="Altro",
                  source={"source": "tg", "chat_id": "777000"}) is True
    assert sent_json() == {"chat_id": 777000, "text": "Altro"}


@responses.activate
def test_the_command_sets_each_bots_webhook(configured):
    from sbcore_telegram.functions import set_webhooks
    for token in (TOKEN, OTHER_TOKEN):
        responses.post(f"{API}/bot{token}/setWebhook", json={"ok": True, "result": True,
                                                             "description": "Webhook was set"})
    lines = []
    set_webhooks(configured, report=lines.append)
    assert [sent_json(i) for i in range(2)] == [
        {"url": "http://testserver/channels/telegram/21202173", "secret_token": SECRET,
         "allowed_updates": ["message"]},
        {"url": "http://testserver/channels/telegram/55500011", "secret_token": "other-secret",
         "allowed_updates": ["message"]}]
    assert lines[0] == "bot 21202173: http://testserver/channels/telegram/21202173 (Webhook was set)"


def test_the_plugin_installs_and_uninstalls_on_its_own():
    assert collect_functions(get_plugin_manager(load_entrypoints=False, plugins=[plugin]))[
        "telegram-send-message"].owner == "sbcore_telegram.plugin"
    assert "telegram-send-message" not in collect_functions(get_plugin_manager(load_entrypoints=False))
    from sbcore.registry import collect_list
    commands = collect_list(get_plugin_manager(load_entrypoints=False, plugins=[plugin]), "sbcore_register_commands")
    assert "telegram-set-webhook" in [c[0] for c in commands]
