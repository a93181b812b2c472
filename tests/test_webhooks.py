"""Webhooks: body, signatures, retries, leases, restarts, the filter and the pull feed,
against a real receiver on loopback."""

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
import types

import pytest
from standardwebhooks import Webhook

from sbcore import db as dbmod
from sbcore import outbound, webhooks
from sbcore.core import Core
from sbcore.models import Event
from sbcore.testing import assert_shape, reference_webhook

KEY = "s3cret-key"


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # the receiver is on loopback


@pytest.fixture
def hooked(core, receiver):
    def configure(**extra):
        value = {"webhooks-active": True, "webhooks-url": receiver.url, "webhooks-key": KEY,
                 "webhooks-allowed": ""}
        value.update(extra)
        with dbmod.connection():
            core.settings.set("webhooks", value)
    configure()
    return configure


def deliver(core, owner="test"):
    return webhooks.deliver_pending(core, owner=owner)


def events_named(receiver, name):
    return [b for b in receiver.bodies() if b["function"] == name]


def test_body_and_signatures(api, core, hooked, receiver, visitor, open_conversation):
    cid = open_conversation(visitor, source="wa")
    mid = api.ok("send-message", user_id=visitor, conversation_id=cid, message="Hello! How are you?",
                 attachments=[["name", "https://example.com/image.png"]])["message-id"]
    assert deliver(core)[0] >= 1
    headers, raw = next((h, r) for h, r in receiver.requests if json.loads(r)["function"] == "message-sent")
    body = json.loads(raw)
    assert body == {"function": "message-sent", "key": KEY, "sender-url": "http://testserver", "data": {
        "user_id": str(visitor), "conversation_user_id": str(visitor), "conversation_id": str(cid),
        "conversation_status_code": "2", "conversation_source": "wa", "message_id": str(mid),
        "message": "Hello! How are you?", "attachments": [["name", "https://example.com/image.png"]]}}
    assert list(body) == ["function", "key", "sender-url", "data"]
    assert headers["X-SB-Event"] == "message-sent"
    assert headers["X-SB-Signature"] == "sha256=" + hmac.new(KEY.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["webhook-id"] == headers["X-SB-Delivery"]
    verified = Webhook(base64.b64encode(KEY.encode()).decode()).verify(raw, headers)
    assert verified == body
    with pytest.raises(Exception):
        Webhook(base64.b64encode(b"wrong").decode()).verify(raw, headers)


def test_the_eight_events_with_documented_payloads(api, core, hooked, receiver, visitor, agent,
                                                    open_conversation):
    user_id = api.ok("add-user", email="eve@example.com", password="pw-pw-pw")
    cid = open_conversation(visitor)
    first = api.ok("send-message", user_id=visitor, conversation_id=cid, message="Hi there!")["message-id"]
    api.ok("send-message", user_id=agent, conversation_id=cid, message="How are you?")
    api.ok("get-new-messages", conversation_id=cid, datetime=str(first))
    api.ok("update-conversation-status", conversation_id=cid, status_code=0)
    api.ok("delete-message", message_id=first)
    api.ok("direct-message", user_ids=[api.ok("add-user")], message="A conversation for you")
    api.ok("login", email="eve@example.com", password="pw-pw-pw")
    api.ok("delete-user", user_id=user_id)
    while deliver(core)[0]:
        pass
    for name in ("message-sent", "message-deleted", "new-messages", "new-conversation-created",
                 "new-conversation-received", "conversation-status-updated", "login", "user-deleted"):
        bodies = events_named(receiver, name)
        assert bodies, f"{name} was not delivered"
        assert_shape(bodies[-1]["data"], reference_webhook(name)["data"], path=name)
    assert events_named(receiver, "message-deleted")[0]["data"] == str(first)
    assert events_named(receiver, "user-deleted")[0]["data"] == str(user_id)
    assert events_named(receiver, "conversation-status-updated")[-1]["data"] == {
        "conversation_id": str(cid), "status_code": "0"}
    received = events_named(receiver, "new-conversation-received")
    assert len(received) == 1 and received[0]["data"]["messages"][0]["message"] == "A conversation for you"
    created = events_named(receiver, "new-conversation-created")
    assert created[0]["data"]["details"]["id"] == str(cid) and created[0]["data"]["messages"] == []
    assert events_named(receiver, "login")[0]["data"]["details"]["password"] == ""
    new = events_named(receiver, "new-messages")[0]["data"]
    assert [m["details"]["message"] for m in new["messages"]] == ["How are you?"]


def test_failed_call_writes_no_event(api, core, hooked, receiver, visitor, open_conversation):
    cid = open_conversation(visitor)
    assert api.call("send-message", user_id=visitor, conversation_id=cid, message="x",
                    conversation_status_code=9).status == 400
    with dbmod.connection():
        assert not Event.select().where(Event.name == "message-sent").exists()


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for the outbox (time.time stands still unless shifted), and backoff
    without its jitter (the slowest schedule), so that a retry's time is exact."""
    class Clock:
        now = time.time()

        def time(self):
            return self.now

        def shift(self, seconds):
            self.now += seconds
    fake = Clock()
    monkeypatch.setattr(webhooks, "time", types.SimpleNamespace(time=fake.time))  # only the outbox's clock
    monkeypatch.setattr(webhooks, "random", types.SimpleNamespace(uniform=lambda low, high: high))
    return fake


def test_retry_schedule_keeps_the_delivery_id(api, core, hooked, receiver, visitor, open_conversation,
                                              clock):
    hooked(**{"webhooks-allowed": "conversation-status-updated"})
    cid = open_conversation(visitor)
    receiver.statuses = [500, 503]
    api.ok("update-conversation-status", conversation_id=cid, status_code=3)
    assert deliver(core) == (0, 1)
    with dbmod.connection():
        event = Event.get(Event.name == "conversation-status-updated")
    assert event.attempts == 1 and event.status == "pending" and "HTTP 500" in event.last_error
    assert event.next_attempt == pytest.approx(clock.time() + 1, abs=0.001)  # the first retry: 1 s
    assert deliver(core) == (0, 0)  # not due yet
    clock.shift(1.01)
    assert deliver(core) == (0, 1)
    with dbmod.connection():
        event = Event.get_by_id(event.id)
    assert event.attempts == 2 and event.next_attempt == pytest.approx(clock.time() + 2, abs=0.001)
    with dbmod.connection():
        Event.update(next_attempt=0).where(Event.id == event.id).execute()
    assert deliver(core) == (1, 0)
    ids = [h["X-SB-Delivery"] for h, _ in receiver.requests]
    assert len(ids) == 3 and len(set(ids)) == 1


def test_backoff_grows_to_an_hour_and_parks_after_a_day(api, core, hooked, receiver, visitor,
                                                         open_conversation):
    assert [round(webhooks.backoff(n) / 2 ** (n - 1), 1) >= 0.5 for n in range(1, 8)] == [True] * 7
    assert all(webhooks.backoff(n) <= 3600 for n in range(1, 60))
    assert webhooks.backoff(40) >= 1800
    for jitter in (0.5, 1.0):  # the fastest and the slowest schedule backoff can draw
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(webhooks, "random", types.SimpleNamespace(
                uniform=lambda low, high: low if jitter == 0.5 else high))
            waited, attempts = 0.0, 0
            while waited < webhooks.RETRY_FOR:
                attempts += 1
                waited += webhooks.backoff(attempts)
        assert 24 < attempts < 60, (jitter, attempts)  # tens of attempts over the day, not thousands
    hooked(**{"webhooks-allowed": "conversation-status-updated"})
    cid = open_conversation(visitor)
    api.ok("update-conversation-status", conversation_id=cid, status_code=4)
    receiver.statuses = [500]
    with dbmod.connection():
        Event.update(created_ts=time.time() - 24 * 3600 - 1).execute()
    deliver(core)
    with dbmod.connection():
        assert Event.get(Event.name == "conversation-status-updated").status == "failed"


def test_timeout_and_refused_connection_are_retried(api, core, hooked, receiver, monkeypatch,
                                                    visitor, open_conversation):
    monkeypatch.setattr(webhooks, "TIMEOUT", 0.3)
    receiver.delay = 0.6
    hooked(**{"webhooks-allowed": "conversation-status-updated"})
    cid = open_conversation(visitor)
    api.ok("update-conversation-status", conversation_id=cid, status_code=0)
    assert deliver(core) == (0, 1)
    with dbmod.connection():
        assert "Timeout" in Event.get(Event.name == "conversation-status-updated").last_error
    receiver.delay = 0
    import socket
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    hooked(**{"webhooks-url": f"http://127.0.0.1:{port}/nothing-listens",
              "webhooks-allowed": "conversation-status-updated"})
    with dbmod.connection():
        Event.update(next_attempt=0).execute()
    assert deliver(core) == (0, 1)
    with dbmod.connection():
        event = Event.get(Event.name == "conversation-status-updated")
    assert "ConnectionError" in event.last_error and event.status == "pending" and event.attempts == 2


def test_two_workers_never_send_the_same_delivery(api, core, hooked, receiver, visitor):
    with dbmod.connection(), core.database.atomic():
        ctx = core.context()
        ctx.emit_many("user-deleted", [str(i) for i in range(60)])
    receiver.delay = 0.02
    results = []

    def work(owner):
        results.append(webhooks.deliver_pending(core, owner=owner, limit=20))

    for _ in range(4):
        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    ids = [h["X-SB-Delivery"] for h, _ in receiver.requests]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert sum(r[0] for r in results) == 60


def test_nothing_is_lost_across_a_restart(api, core, hooked, receiver, sb_config, pm, visitor,
                                          open_conversation):
    cid = open_conversation(visitor)
    api.ok("update-conversation-status", conversation_id=cid, status_code=3)
    core.close()  # the process ends before its worker ran
    restarted = Core(sb_config, pm=pm)
    try:
        assert webhooks.deliver_pending(restarted)[0] >= 1
    finally:
        restarted.close()
    assert events_named(receiver, "conversation-status-updated")


def test_allowed_events_filter(api, core, hooked, receiver, visitor, open_conversation):
    hooked(**{"webhooks-allowed": "message-sent, user-deleted"})
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hi")
    while deliver(core)[0]:
        pass
    assert {b["function"] for b in receiver.bodies()} == {"message-sent"}
    with dbmod.connection():
        skipped = {e.name for e in Event.select().where(Event.status == "skipped")}
    assert {"new-conversation-created", "conversation-status-updated"} <= skipped


def test_inactive_webhooks_send_nothing(api, core, hooked, receiver, visitor):
    hooked(**{"webhooks-active": False})
    api.ok("delete-user", user_id=visitor)
    assert deliver(core) == (0, 0) and receiver.requests == []


def test_pull_feed(api, core, visitor, open_conversation):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="one")
    api.ok("delete-user", user_id=api.ok("add-user"))
    page = api.ok("get-events", limit=2)
    assert [e["function"] for e in page["events"]] == ["new-conversation-created",
                                                       "conversation-status-updated"]
    assert all("key" not in e and e["sender-url"] == "http://testserver" for e in page["events"])
    rest = api.ok("get-events", after=page["next"])
    assert [e["function"] for e in rest["events"]] == ["message-sent", "user-deleted"]
    assert api.ok("get-events", after=rest["next"]) == {"events": [], "next": rest["next"]}
    assert api.call("get-events", after="abc").status == 400
    assert api.call("get-events", limit=0).status == 400


def test_the_commit_wakes_the_inline_worker(api, core, hooked, receiver, visitor):
    """Delivered at once after the commit, not at the worker's next tick: with a tick of
    ten minutes, only the commit's signal can have woken it (15 s is a generous bound
    for a loaded machine, not a measurement; bench/ measures delivery time)."""
    from sbcore.worker import start_inline
    stop = start_inline(core, tick=600)
    try:
        time.sleep(0.5)  # the first tick, which runs the due jobs, is over
        started = time.time()
        api.ok("delete-user", user_id=visitor)
        while not events_named(receiver, "user-deleted") and time.time() - started < 15:
            time.sleep(0.01)
        assert events_named(receiver, "user-deleted")
    finally:
        stop.set()
        core.outbox_signal.set()  # wake it from its ten-minute wait to see the stop
        stop.thread.join()


def test_operators_list_and_replay(api, core, hooked, receiver, visitor, open_conversation, capsys):
    cid = open_conversation(visitor)
    receiver.statuses = [500] * 10
    api.ok("update-conversation-status", conversation_id=cid, status_code=3)
    with dbmod.connection():
        Event.update(created_ts=time.time() - 25 * 3600).execute()
    while deliver(core)[0]:
        pass
    deliver(core)
    args = lambda **kw: argparse.Namespace(**{"action": "list", "id": None, "failed": False,  # noqa
                                              "limit": 50, **kw})
    assert webhooks.cli(core, args(failed=True)) == 0
    listing = capsys.readouterr().out
    assert "failed" in listing and "conversation-status-updated" in listing
    receiver.statuses = []
    assert webhooks.cli(core, args(action="replay", failed=True)) == 0
    assert "queued again" in capsys.readouterr().out
    while deliver(core)[0]:
        pass
    with dbmod.connection():
        assert not Event.select().where(Event.status == "failed").exists()
        event = Event.get(Event.name == "new-conversation-created")
    assert webhooks.cli(core, args(action="replay", id=event.id)) == 0
    before = len(events_named(receiver, "new-conversation-created"))
    deliver(core)
    assert len(events_named(receiver, "new-conversation-created")) == before + 1


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://10.1.2.3/", "http://[::1]/",
                                 "http://169.254.169.254/latest", "http://localhost:8000/",
                                 "file:///etc/passwd", "ftp://example.com/", "gopher://x/",
                                 "http://user:pw@example.com/", "http://0.0.0.0/", "http:///nohost"])
def test_outbound_guard_refuses_private_and_odd_urls(url):
    from sbcore.config import Config
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(Config(), url)


def test_outbound_guard_allows_public_and_opt_in_private():
    from sbcore.config import Config
    assert outbound.public_address("93.184.216.34") and not outbound.public_address("192.168.1.1")
    assert not outbound.public_address("::ffff:127.0.0.1")
    assert outbound.check_url(Config(allow_private_network=True), "http://127.0.0.1:9/x")


def test_a_refused_webhook_url_is_retried_not_sent(api, core, receiver, visitor):
    with dbmod.connection():
        core.settings.set("webhooks", {"webhooks-active": True, "webhooks-url": "http://10.0.0.1/h",
                                       "webhooks-key": KEY, "webhooks-allowed": ""})
    core.config = core.config.replace(allow_private_network=False)
    api.ok("delete-user", user_id=visitor)
    assert deliver(core) == (0, 1)
    with dbmod.connection():
        assert Event.get(Event.name == "user-deleted").last_error.startswith("refused")


def test_backlog_goes_out_soon_after_the_receiver_returns(api, core, hooked, receiver):
    with dbmod.connection(), core.database.atomic():
        core.context().emit_many("user-deleted", [str(i) for i in range(30)])
        # an outage: every event has failed many times and waits out a long backoff
        Event.update(attempts=12, next_attempt=time.time() + 3000).execute()
    receiver.statuses = [500]
    with dbmod.connection(), core.database.atomic():
        core.context().emit("user-deleted", "probe-fails")
    assert deliver(core) == (0, 1)
    with dbmod.connection():
        oldest = Event.select().order_by(Event.id).first()
    assert oldest.next_attempt <= time.time() + webhooks.PROBE_EVERY  # it probes every minute
    with dbmod.connection(), core.database.atomic():
        core.context().emit("user-deleted", "after-return")
    assert deliver(core) == (1, 0)  # the receiver is back
    assert webhooks.deliver_pending(core, limit=100)[0] == 31  # the whole backlog is due at once


def test_dns_rebinding_is_refused_at_the_connection(receiver, monkeypatch):
    """A name that resolves to a public address when the URL is checked and to a private
    one when the connection is made (DNS rebinding) reaches nothing."""
    import socket as socketmod

    from sbcore.config import Config
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    real = socketmod.getaddrinfo
    answers = iter([[(socketmod.AF_INET, socketmod.SOCK_STREAM, 6, "", ("93.184.216.34", port))]])

    def rebinding(host, *args, **kwargs):  # public for the check, then loopback for good
        if host == "rebind.example":
            return next(answers, real("127.0.0.1", port, *args[1:], **kwargs))
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socketmod, "getaddrinfo", rebinding)
    with pytest.raises(outbound.OutboundRefused, match="connected to the private address 127.0.0.1"):
        outbound.request(Config(), "POST", f"http://rebind.example:{port}/hook", data=b"{}")
    assert receiver.requests == []
    # the same through a session made for outbound calls (webhook delivery uses one)
    answers = iter([[(socketmod.AF_INET, socketmod.SOCK_STREAM, 6, "", ("93.184.216.34", port))]])
    with pytest.raises(outbound.OutboundRefused):
        outbound.request(Config(), "GET", f"http://rebind.example:{port}/",
                         session=outbound.new_session(Config()))
    assert receiver.requests == []
    # with private networks allowed, the same loopback receiver is reached
    assert outbound.request(Config(allow_private_network=True), "POST", receiver.url,
                            data=b"{}").status_code == 200
