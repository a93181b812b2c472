"""Realtime: stream events written with the change, published after its commit, read
by /widget/events and /admin/events, resumed with Last-Event-ID."""

import json
import socket
import threading
import uuid
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore.errors import ApiError
from sbcore.models import StreamEvent, StreamTicket
from sbcore.realtime import Hub, LocalBroker, RedisBroker
from sbcore.realtime import events as realtime_events
from sbcore.web import create_app
from sbcore.web.admin import session as S


def parse(body):
    """SSE text to a list of (id, kind, data)."""
    events = []
    for block in body.split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "event" in fields:
            events.append((int(fields["id"]) if "id" in fields else None, fields["event"],
                           json.loads(fields["data"])))
    return events


@pytest.fixture
def quick_app(core):
    """The app with streams that end at once, after their replay."""
    return create_app(core=core, start_worker=False,
                      stream_options={"heartbeat": 0.05, "max_seconds": 0})


def get_stream(app, path="/widget/events", cookie=None, last=None, headers=None, **params):
    headers = dict(headers or {})
    if cookie:
        headers["Authorization"] = f"Bearer {cookie}"
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    return TestClient(app).simulate_get(path, headers=headers, params=params)


@pytest.fixture
def chat(api, widget):
    """A visitor with a conversation, and an agent."""
    widget.register(first_name="Vera")
    conversation_id = int(widget.ok("new-conversation")["details"]["id"])
    agent_id = int(api.ok("add-user", first_name="Al", last_name="Gent", email="al@example.com",
                          user_type="agent"))
    return widget, conversation_id, agent_id


def test_an_agent_reply_is_replayed_to_its_visitor_only(quick_app, api, chat):
    widget, conversation_id, agent_id = chat
    other = widget.new(first_name="Otto")
    other.ok("new-conversation")
    answer = api.ok("send-message", user_id=agent_id, conversation_id=conversation_id,
                    message="Hello Vera")
    result = get_stream(quick_app, cookie=widget.cookie, last=0)
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/event-stream")
    messages = [data for _, kind, data in parse(result.text) if kind == "message"]
    assert [m["message"] for m in messages] == ["Hello Vera"]
    assert messages[0]["id"] == str(answer["message-id"]) and messages[0]["first_name"] == "Al"
    # the agents-only kinds (a new conversation) never reach a visitor
    assert {kind for _, kind, _ in parse(result.text)} <= {"message", "status", "typing"}
    assert not [e for e in parse(get_stream(quick_app, cookie=other.cookie, last=0).text)
                if e[1] == "message"]


def test_last_event_id_resumes_after_what_the_reader_had(quick_app, api, chat):
    widget, conversation_id, agent_id = chat
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="one")
    first = parse(get_stream(quick_app, cookie=widget.cookie, last=0).text)
    last_id = first[-1][0]
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="two")
    # events older than the late-commit window are not sent again
    with dbmod.connection():
        StreamEvent.update(created_ts=StreamEvent.created_ts - 3600).where(
            StreamEvent.id <= last_id).execute()
    resumed = parse(get_stream(quick_app, cookie=widget.cookie, last=last_id).text)
    assert [d["message"] for _, k, d in resumed if k == "message"] == ["two"]
    assert all(event_id > last_id for event_id, _, _ in resumed)


def test_a_late_commit_below_the_last_id_is_replayed(quick_app, api, chat):
    """Ids are handed out before commit: a lower id may commit after a higher one was
    read. A reconnect replays the recent ones below Last-Event-ID too."""
    widget, conversation_id, agent_id = chat
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="early")
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="late")
    events = [e for e in parse(get_stream(quick_app, cookie=widget.cookie, last=0).text)
              if e[1] == "message"]
    resumed = parse(get_stream(quick_app, cookie=widget.cookie, last=events[-1][0]).text)
    assert "early" in [d["message"] for _, k, d in resumed if k == "message"]


def test_stream_credentials(quick_app, api, chat, admin_token):
    widget, _, _ = chat
    assert get_stream(quick_app).status_code == 401
    assert get_stream(quick_app, cookie="nope").status_code == 401
    refused = get_stream(quick_app, **{"login-cookie": widget.cookie})
    assert refused.status_code == 400 and refused.json["response"] == "credentials-in-url"
    assert get_stream(quick_app, cookie=widget.cookie, last="12x").status_code == 400
    # the admin stream takes the admin token, not a visitor's cookie
    assert get_stream(quick_app, "/admin/events", cookie=widget.cookie).status_code == 401
    assert get_stream(quick_app, "/admin/events", cookie=admin_token).status_code == 200
    assert get_stream(quick_app, "/admin/events", token=admin_token).status_code == 400


def test_a_ticket_opens_one_stream_once(quick_app, api, chat):
    widget, conversation_id, agent_id = chat
    ticket = widget.ok("stream-ticket")["ticket"]
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="by ticket")
    first = get_stream(quick_app, ticket=ticket, last_event_id=0)
    assert first.status_code == 200
    assert "by ticket" in [d["message"] for _, k, d in parse(first.text) if k == "message"]
    assert get_stream(quick_app, ticket=ticket).status_code == 401
    with dbmod.connection():
        assert StreamTicket.select().count() == 0
        expired = realtime_events.issue_ticket(1, now=0)["ticket"]
    assert get_stream(quick_app, ticket=expired).status_code == 401


def test_admin_stream_sees_every_conversation_and_agent_only_kinds(quick_app, api, chat,
                                                                   admin_token):
    widget, conversation_id, agent_id = chat
    widget.ok("send-message", conversation_id=conversation_id, message="Help")
    widget.ok("set-typing", conversation_id=conversation_id)
    api.ok("update-conversation-agent", conversation_id=conversation_id, agent_id=agent_id)
    api.ok("update-conversation-status", conversation_id=conversation_id, status_code=3)
    kinds = [k for _, k, _ in parse(get_stream(quick_app, "/admin/events", cookie=admin_token,
                                               last=0).text)]
    assert {"conversation", "message", "typing", "assignment", "status"} <= set(kinds)
    visitor_kinds = {k for _, k, _ in parse(get_stream(quick_app, cookie=widget.cookie, last=0).text)}
    assert "status" in visitor_kinds and "assignment" not in visitor_kinds
    # the visitor's own typing is there (its own conversation), the agent's reads it too
    typing = [d for _, k, d in parse(get_stream(quick_app, cookie=widget.cookie, last=0).text)
              if k == "typing"]
    assert typing and typing[0]["user_type"] in ("visitor", "user", "lead")


def workspace_cookie(app, email, password):
    """The workspace session cookie of a sign-in through the form at /admin."""
    result = TestClient(app).simulate_post(
        "/admin/sign-in", body=f"email={email}&password={password}", params_csv=False,
        content_type="application/x-www-form-urlencoded")
    assert result.status_code == 303
    return {"Cookie": f"{S.COOKIE}={result.cookies[S.COOKIE].value}"}


def stream_messages(app, headers):
    return [(data["conversation_id"], data["message"]) for _, kind, data in
            parse(get_stream(app, "/admin/events", last=0, headers=headers).text) if kind == "message"]


def two_departments(api, chat):
    """The chat's conversation in department 1, another visitor's in department 2, and
    Dee, an agent of department 1."""
    widget, conversation_id, _ = chat
    other = widget.new(first_name="Otto")
    other_id = int(other.ok("new-conversation")["details"]["id"])
    api.ok("update-conversation-department", conversation_id=conversation_id, department=1)
    api.ok("update-conversation-department", conversation_id=other_id, department=2)
    api.ok("add-user", first_name="Dee", email="dee@example.com", password="dee-password",
           user_type="agent", department=1)
    return widget, conversation_id, other, other_id


def test_an_agent_of_a_department_sees_only_its_conversations(quick_app, api, chat, admin_token):
    widget, conversation_id, other, other_id = two_departments(api, chat)
    api.ok("add-user", first_name="Ann", email="ann@example.com", password="ann-password",
           user_type="admin", department=2)
    api.ok("add-user", first_name="Ned", email="ned@example.com", password="ned-password",
           user_type="agent")
    widget.ok("send-message", conversation_id=conversation_id, message="for one")
    other.ok("send-message", conversation_id=other_id, message="for two")
    both = {(str(conversation_id), "for one"), (str(other_id), "for two")}
    dee = workspace_cookie(quick_app, "dee@example.com", "dee-password")
    assert stream_messages(quick_app, dee) == [(str(conversation_id), "for one")]
    # admins (even one with a department) and agents without one see every conversation
    assert set(stream_messages(quick_app, workspace_cookie(quick_app, "ann@example.com",
                                                           "ann-password"))) == both
    assert set(stream_messages(quick_app, workspace_cookie(quick_app, "ned@example.com",
                                                           "ned-password"))) == both
    assert set(stream_messages(quick_app, {"Authorization": f"Bearer {admin_token}"})) == both
    # typing and status of department 2 stay out too; a move out of department 1 is told,
    # and what follows it is not
    other.ok("set-typing", conversation_id=other_id)
    api.ok("update-conversation-status", conversation_id=other_id, status_code=3)
    api.ok("update-conversation-department", conversation_id=conversation_id, department=2)
    widget.ok("send-message", conversation_id=conversation_id, message="after the move")
    seen = parse(get_stream(quick_app, "/admin/events", last=0, headers=dee).text)
    assert {data.get("conversation_id") for _, kind, data in seen if kind != "presence"} == \
        {str(conversation_id)}
    assert [d["department"] for _, k, d in seen if k == "assignment"] == ["1", "2"]
    assert "after the move" not in [d["message"] for _, k, d in seen if k == "message"]


def test_a_department_agent_live_stream_leaves_out_other_departments(core, api, chat):
    """Live events (not the replay) go through the same filter."""
    widget, conversation_id, other, other_id = two_departments(api, chat)
    app = create_app(core=core, start_worker=False, stream_options={"heartbeat": 0.05})
    headers = workspace_cookie(app, "dee@example.com", "dee-password")
    httpd, base = serve(app)
    messages = []
    try:
        with requests.get(f"{base}/admin/events", headers=headers, stream=True,
                          timeout=20) as response:
            assert response.status_code == 200
            chunks = response.iter_content(chunk_size=1)
            assert read_events(chunks, lambda kind, data: False, limit=1) is None  # subscribed
            other.ok("send-message", conversation_id=other_id, message="for two")
            widget.ok("send-message", conversation_id=conversation_id, message="for one")
            read_events(chunks, lambda kind, data: kind == "message" and messages.append(
                data["message"]) is None and data["message"] == "for one")
    finally:
        httpd.shutdown()
    assert messages == ["for one"]


class Recorder:
    def __init__(self):
        self.published = []

    def start(self, deliver):
        pass

    def publish(self, events):
        self.published.append(list(events))

    def stop(self):
        pass


def test_events_are_published_after_commit_and_never_for_a_failed_call(core, api, chat):
    widget, conversation_id, agent_id = chat
    recorder = Recorder()
    core.realtime = Hub(recorder)
    seen_in_transaction = []

    def failing(ctx):
        from sbcore.models import Conversation
        conversation = Conversation.get_by_id(conversation_id)
        realtime_events.record(ctx, "status", {"x": 1}, conversation.user_id, conversation_id)
        seen_in_transaction.append(len(recorder.published))
        raise ApiError("boom", "fails after writing", 400)

    with pytest.raises(ApiError):
        core.run(failing)
    assert recorder.published == [] and seen_in_transaction == [0]
    with dbmod.connection():
        assert not StreamEvent.select().where(StreamEvent.kind == "status").exists()
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="ok")
    assert [e["kind"] for batch in recorder.published for e in batch] == ["message"]


def test_the_tail_delivers_once_and_waits_for_gaps(core):
    hub = Hub(LocalBroker())
    hub.started = True  # no threads: tail_once by hand
    hub.cursor = 0
    reader = hub.subscribe(user_id=7)
    agent = hub.subscribe(agent=True)

    def add(row_id, user_id=7):
        with dbmod.connection():
            StreamEvent.insert(id=row_id, created_ts=0, kind="message", user_id=user_id,
                               data="{}").execute()

    add(1)
    add(3)
    add(4, user_id=8)
    assert hub.tail_once(now=100) == 3
    assert [reader.get(0)["id"], reader.get(0)["id"], reader.get(0)] == [1, 3, None]
    assert sorted(hub.gaps) == [2]
    hub.dispatch([{"id": 3, "kind": "message", "audience": "all", "user_id": 7,
                   "conversation_id": None, "data": "{}"}])  # the broker's copy: once only
    assert reader.get(0) is None
    add(2)  # committed late
    assert hub.tail_once(now=101) == 1
    assert reader.get(0)["id"] == 2 and hub.gaps == {}
    assert [agent.get(0)["id"] for _ in range(4)] == [1, 3, 4, 2]
    add(6)
    hub.tail_once(now=102)
    assert 5 in hub.gaps
    hub.tail_once(now=102 + Hub.LATE_SECONDS + 1)  # a rolled-back id is awaited no longer
    assert hub.gaps == {}
    hub.unsubscribe(reader)
    hub.unsubscribe(agent)
    assert hub.readers() == 0


# --- live streams over HTTP ---


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve(app):
    httpd = make_server("127.0.0.1", 0, app, server_class=ThreadingServer,
                        handler_class=QuietHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def read_events(chunks, wanted, limit=50):
    """Read SSE blocks from a streaming response's bytes (one iterator, kept) until ``wanted`` (a predicate on
    (kind, data)) holds, ``limit`` blocks pass, or the stream ends."""
    buffer = ""
    seen = 0
    for chunk in chunks:
        buffer += chunk.decode("utf-8", "replace")
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            seen += 1
            for event in parse(block + "\n\n"):
                if wanted(event[1], event[2]):
                    return event
            if seen >= limit:
                return None
    return None


def live_reply_reaches_stream(app, api_url, token, widget, conversation_id, agent_id):
    with requests.get(f"{api_url}/widget/events", stream=True, timeout=20,
                      headers={"Authorization": f"Bearer {widget.cookie}"}) as response:
        assert response.status_code == 200
        chunks = response.iter_content(chunk_size=1)  # as it comes: events are small
        # subscribed once ": ready" is read: what is sent from now on arrives
        assert read_events(chunks, lambda kind, data: False, limit=1) is None
        sent = requests.post(f"{api_url}/api", timeout=20, headers={"Authorization": f"Bearer {token}"},
                             json={"function": "send-message", "user_id": agent_id,
                                   "conversation_id": conversation_id, "message": "live"}).json()
        assert sent["success"], sent
        event = read_events(chunks, lambda kind, data: kind == "message")
    assert event is not None and event[2]["message"] == "live"
    assert event[2]["id"] == str(sent["response"]["message-id"])


def test_a_live_stream_gets_the_reply_in_process(core, api, chat, admin_token):
    widget, conversation_id, agent_id = chat
    app = create_app(core=core, start_worker=False,
                     stream_options={"heartbeat": 0.5, "max_seconds": 20})
    httpd, url = serve(app)
    try:
        live_reply_reaches_stream(app, url, admin_token, widget, conversation_id, agent_id)
    finally:
        httpd.shutdown()
        httpd.server_close()


def redis_url():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("SKIPPED: Redis is not reachable on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/0"


def test_redis_carries_events_between_hubs(core, api, chat, admin_token):
    """Two cores (two hosts) on one database: the reader's hub hears the writer's hub
    through Redis pub/sub, long before the read of the table would."""
    import redis
    widget, conversation_id, agent_id = chat
    channel = f"sbcore-test-{uuid.uuid4().hex}:events"
    client = redis.Redis.from_url(redis_url())
    writer_hub = Hub(RedisBroker(client, channel=channel), tail_every=3600)
    reader_hub = Hub(RedisBroker(client, channel=channel), tail_every=3600)
    core.realtime = writer_hub
    reader = reader_hub.subscribe(user_id=int(widget.user["id"]))
    try:
        for _ in range(100):  # the subscription is asynchronous: wait for it
            if client.pubsub_numsub(channel)[0][1]:
                break
            threading.Event().wait(0.05)
        answer = api.ok("send-message", user_id=agent_id, conversation_id=conversation_id,
                        message="over redis")
        event = reader.get(10)
        assert event is not None and event["kind"] == "message"
        assert json.loads(event["data"])["id"] == str(answer["message-id"])
    finally:
        reader_hub.close()
        writer_hub.close()


def test_the_widget_is_told_where_streams_are_served(core, app):
    """Without SB_EVENTS_URL the widget polls: `sbcore serve` alone never has its request
    workers held by streams. With it, /widget.js and /chat's CSP name it."""
    from sbcore.config import Config
    assert Config.from_env(environ={}, env_file=None).events_url == ""
    assert Config.from_env(environ={"SB_EVENTS_URL": "https://ev.example/"},
                           env_file=None).events_url == "https://ev.example"
    client = TestClient(app)
    assert '"events_url":null' in client.simulate_get("/widget.js").text.split("\n", 1)[0]
    core.config = core.config.replace(events_url="https://ev.example")
    assert '"events_url":"https://ev.example"' in client.simulate_get("/widget.js").text.split("\n", 1)[0]
    assert "https://ev.example" in client.simulate_get("/chat").headers["content-security-policy"]


def test_the_workspace_streams_only_where_an_events_server_is(core, app, admin_token):
    """The workspace page opens /admin/events (same origin: the proxy sends it to the
    events server) only with SB_EVENTS_URL, like the widget; else it polls."""
    cookie = workspace_cookie(app, "admin@example.com", "admin-password")
    client = TestClient(app)
    assert 'data-events="off"' in client.simulate_get("/admin", headers=cookie).text
    core.config = core.config.replace(events_url="https://ev.example")
    assert 'data-events="on"' in client.simulate_get("/admin", headers=cookie).text


def test_the_stream_queries_use_indexes(ctx):
    """The replay (per visitor and for agents), its floor and the read of the table are
    index searches, never scans of sb_stream_events."""
    import time as clock

    from sbcore.models.realtime import AUDIENCE_ALL
    if dbmod.kind() != "sqlite":
        pytest.skip("plans are checked on SQLite")
    queries = [
        StreamEvent.select().where((StreamEvent.id > 5) & (StreamEvent.user_id == 3)
                                   & (StreamEvent.audience == AUDIENCE_ALL)).order_by(StreamEvent.id),
        StreamEvent.select().where(StreamEvent.id > 5).order_by(StreamEvent.id),
        StreamEvent.select(StreamEvent.id).where(StreamEvent.created_ts > clock.time() - 30)
        .order_by(StreamEvent.created_ts),
        StreamEvent.select().where(StreamEvent.id.in_([2, 3])),
    ]
    for query in queries:
        sql, params = query.sql()
        plan = " ".join(str(row[-1]) for row in
                        dbmod.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
        assert "SCAN" not in plan and "USING" in plan, (sql, plan)


def test_a_reader_behind_the_kept_events_starts_afresh(quick_app, api, chat):
    widget, conversation_id, agent_id = chat
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="kept")
    with dbmod.connection():
        realtime_events.prune(None)  # nothing is a day old yet
        assert StreamEvent.select().count() > 0
        first = StreamEvent.select().order_by(StreamEvent.id).first().id
    assert "event: reset" not in get_stream(quick_app, cookie=widget.cookie, last=first - 1).text
    with dbmod.connection():
        StreamEvent.update(created_ts=0).execute()
        realtime_events.prune(None)
        assert StreamEvent.select().count() == 0
    assert "event: reset" in get_stream(quick_app, cookie=widget.cookie, last=first).text


def test_an_open_stream_keeps_its_visitor_online(core, app, chat):
    from datetime import timedelta

    from sbcore.models import User
    from sbcore.web.events import PresenceKeeper
    widget, _, _ = chat
    user_id = int(widget.user["id"])
    other = widget.new(first_name="Gone")
    with dbmod.connection():
        User.update(last_activity=dbmod.utcnow() - timedelta(days=1)).execute()
        assert not core.presence.is_online(user_id, 30)
    reader = core.realtime.subscribe(user_id=user_id)
    try:
        PresenceKeeper(core).touch()
    finally:
        core.realtime.unsubscribe(reader)
    with dbmod.connection():
        assert core.presence.is_online(user_id, 30)
        assert not core.presence.is_online(int(other.user["id"]), 30)


def test_redis_presence_touches_many_at_once(core, chat):
    import redis

    from sbcore.models import User
    from sbcore.presence import RedisPresence
    widget, _, _ = chat
    user_id = int(widget.user["id"])
    client = redis.Redis.from_url(redis_url())
    presence = RedisPresence(client, prefix=f"sbcore-test-{uuid.uuid4().hex}:")
    try:
        with dbmod.connection():
            User.update(last_activity="2000-01-01 00:00:00").where(User.id == user_id).execute()
            presence.touch_many([user_id])
            assert presence.is_online(user_id, 30)
            assert str(User.get_by_id(user_id).last_activity) > "2001"  # once a minute
    finally:
        for key in client.scan_iter(presence.prefix + "*"):
            client.delete(key)
