"""Every hook is exercised: routes, commands, jobs, models, events; the worker's leases."""

import threading
import time
import types

import falcon
import pytest

from sbcore import db as dbmod
from sbcore import hookimpl
from sbcore.cli import build_parser
from sbcore.core import Core
from sbcore.errors import StartupError
from sbcore.models import JobRun
from sbcore.plugins import get_plugin_manager
from sbcore.registry import collect_list
from sbcore.worker import Job, claim, release, run_due_jobs, start_inline


class Recorder:
    """A plugin that records every event and adds a route, a command and a job."""

    def __init__(self):
        self.events = []
        self.job_runs = 0

    @hookimpl
    def sbcore_on_user_created(self, ctx, user):
        self.events.append(("created", user.id))

    @hookimpl
    def sbcore_on_user_updated(self, ctx, user):
        self.events.append(("updated", user.id, user.first_name))

    @hookimpl
    def sbcore_on_users_deleted(self, ctx, user_ids):
        from sbcore.models import User
        # runs before the rows go, inside the same transaction
        self.events.append(("deleted", sorted(user_ids),
                            User.select().where(User.id.in_(user_ids)).count()))

    @hookimpl
    def sbcore_on_login(self, ctx, user):
        self.events.append(("login", user.id))

    @hookimpl
    def sbcore_on_conversation_created(self, ctx, conversation):
        self.events.append(("conversation", conversation.id))

    @hookimpl
    def sbcore_on_conversation_updated(self, ctx, conversation, changes):
        self.events.append(("conversation-updated", conversation.id, changes))

    @hookimpl
    def sbcore_on_message_sent(self, ctx, message, conversation):
        self.events.append(("message", message.id, conversation.status_code))

    @hookimpl
    def sbcore_on_message_updated(self, ctx, message):
        self.events.append(("message-updated", message.id, message.message))

    @hookimpl
    def sbcore_on_message_deleted(self, ctx, message):
        from sbcore.models import Message
        self.events.append(("message-deleted", message.id,
                            Message.select().where(Message.id == message.id).exists()))

    @hookimpl
    def sbcore_register_routes(self):
        class Ping:
            def on_post(self, req, resp):
                resp.media = {"pong": req.get_media()}
        return [("/hooks/recorder", Ping())]

    @hookimpl
    def sbcore_register_commands(self):
        return [("recorder-hello", "say hello", lambda parser: parser.add_argument("--name"),
                 lambda core, args: print(f"hello {args.name}"))]

    @hookimpl
    def sbcore_register_jobs(self):
        def tick(ctx):
            self.job_runs += 1
        return [Job("recorder-tick", 3600, tick)]


RECORDER = Recorder()


@pytest.fixture
def sbcore_plugins():
    RECORDER.events.clear()
    RECORDER.job_runs = 0
    return [RECORDER]


def test_user_events(api):
    user_id = api.ok("add-user", email="ev@example.com", password="pw-pw-pw")
    api.ok("update-user", user_id=user_id, first_name="Eve")
    api.ok("update-user-to-lead", user_id=user_id)
    api.ok("login", email="ev@example.com", password="pw-pw-pw")
    api.ok("delete-user", user_id=user_id)
    events = [e for e in RECORDER.events if e[0] != "created" or e[1] == user_id]
    assert events == [("created", user_id), ("updated", user_id, "Eve"), ("updated", user_id, "Eve"),
                      ("login", user_id), ("deleted", [user_id], 1)]


def test_conversation_and_message_events(api):
    user_id = api.ok("add-user")
    cid = int(api.ok("new-conversation", user_id=user_id)["details"]["id"])
    mid = api.ok("send-message", user_id=user_id, conversation_id=cid, message="hi")["message-id"]
    api.ok("send-message", user_id=user_id, conversation_id=cid, message="again")
    api.ok("update-message", message_id=mid, message="hello")
    api.ok("update-conversation-status", conversation_id=cid, status_code=3)
    api.ok("update-conversation-agent", conversation_id=cid, agent_id=False)
    api.ok("delete-message", message_id=mid)
    events = [e for e in RECORDER.events if e[0] not in ("created",)]
    assert events == [
        ("conversation", cid),
        ("conversation-updated", cid, {"status_code": 2}), ("message", mid, 2),
        ("message", mid + 1, 2),
        ("message-updated", mid, "hello"),
        ("conversation-updated", cid, {"status_code": 3}),
        ("conversation-updated", cid, {"agent_id": None}),
        ("message-deleted", mid, False)]


def test_event_handler_failure_rolls_back_the_call(api, core, snapshot):
    class Failing:
        @hookimpl
        def sbcore_on_user_created(self, ctx, user):
            raise RuntimeError("subscriber broke")
    core.pm.register(Failing())
    before = snapshot()
    assert api.call("add-user", first_name="Nope").status == 500
    assert snapshot() == before


def test_plugin_route(api):
    result = api.client.simulate_post("/hooks/recorder", json={"a": 1})
    assert result.json == {"pong": {"a": 1}}


def test_plugin_command(pm, capsys):
    from sbcore.cli import CORE_COMMANDS
    commands = CORE_COMMANDS + collect_list(pm, "sbcore_register_commands", key=lambda c: c[0])
    parser, handlers = build_parser(commands)
    args = parser.parse_args(["recorder-hello", "--name", "Ann"])
    handlers[args.command](None, args)
    assert capsys.readouterr().out == "hello Ann\n"


def test_jobs_run_when_due_and_only_once_per_interval(core):
    assert "recorder-tick" in run_due_jobs(core)
    assert RECORDER.job_runs == 1
    assert "recorder-tick" not in run_due_jobs(core)
    assert RECORDER.job_runs == 1
    with dbmod.connection():
        JobRun.update(last_run="2000-01-01 00:00:00").where(JobRun.name == "recorder-tick").execute()
    assert "recorder-tick" in run_due_jobs(core)
    assert RECORDER.job_runs == 2


def test_a_job_lease_is_held_by_one_worker(core):
    job = Job("leased", 0, lambda ctx: None, lease=60)
    with dbmod.connection():
        now = time.time()
        assert claim(job, now, owner="a") == "a"
        assert claim(job, now, owner="b") is None
        assert claim(job, now, owner="c", force=True) is None  # force skips the interval, not a lease
        assert claim(job, now + 61, owner="b") == "b"  # an expired lease is taken over
        release(job, "a")  # the run that lost its lease cannot free the one that took it over
        assert JobRun.get(JobRun.name == "leased").lease_owner == "b"
        release(job, "b")
        row = JobRun.get(JobRun.name == "leased")
        assert (row.lease_owner, row.lease_until) == ("", 0) and row.last_run is not None


def test_a_forced_run_never_overlaps_a_running_one(core):
    runs = []

    class Jobs:
        @hookimpl
        def sbcore_register_jobs(self):
            return [Job("slow-one", 3600, lambda ctx: runs.append(1))]
    core.pm.register(Jobs())
    with dbmod.connection():
        owner = claim(Job("slow-one", 3600, None), time.time())
    assert "slow-one" not in run_due_jobs(core, force=True)
    assert runs == []
    with dbmod.connection():
        assert JobRun.get(JobRun.name == "slow-one").lease_owner == owner  # still the running one's
        release(Job("slow-one", 3600, None), owner)
    assert "slow-one" in run_due_jobs(core, force=True)  # forced: the interval does not count
    assert runs == [1]


def test_a_job_just_run_by_another_worker_is_not_run_again(core, monkeypatch):
    """Worker b read the job's row (never run, lease free) just before worker a ran it
    and released the lease: b must not run it a second time (two hosts did)."""
    job = Job("hourly", 3600, lambda ctx: None)
    with dbmod.connection():
        now = time.time()
        assert claim(job, now, owner="a") == "a"
        JobRun.update(last_run=dbmod.utcnow(), lease_until=0, lease_owner="").where(
            JobRun.name == "hourly").execute()  # a finished
        stale = JobRun(name="hourly", last_run=None, lease_until=0, lease_owner="")
        monkeypatch.setattr(JobRun, "get_or_none", classmethod(lambda cls, *args: stale))
        monkeypatch.setattr(JobRun, "get", classmethod(lambda cls, *args: stale))
        assert claim(job, now + 1, owner="b") is None


def test_a_failing_job_does_not_stop_the_others(core):
    ran = []

    class Jobs:
        @hookimpl
        def sbcore_register_jobs(self):
            return [Job("a-broken", 0, lambda ctx: 1 / 0), Job("z-fine", 0, lambda ctx: ran.append(1))]
    core.pm.register(Jobs())
    done = run_due_jobs(core)
    assert "z-fine" in done and "a-broken" not in done and ran == [1]


def test_inline_worker_thread_runs_jobs(core):
    stop = start_inline(core)
    try:
        deadline = time.time() + 10
        while RECORDER.job_runs == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert RECORDER.job_runs == 1
        assert any(t.name == "sbcore-worker" for t in threading.enumerate())
    finally:
        stop.set()
        stop.thread.join()


def test_a_model_without_migration_stops_init(sb_config):
    import peewee as pw

    from sbcore.db import BaseModel

    class Orphan(BaseModel):
        name = pw.CharField()

        class Meta:
            table_name = "sb_orphan_without_migration"

    module = types.ModuleType("orphan_plugin")
    module.sbcore_register_models = hookimpl(lambda: [Orphan])
    core = Core(sb_config, pm=get_plugin_manager(load_entrypoints=False, plugins=[module]))
    try:
        with pytest.raises(StartupError, match="sb_orphan_without_migration"):
            core.init(report=lambda line: None)
    finally:
        core.close()


def test_falcon_is_only_imported_by_the_web_layer():
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1] / "sbcore"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "import falcon" in p.read_text() and p.relative_to(root).parts[0] != "web"
                 and p.name != "testing.py"]
    assert offenders == []
