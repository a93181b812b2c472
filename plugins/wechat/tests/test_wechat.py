"""The WeChat plugin against a fake Official Account API (responses), with the XML
messages, answers and error bodies of WeChat's documentation (access token, customer
service messages, temporary media, receiving messages)."""

import hashlib
import json
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore.db import utcnow
from sbcore.models import Message
from sbcore.plugins import get_plugin_manager
from sbcore.registry import collect_functions
from sbcore.testing import reference_example
from sbcore_wechat.plugin import channel as plugin
from sbcore_wechat.models import WechatToken

API = "https://api.weixin.qq.com"
APP_ID = "wx1234567890abcdef"
APP_SECRET = "a7c2f1e0b3d4c5b6a7f8e9d0c1b2a3f4"
SERVER_TOKEN = "sb-wechat-token"
OPEN_ID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
ACCESS_TOKEN = "82_Xa0lMcNkG6e7WOp4ZzFeXq"

OK = {"errcode": 0, "errmsg": "ok"}
OUT_OF_TIME = {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled hint: "
                                           "[ZE1Uxa0498age8]"}
EXPIRED = {"errcode": 42001, "errmsg": "access_token expired rid: 6571a1b2-1c2d3e4f-5a6b7c8d"}


def xml(msg_type="text", msg_id="1234567890123456", **fields):
    fields = fields or {"Content": "你好, I need help"}
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (f"<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[{OPEN_ID}]]>"
            f"</FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{inner}"
            + (f"<MsgId>{msg_id}</MsgId>" if msg_id else "") + "</xml>").encode()


def signed(token=SERVER_TOKEN, timestamp=None, nonce=None):
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = secrets.token_hex(4) if nonce is None else nonce
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("wechat-app-id", APP_ID)
        core.settings.set("wechat-app-secret", APP_SECRET)
        core.settings.set("wechat-token", SERVER_TOKEN)
    return core


@pytest.fixture
def client(app):
    return TestClient(app)


def post(client, body, params=None):
    return client.simulate_post("/channels/wechat", body=body, params=signed() if params is None else params,
                                headers={"Content-Type": "text/xml"})


def query(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def token_answer(token=ACCESS_TOKEN):
    responses.get(f"{API}/cgi-bin/token", json={"access_token": token, "expires_in": 7200})


def sends():
    return [c for c in responses.calls if urlsplit(c.request.url).path == "/cgi-bin/message/custom/send"]


# --- wechat-send-message ---


@responses.activate
def test_send_text_with_a_new_access_token_then_the_cached_one(api, configured):
    token_answer()
    responses.post(f"{API}/cgi-bin/message/custom/send", json=OK)
    answer = api.ok("wechat-send-message", open_id=OPEN_ID, message="你好! Hello")
    assert query(responses.calls[0]) == {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
    [send] = sends()
    assert query(send) == {"access_token": ACCESS_TOKEN}
    assert send.request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert send.request.body == '{"touser": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "msgtype": "text", "text": ' \
                                '{"content": "你好! Hello"}}'.encode()  # UTF-8, not \\u escapes
    assert answer == [OK, ACCESS_TOKEN]
    example = reference_example("wechat-send-message")
    assert isinstance(example, list) and len(answer) == len(example) and isinstance(answer[1], str)
    api.ok("wechat-send-message", open_id=OPEN_ID, message="Again")
    assert len([c for c in responses.calls if "/cgi-bin/token" in c.request.url]) == 1  # cached
    with dbmod.connection():
        assert WechatToken.get_by_id(APP_ID).expires_at > utcnow() + timedelta(seconds=7000)


@responses.activate
def test_an_expired_token_is_renewed_once(api, configured):
    with dbmod.connection():
        WechatToken.create(app_id=APP_ID, access_token="old-token", expires_at=utcnow() + timedelta(hours=1))
    token_answer("new-token")
    responses.post(f"{API}/cgi-bin/message/custom/send", json=EXPIRED)
    responses.post(f"{API}/cgi-bin/message/custom/send", json=OK)
    assert api.ok("wechat-send-message", open_id=OPEN_ID, message="Hi")[1] == "new-token"
    assert [query(c)["access_token"] for c in sends()] == ["old-token", "new-token"]
    with dbmod.connection():
        assert WechatToken.get_by_id(APP_ID).access_token == "new-token"


@responses.activate
def test_the_callers_token_is_used_and_given_back(app, api, configured):
    responses.post(f"{API}/cgi-bin/message/custom/send", json=OK)
    result = TestClient(app).simulate_post("/api", headers={"Authorization": f"Bearer {api.token}"}, json={
        "function": "wechat-send-message", "open_id": OPEN_ID, "message": "Hi", "token": "callers-token"})
    assert result.json == {"success": True, "response": [OK, "callers-token"]}
    assert [query(c)["access_token"] for c in responses.calls] == ["callers-token"]


@responses.activate
def test_an_image_is_uploaded_and_a_file_sent_as_its_link(api, configured):
    token_answer()
    responses.get("https://example.com/photo.png", body=b"\x89PNG image", headers={"Content-Type": "image/png"})
    responses.post(f"{API}/cgi-bin/media/upload", json={"type": "image", "media_id": "UqVf_mJoqsJxs_gQxqas-8yK",
                                                        "created_at": 1700000000})
    responses.post(f"{API}/cgi-bin/message/custom/send", json=OK)
    api.ok("wechat-send-message", open_id=OPEN_ID, attachments=[["photo.png", "https://example.com/photo.png"],
                                                                ["manual.pdf", "https://example.com/manual.pdf"]])
    upload = next(c for c in responses.calls if "/media/upload" in c.request.url)
    assert query(upload) == {"type": "image", "access_token": ACCESS_TOKEN}
    assert b'name="media"; filename="photo.png"' in upload.request.body and b"\x89PNG image" in upload.request.body
    assert [json.loads(c.request.body) for c in sends()] == [
        {"touser": OPEN_ID, "msgtype": "image", "image": {"media_id": "UqVf_mJoqsJxs_gQxqas-8yK"}},
        {"touser": OPEN_ID, "msgtype": "text", "text": {"content": "manual.pdf: https://example.com/manual.pdf"}}]


@responses.activate
def test_wechat_errors_are_502s_without_secrets(api, configured):
    responses.get(f"{API}/cgi-bin/token", json={"errcode": 40125, "errmsg": "invalid appsecret rid: 65"})
    result = api.call("wechat-send-message", open_id=OPEN_ID, message="Hi")
    assert (result.status, result.response) == (502, "wechat-error")
    assert "(40125) invalid appsecret" in result.json["message"] and APP_SECRET not in result.json["message"]
    responses.replace(responses.GET, f"{API}/cgi-bin/token", json={"access_token": ACCESS_TOKEN, "expires_in": 7200})
    responses.post(f"{API}/cgi-bin/message/custom/send", json=OUT_OF_TIME)
    result = api.call("wechat-send-message", open_id=OPEN_ID, message="Hi")
    assert (result.status, result.response) == (502, "wechat-error")
    assert "(45015) response out of time limit" in result.json["message"]
    assert ACCESS_TOKEN not in result.json["message"]


def test_not_configured_and_bad_arguments(api, core):
    result = api.call("wechat-send-message", open_id=OPEN_ID, message="Hi")
    assert (result.status, result.response) == (400, "wechat-not-active")
    for fields in ({"open_id": "o'; DROP", "message": "x"}, {"open_id": OPEN_ID, "message": " "},
                   {"open_id": OPEN_ID, "attachments": [["a", "ftp://x"]]}):
        assert api.call("wechat-send-message", **fields).status == 400


# --- inbound ---


def test_the_server_check(client, configured):
    ok = client.simulate_get("/channels/wechat", params={**signed(), "echostr": "6409512148853413427"})
    assert (ok.status_code, ok.text) == (200, "6409512148853413427")
    wrong = client.simulate_get("/channels/wechat", params={**signed("another"), "echostr": "1"})
    assert wrong.status_code == 403


def test_a_message_reaches_the_inbox_once(api, client, configured):
    answer = post(client, xml())
    assert (answer.status_code, answer.text) == (200, "success")
    assert post(client, xml()).status_code == 200  # WeChat retries after 5 seconds
    rows = api.ok("get-conversations")
    assert len(rows) == 1
    assert (rows[0]["source"], rows[0]["message"]) == ("wc", "你好, I need help")
    details = api.ok("get-user", user_id=rows[0]["conversation_user_id"], extra=True)["details"]
    assert {"slug": "wechat-id", "name": "WeChat OpenID", "value": OPEN_ID} in details
    post(client, xml("location", "1234567890123457", Location_X="23.134521", Location_Y="113.358803",
                     Scale="20", Label="Guangzhou Tower"))
    messages = api.ok("get-conversation", conversation_id=rows[0]["conversation_id"])["messages"]
    assert messages[-1]["message"] == "Guangzhou Tower https://maps.google.com/?q=23.134521,113.358803"


def test_a_request_failing_verification_changes_nothing(api, client, configured):
    assert post(client, xml(), params=signed("not-the-token")).status_code == 403
    assert post(client, xml(), params={}).status_code == 403
    assert api.ok("get-conversations") == []


def test_old_timestamps_and_reused_nonces_are_refused(api, client, configured):
    stale = signed(timestamp=str(int(time.time()) - 301))
    assert post(client, xml(), params=stale).status_code == 403
    ahead = signed(timestamp=str(int(time.time()) + 301))
    assert post(client, xml(), params=ahead).status_code == 403
    assert client.simulate_get("/channels/wechat", params={**stale, "echostr": "1"}).status_code == 403
    assert api.ok("get-conversations") == []
    once = signed()
    assert post(client, xml(), params=once).status_code == 200
    replay = post(client, xml(msg_id="1234567890123999", Content="replayed"), params=once)
    assert replay.status_code == 403
    rows = api.ok("get-conversations")
    assert len(rows) == 1 and rows[0]["message"] != "replayed"


def test_without_a_token_every_request_is_refused(api, client, core):
    assert post(client, xml(), params=signed("")).status_code == 403
    assert client.simulate_get("/channels/wechat", params={**signed(""), "echostr": "1"}).status_code == 403


def test_entities_and_bad_xml_are_refused(api, client, configured):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<xml><FromUserName>x</FromUserName><MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>")
    external = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<xml><FromUserName>x</FromUserName><MsgType>text</MsgType><Content>&e;</Content>"
                b"<MsgId>2</MsgId></xml>")
    for body in (bomb, external, b"<xml><unclosed></xml>", b"not xml"):
        assert post(client, body).status_code == 400
    assert api.ok("get-conversations") == []


def test_events_are_acknowledged(api, client, configured):
    assert post(client, xml("event", None, Event="subscribe")).status_code == 200
    assert api.ok("get-conversations") == []


@responses.activate
def test_an_image_and_a_voice_message_are_downloaded(api, client, configured):
    token_answer()
    responses.get("https://mmbiz.qpic.cn/mmbiz_jpg/abc/0", body=b"\xff\xd8 photo", headers={"Content-Type": "image/jpeg"})
    responses.get(f"{API}/cgi-bin/media/get", body=b"#!AMR voice", headers={"Content-Type": "audio/mpeg"})
    post(client, xml("image", "22", PicUrl="https://mmbiz.qpic.cn/mmbiz_jpg/abc/0", MediaId="media_id_1"))
    post(client, xml("voice", "23", MediaId="media_id_2", Format="amr", Recognition="hello"))
    media_get = next(c for c in responses.calls if "/media/get" in c.request.url)
    assert query(media_get) == {"access_token": ACCESS_TOKEN, "media_id": "media_id_2"}
    messages = api.ok("get-conversation", conversation_id=api.ok("get-conversations")[0]["conversation_id"])["messages"]
    assert json.loads(messages[0]["attachments"])[0][0] == "image.jpg"
    assert messages[1]["message"] == "hello" and json.loads(messages[1]["attachments"])[0][0] == "audio.mp3"


@responses.activate
def test_a_media_error_body_is_not_stored_as_a_file(api, client, configured):
    token_answer()
    responses.get(f"{API}/cgi-bin/media/get", json={"errcode": 40007, "errmsg": "invalid media_id"})
    post(client, xml("video", "24", MediaId="gone", ThumbMediaId="t"))
    row = api.ok("get-conversations")[0]
    assert row["attachments"] == "" and "json" in row["payload"]["media_error"]  # get-conversations decodes it, as 3.8
    assert ACCESS_TOKEN not in row["payload"]


# --- replies from the inbox ---


@responses.activate
def test_an_agent_reply_goes_to_wechat(api, client, configured):
    post(client, xml())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    token_answer()
    responses.post(f"{API}/cgi-bin/message/custom/send", json=OK)
    api.ok("send-message", user_id=agent, conversation_id=cid, message="How can I help?")
    assert json.loads(sends()[0].request.body) == {"touser": OPEN_ID, "msgtype": "text",
                                                    "text": {"content": "How can I help?"}}


@responses.activate
def test_a_failed_reply_is_a_502_and_stays_with_its_failure(api, client, configured):
    post(client, xml())
    cid = api.ok("get-conversations")[0]["conversation_id"]
    agent = api.ok("add-user", first_name="Bruce", user_type="agent", email="bruce@example.com")
    token_answer()
    responses.post(f"{API}/cgi-bin/message/custom/send", json=OUT_OF_TIME)
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Hello?")
    assert (result.status, result.response) == (502, "wechat-error")
    last = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert last["message"] == "Hello?" and "45015" in json.loads(last["payload"])["delivery"]["error"]
    with dbmod.connection():
        assert Message.select().count() == 2


def test_the_plugin_installs_and_uninstalls_on_its_own():
    assert collect_functions(get_plugin_manager(load_entrypoints=False, plugins=[plugin]))[
        "wechat-send-message"].owner == "wechat"
    assert "wechat-send-message" not in collect_functions(get_plugin_manager(load_entrypoints=False))
    assert "wechat-send-message" in collect_functions(get_plugin_manager(load_entrypoints=True))
