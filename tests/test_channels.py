"""sbcore.channels: what the messaging-platform plugins share (inbound store, media,
signatures, routes) and send-message's after-commit routing to a channel."""

import hashlib
import hmac
import json
import os
import threading

import pytest
import responses

from sbcore import ApiError, channels, hookimpl
from sbcore import db as dbmod
from sbcore.models import ChannelMessage, ChannelUser, Conversation, Message


class Viber:
    """A channel plugin owning the source ``vb``, with an inbound route."""

    def __init__(self):
        self.sent = []
        self.fail = None
        self.answer = True

    @hookimpl
    def sbcore_channel_send(self, ctx, conversation, message, attachments):
        if conversation.source != "vb":
            return None
        # what a network call would see: no transaction open, the message committed
        in_transaction = dbmod.database.in_transaction()
        stored = [m.message for m in Message.select().where(Message.conversation == conversation.id)]
        self.sent.append((conversation.id, message, attachments, in_transaction, stored))
        if self.fail:
            raise self.fail
        return self.answer

    @hookimpl
    def sbcore_register_routes(self, core):
        plugin = self

        class Handler:
            def get(self, request):
                return channels.Answer(200, request.params.get("echo", ""))

            def post(self, request):
                if request.headers.get("x-secret") != "s":
                    raise ApiError("forbidden", "wrong secret", 403)
                body = request.json()
                plugin.sent.append(("inbound", body, request.path))
                return channels.Answer(200, json.dumps({"ok": True}), "application/json")

        class PostOnly:
            def post(self, request):
                return channels.Answer(202, "accepted")

        return [channels.route("/channels/viber/{account}", Handler()),
                channels.route("/channels/post-only", PostOnly())]


@pytest.fixture
def viber():
    return Viber()


@pytest.fixture
def sbcore_plugins(viber):
    return [viber]


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # responses fakes the network


def contact(external_id="4915100000", **fields):
    return channels.Contact(source="wa", external_id=external_id, first_name="Maria", last_name="Rossi",
                            details=[("phone", "+" + external_id, "Phone")], **fields)


# --- verification ---


def test_meta_signature_is_the_hmac_of_the_raw_body():
    body = b'{"object":"page"}'
    good = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert channels.verify_meta_signature("app-secret", body, good)
    assert channels.verify_meta_signature("app-secret", body, good.upper().replace("SHA256=", "sha256="))
    assert not channels.verify_meta_signature("app-secret", body + b" ", good)
    assert not channels.verify_meta_signature("other-secret", body, good)
    assert not channels.verify_meta_signature("app-secret", body, good[len("sha256="):])
    assert not channels.verify_meta_signature("app-secret", body, None)
    assert not channels.verify_meta_signature("", body, "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest())


def test_verify_secret_needs_a_configured_secret():
    assert channels.verify_secret("token", "token")
    assert not channels.verify_secret("token", "tokem")
    assert not channels.verify_secret("", "")
    assert not channels.verify_secret("token", None)
    request = channels.Request("GET", {"hub.mode": "subscribe", "hub.verify_token": "vt",
                                       "hub.challenge": "1158201444"}, {}, b"")
    assert channels.meta_handshake(request, "vt") == channels.Answer(200, "1158201444")
    assert channels.meta_handshake(request, "other").status == 403
    assert channels.meta_handshake(request, "").status == 403


# --- inbound ---


def test_receive_creates_the_user_and_conversation_once(api, core):
    incoming = channels.Incoming(contact(), "wamid.ONE", "Hello!", extra="106540352242922")
    first = channels.receive(core, incoming)
    assert first
    rows = api.ok("get-conversations")
    assert len(rows) == 1 and rows[0]["source"] == "wa" and rows[0]["extra"] == "106540352242922"
    assert rows[0]["message"] == "Hello!" and rows[0]["conversation_status_code"] == "2"
    assert (rows[0]["conversation_first_name"], rows[0]["conversation_last_name"]) == ("Maria", "Rossi")
    assert rows[0]["conversation_user_type"] == "lead"
    user = api.ok("get-user", user_id=rows[0]["conversation_user_id"], extra=True)
    assert {"slug": "phone", "name": "Phone", "value": "+4915100000"} in user["details"]
    # the same platform message again: nothing new
    assert channels.receive(core, incoming) is None
    # the next message of the same user and number: the same conversation
    second = channels.receive(core, channels.Incoming(contact(), "wamid.TWO", "Still there?",
                                                      extra="106540352242922"))
    messages = api.ok("get-conversation", conversation_id=rows[0]["conversation_id"])["messages"]
    assert [m["message"] for m in messages] == ["Hello!", "Still there?"]
    assert [int(m["id"]) for m in messages] == [first, second]
    with dbmod.connection():
        assert ChannelUser.select().count() == 1 and ChannelMessage.select().count() == 2


def test_long_ids_and_names_fit_their_columns(api, core):
    long_id = "aWdfZAG1faXRlbToxOklH" * 15  # 315 characters
    person = channels.Contact("ig", "5483962191718324", "N" * 300, "", [("instagram-id", "5483962191718324",
                                                                        "Instagram ID")])
    assert channels.receive(core, channels.Incoming(person, long_id, "hi"))
    assert channels.receive(core, channels.Incoming(person, long_id, "hi")) is None
    row = api.ok("get-conversations")[0]
    assert row["conversation_first_name"] == "N" * 191
    with dbmod.connection():
        assert ChannelMessage.get().external_id == channels.key(long_id) and len(channels.key(long_id)) <= 191
        assert channels.message_id_of("ig", long_id) == int(row["message_id"])


def test_receive_opens_a_new_conversation_per_chat_and_after_the_trash(api, core):
    a = channels.receive(core, channels.Incoming(contact(), "m1", "to number A", extra="A"))
    b = channels.receive(core, channels.Incoming(contact(), "m2", "to number B", extra="B"))
    with dbmod.connection():
        ca, cb = (Message.get_by_id(i).conversation_id for i in (a, b))
    assert ca != cb
    api.ok("update-conversation-status", conversation_id=ca, status_code=3)  # archived: reopened
    c = channels.receive(core, channels.Incoming(contact(), "m3", "again A", extra="A"))
    api.ok("update-conversation-status", conversation_id=ca, status_code=4)  # trashed: a new one
    d = channels.receive(core, channels.Incoming(contact(), "m4", "after trash", extra="A"))
    with dbmod.connection():
        assert Message.get_by_id(c).conversation_id == ca
        assert Conversation.get_by_id(ca).status_code == 4
        assert Message.get_by_id(d).conversation_id not in (ca, cb)


def test_concurrent_deliveries_store_one_message(core, tmp_path):
    incoming = channels.Incoming(contact("777"), "wamid.RACE", "once")
    results, errors = [], []
    barrier = threading.Barrier(4)

    def deliver():
        try:
            barrier.wait()
            results.append(channels.receive(core, incoming))
        except Exception as error:  # pragma: no cover - shown in the assertion
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len([r for r in results if r]) == 1 and results.count(None) == 3
    with dbmod.connection():
        assert Message.select().count() == 1 and ChannelUser.select().count() == 1


def test_concurrent_messages_of_one_user_open_one_conversation(api, core):
    first = channels.receive(core, channels.Incoming(contact("888"), "wamid.FIRST", "first"))
    with dbmod.connection():
        trashed = Message.get_by_id(first).conversation_id
    api.ok("update-conversation-status", conversation_id=trashed, status_code=4)
    barrier, errors = threading.Barrier(4), []

    def deliver(index):
        try:
            barrier.wait()
            channels.receive(core, channels.Incoming(contact("888"), f"wamid.{index}", f"message {index}"))
        except Exception as error:  # pragma: no cover - shown in the assertion
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with dbmod.connection():
        opened = {m.conversation_id for m in Message.select().where(Message.id != first)}
        assert len(opened) == 1 and trashed not in opened
        assert Message.select().where(Message.conversation.in_(list(opened))).count() == 4


def test_a_failed_store_leaves_nothing(core):
    uploaded = os.path.join(core.config.uploads_dir, "channels", "x.png")
    os.makedirs(os.path.dirname(uploaded))
    open(uploaded, "wb").write(b"png")
    bad = channels.Incoming(contact(), "m-bad", "text",
                            attachments=[["x.png", core.config.upload_url("channels/x.png")]],
                            payload="not an object")
    with pytest.raises(ApiError):
        channels.receive(core, bad)
    with dbmod.connection():
        assert Message.select().count() == 0 and ChannelMessage.select().count() == 0
        assert ChannelUser.select().count() == 0
    assert not os.path.exists(uploaded)


@responses.activate
def test_download_brings_media_into_uploads(core):
    responses.get("https://lookaside.example/media/1", body=b"\x89PNG data",
                  headers={"Content-Type": "image/png"})
    with dbmod.connection():
        name, url = channels.download(core, "https://lookaside.example/media/1",
                                      headers={"Authorization": "Bearer t"})
    assert responses.calls[0].request.headers["Authorization"] == "Bearer t"
    assert name == "image.png" and url.startswith("http://testserver/uploads/channels/")
    with open(os.path.join(core.config.uploads_dir, url.split("/uploads/", 1)[1]), "rb") as handle:
        assert handle.read() == b"\x89PNG data"


@responses.activate
def test_download_refuses_what_it_should(core, monkeypatch):
    responses.get("https://cdn.example/page.html", body=b"<script>", headers={"Content-Type": "text/html"})
    responses.get("https://cdn.example/big.pdf", body=b"x" * 2000)
    responses.get("https://cdn.example/gone.pdf", status=404)
    monkeypatch.setattr(channels, "MEDIA_MAX_BYTES", 1000)
    with dbmod.connection():
        for url, why in (("https://cdn.example/page.html", "not allowed"),
                         ("https://cdn.example/big.pdf", "larger than"),
                         ("https://cdn.example/gone.pdf", "HTTP 404"),
                         ("file:///etc/passwd", "only http")):
            with pytest.raises(channels.MediaError, match=why):
                channels.download(core, url)
    folder = os.path.join(core.config.uploads_dir, "channels")
    assert not os.path.isdir(folder) or not any(files for _, _, files in os.walk(folder))


def test_download_goes_through_the_outbound_guard(core):
    core.config = core.config.replace(allow_private_network=False)
    with dbmod.connection(), pytest.raises(channels.MediaError, match="private address"):
        channels.download(core, "http://127.0.0.1:9/file.pdf")


# --- outbound: send-message after the commit ---


def test_an_agent_reply_goes_out_after_the_commit(api, viber, visitor, agent, open_conversation):
    cid = open_conversation(visitor, source="vb")
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="from the user")
    assert viber.sent == []  # the user's own message is not sent back to them
    viber.answer = ["viber-token-1", "viber-token-2"]
    answer = api.ok("send-message", user_id=agent, conversation_id=cid, message="Hi!",
                    attachments=[["a.pdf", "https://example.com/a.pdf"]])
    assert viber.sent == [(cid, "Hi!", [["a.pdf", "https://example.com/a.pdf"]], False,
                           ["from the user", "Hi!"])]
    with dbmod.connection():
        assert sorted(r.external_id for r in ChannelMessage.select().where(
            ChannelMessage.message == answer["message-id"])) == ["viber-token-1", "viber-token-2"]
    # a web chat and a ticket are not handed to any channel
    web = open_conversation(visitor)
    api.ok("send-message", user_id=agent, conversation_id=web, message="web")
    assert len(viber.sent) == 1


def test_a_platform_failure_is_a_502_and_the_message_stays(api, viber, visitor, agent, open_conversation):
    cid = open_conversation(visitor, source="vb")
    viber.fail = ApiError("viber-error", "Viber answered 400: receiver is not subscribed", 502)
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Are you there?")
    assert (result.status, result.response) == (502, "viber-error")
    assert result.json["message"] == "Viber answered 400: receiver is not subscribed"
    message = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert message["message"] == "Are you there?"
    assert json.loads(message["payload"]) == {"delivery": {
        "status": "failed", "code": "viber-error", "error": "Viber answered 400: receiver is not subscribed"}}


def test_a_source_no_plugin_owns_keeps_the_message(api, visitor, agent, open_conversation):
    cid = open_conversation(visitor, source="ln")
    assert api.ok("send-message", user_id=agent, conversation_id=cid, message="stored")["message"] == "stored"
    assert api.ok("get-conversation", conversation_id=cid)["messages"][-1]["payload"] == ""


def test_messaging_platforms_send_message_runs_outside_a_transaction(api, viber, visitor, open_conversation):
    cid = open_conversation(visitor, source="vb")
    viber.answer = {"platform": "answer"}
    assert api.ok("messaging-platforms-send-message", conversation_id=cid, message="hello") is True
    assert viber.sent[-1][:4] == (cid, "hello", [], False)
    viber.fail = ApiError("viber-error", "down", 502)
    result = api.call("messaging-platforms-send-message", conversation_id=cid, message="x")
    assert (result.status, result.response) == (502, "viber-error")


def test_after_commit_errors_still_answer(core):
    ran = []

    def work(ctx):
        ctx.after_commit(lambda: ran.append(dbmod.database.in_transaction()))
        ctx.after_commit(lambda: (_ for _ in ()).throw(ApiError("late", "after the commit", 502)))
        ctx.after_commit(lambda: ran.append("still runs"))
        return "value"

    with pytest.raises(ApiError, match="after the commit"):
        core.run(work)
    assert ran == [False, "still runs"]
    assert core.run(lambda ctx: "plain") == "plain"


# --- routes ---


def test_a_channel_route_without_falcon(app):
    from falcon.testing import TestClient
    client = TestClient(app)
    assert client.simulate_get("/channels/viber/acme", params={"echo": "hi"}).text == "hi"
    answer = client.simulate_post("/channels/viber/acme", body=b'{"a": 1}', headers={"X-Secret": "s"})
    assert answer.status_code == 200 and answer.json == {"ok": True}
    assert client.simulate_post("/channels/viber/acme", body=b'{"a": 1}').status_code == 403
    assert client.simulate_post("/channels/viber/acme", body=b"[1]", headers={"X-Secret": "s"}).status_code == 400
    assert client.simulate_get("/channels/post-only").status_code == 405
    assert client.simulate_post("/channels/post-only").status_code == 202
    too_big = b"x" * (channels.REQUEST_MAX_BYTES + 1)
    assert client.simulate_post("/channels/viber/acme", body=too_big, headers={"X-Secret": "s"}).status_code == 413


def test_a_plugin_exception_is_the_services_502_and_the_failure_stays(api, viber, visitor, agent,
                                                                      open_conversation):
    cid = open_conversation(visitor, source="vb")
    viber.fail = RuntimeError("the SDK broke")
    result = api.call("send-message", user_id=agent, conversation_id=cid, message="Still there?")
    assert (result.status, result.response) == (502, "viber-error")
    assert "RuntimeError" in result.json["message"] and "SDK" not in result.json["message"]
    message = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert message["message"] == "Still there?"
    assert json.loads(message["payload"])["delivery"]["code"] == "viber-error"
    result = api.call("messaging-platforms-send-message", conversation_id=cid, message="again")
    assert (result.status, result.response) == (502, "viber-error")


def test_messaging_platforms_send_message_on_a_ticket_emails_its_user_or_says_why(
        api, core, visitor, open_conversation):
    cid = open_conversation(visitor, source="tk")
    result = api.call("messaging-platforms-send-message", conversation_id=cid, message="About your ticket")
    assert (result.status, result.response) == (400, "email-not-configured")
