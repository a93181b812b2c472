"""The write path and point reads do no work for what is off, read settings from a
per-process cache that every process sees change, and open no transaction to read; the
fast path never loses a webhook event or a notification."""

import json
import types

import pytest

from sbcore import db as dbmod
from sbcore import settings as S
from sbcore.core import Core
from sbcore.models import Event, Notification, Setting as SettingRow
from sbcore.registry import FunctionSet
from sbcore.testing import agents_offline, count_queries


@pytest.fixture
def other(sb_config, pm, core):
    """A second Core on the same database, with settings cached apart: another process,
    or another host. (The models' database proxy stays on the first core's pool, so
    that one connection serves both in this one process.)"""
    instance = Core(sb_config, pm=pm)
    own = instance.database
    dbmod.database.initialize(core.database)
    instance.database = core.database
    yield instance
    own.close_all()


def save(core, name, value):
    with dbmod.connection(), core.database.atomic():
        core.settings.set(name, value)


def statements(counter):
    return [q for q in counter.queries if not q.lstrip().upper().startswith(
        ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))]


def test_a_setting_saved_by_one_core_is_seen_by_the_other(core, other, api):
    assert api.ok("get-setting", setting="login-cookie-days") == 30
    save(other, "login-cookie-days", 7)
    assert api.ok("get-setting", setting="login-cookie-days") == 7
    api.ok("save-settings", settings={"login-cookie-days": 9})
    with dbmod.connection():
        assert other.settings.get("login-cookie-days") == 9


def test_settings_are_read_once_per_call_from_the_cache(core, api, visitor, open_conversation):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="warm")
    with count_queries() as counter:
        api.ok("send-message", user_id=visitor, conversation_id=cid, message="hello")
    reads = [q for q in statements(counter) if "sb_settings" in q]
    # send-message consults webhooks, the feed, smtp, sms, push … : one stamp read for all
    assert len(reads) == 1, reads


def test_the_token_check_reads_the_settings_stamp_in_the_same_query(
        core, other, api, visitor, open_conversation):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hello")
    with count_queries() as counter:
        api.ok("get-new-messages", conversation_id=cid, datetime="0")  # reads the webhooks setting
    reads = [q for q in statements(counter) if "sb_settings" in q]
    assert len(reads) == 1 and "sb_users" in reads[0], reads
    save(other, "login-cookie-days", 5)  # the stamp the next token check reads is new
    assert api.ok("get-setting", setting="login-cookie-days") == 5


def test_a_rolled_back_setting_is_not_served(core):
    with dbmod.connection():
        assert core.settings.get("login-cookie-days") == 30
        with pytest.raises(RuntimeError):
            with core.database.atomic():
                core.settings.set("login-cookie-days", 3)
                assert core.settings.get("login-cookie-days") == 3  # the writer sees its own
                raise RuntimeError("roll back")
        assert core.settings.get("login-cookie-days") == 30


def test_a_cached_value_cannot_be_changed_by_its_reader(core):
    save(core, "departments", [{"department-id": "1", "department-name": "Sales"}])
    with dbmod.connection():
        core.settings.get("departments").append({"x": 1})
        assert core.settings.get("departments") == [{"department-id": "1", "department-name": "Sales"}]


def test_no_event_row_while_webhooks_and_the_feed_are_off(core, api, visitor, open_conversation):
    save(core, "webhooks-feed", False)
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hello")
    api.ok("update-conversation-status", conversation_id=cid, status_code=3)
    with dbmod.connection():
        assert Event.select().count() == 0
    save(core, "webhooks", {"webhooks-active": True, "webhooks-url": "https://hooks.example.com/",
                            "webhooks-key": "k", "webhooks-allowed": "user-deleted"})
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="not allowed")
    with dbmod.connection():
        assert Event.select().count() == 0  # message-sent is not in webhooks-allowed
    api.ok("delete-user", user_id=visitor)
    with dbmod.connection():
        assert [(e.name, e.status) for e in Event.select()] == [("user-deleted", "pending")]


def test_webhooks_turned_on_mid_run_by_another_process_get_every_later_event(
        core, other, api, visitor, open_conversation):
    save(core, "webhooks-feed", False)
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="before")
    save(other, "webhooks", {"webhooks-active": True, "webhooks-url": "https://hooks.example.com/",
                             "webhooks-key": "k", "webhooks-allowed": ""})
    ids = [api.ok("send-message", user_id=visitor, conversation_id=cid, message=f"after {n}")["message-id"]
           for n in range(3)]
    with dbmod.connection():
        sent = [e for e in Event.select().where(Event.name == "message-sent").order_by(Event.id)]
    assert [e.status for e in sent] == ["pending"] * 3
    assert [int(json.loads(e.data)["message_id"]) for e in sent] == [int(i) for i in ids]


def test_notifications_turned_on_mid_run_by_another_process_are_queued(
        core, other, api, visitor, open_conversation):
    api.ok("add-user", first_name="Al", user_type="agent", email="al@example.com")
    agents_offline(core)
    cid = open_conversation(visitor)
    answer = api.ok("send-message", user_id=visitor, conversation_id=cid, message="anyone?")
    assert answer["notifications"] == []
    save(other, "smtp-host", "smtp.example.com")
    answer = api.ok("send-message", user_id=visitor, conversation_id=cid, message="hello?")
    assert answer["notifications"] == ["email"]
    with dbmod.connection():
        assert Notification.select().where(Notification.channel == "email").count() >= 1


READS = FunctionSet()
SEEN = []


@READS("test-read", read=True)
def read_something(ctx):
    SEEN.append(ctx.core.database.in_transaction())
    return True


@READS("test-write")
def write_something(ctx):
    SEEN.append(ctx.core.database.in_transaction())
    return True


READ_PLUGIN = types.SimpleNamespace(__name__="read-plugin", sbcore_register_functions=READS.hook())


@pytest.fixture
def sbcore_plugins():
    return [READ_PLUGIN]


def test_a_function_declared_read_runs_without_a_transaction(core, api):
    SEEN.clear()
    api.ok("test-read")
    api.ok("test-write")
    assert SEEN == [False, True]
    for name in ("get-user", "get-users", "count-users", "get-conversation", "get-new-messages"):
        assert core.functions[name].read and not core.functions[name].needs_transaction
    assert core.functions["send-message"].needs_transaction


def test_get_conversation_reads_the_conversation_and_its_user_in_one_query(
        core, api, visitor, open_conversation, assert_query_count):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hello")
    with dbmod.connection():
        with assert_query_count(3):  # the conversation with its user, the messages, its notes (3.8)
            answer = core.call("get-conversation", conversation_id=cid)
    assert answer["details"]["user_id"] == str(visitor) and answer["details"]["first_name"] == "Don"
    assert [m["message"] for m in answer["messages"]] == ["hello"]


def test_the_stamp_row_is_no_setting(core, api):
    with dbmod.connection():
        assert SettingRow.get_or_none(SettingRow.name == S.STAMP) is not None
    assert S.STAMP not in api.ok("get-settings")


@pytest.mark.parametrize("driver", ["pymysql", "mysqlclient"])
def test_the_mariadb_pool_pings_only_idle_connections_and_rolls_back_only_open_ones(
        core, monkeypatch, driver):
    if dbmod.kind(core.database) != "mysql":
        pytest.skip("the MariaDB/MySQL pool")
    if driver == "mysqlclient":
        pytest.importorskip("MySQLdb", reason="mysqlclient is not installed (make install "
                            "builds it where libmariadb-dev is present)")
    url = core.config.database_url.split("?")[0] + f"?driver={driver}"
    pool = dbmod.open_database(url)
    with pool.connection_context():
        connection_class = type(pool.connection())
    calls = []
    for name in ("ping", "rollback"):
        original = getattr(connection_class, name)
        monkeypatch.setattr(connection_class, name,
                            lambda self, *a, _n=name, _o=original, **k: (calls.append(_n), _o(self, *a, **k))[1])
    try:
        for _ in range(3):
            with pool.connection_context():
                pool.execute_sql("SELECT 1").fetchone()
            with pool.connection_context(), pool.atomic():
                pool.execute_sql("SELECT 1").fetchone()
        assert calls == []  # a busy connection: no ping at checkout, no rollback at check-in
        with pool.connection_context():
            pool.execute_sql("BEGIN")  # left open by a careless caller
        assert calls == ["rollback"]
        with pool.connection_context():
            pool.execute_sql("START TRANSACTION")
            pool.execute_sql("SELECT 1").fetchone()
            pool.execute_sql("COMMIT")  # closed by hand: nothing to roll back
        assert calls == ["rollback"]
        monkeypatch.setattr(dbmod.PooledMariaDB, "PING_AFTER", 0.0)
        with pool.connection_context():
            pool.execute_sql("SELECT 1").fetchone()
        assert calls == ["rollback", "ping"]  # idle too long: pinged before use
    finally:
        pool.close_all()


def true_counts():
    from peewee import fn

    from sbcore.models import User
    with dbmod.connection():
        return dict(User.select(User.user_type, fn.COUNT(User.id)).group_by(User.user_type).tuples())


def test_count_users_reads_the_counts_the_triggers_keep(core, api, assert_query_count):
    from sbcore.models import User
    ids = [api.ok("add-user", first_name=f"U{n}", user_type=kind)
           for n, kind in enumerate(["visitor"] * 5 + ["lead"] * 3 + ["user"] * 2)]
    api.ok("update-user", user_id=ids[0], user_type="user")          # visitor -> user
    api.ok("update-user-to-lead", user_id=ids[1])                    # visitor -> lead
    api.ok("delete-user", user_id=ids[5])                            # a lead
    with dbmod.connection(), core.database.atomic():                 # bulk and by hand
        User.insert_many([{"first_name": "B", "user_type": "visitor", "token": f"t{n}"}
                          for n in range(40)]).execute()
        User.delete().where(User.first_name == "U9").execute()
    with pytest.raises(RuntimeError), dbmod.connection(), core.database.atomic():
        User.insert_many([{"first_name": "R", "user_type": "user", "token": f"r{n}"}
                          for n in range(5)]).execute()
        raise RuntimeError("rolled back with its counts")
    truth = true_counts()
    expected = {kind: str(truth.get(kind, 0)) for kind in ("lead", "user", "visitor")}
    expected["all"] = str(sum(truth.get(kind, 0) for kind in ("lead", "user", "visitor")))
    assert expected == {"all": "48", "lead": "3", "user": "2", "visitor": "43"}
    with dbmod.connection():
        with assert_query_count(1) as counter:
            assert core.call("count-users") == expected
    assert "sb_user_counts" in counter.queries[0] and "sb_users\"" not in counter.queries[0]


def test_the_migration_counts_the_users_already_there(core, api):
    from sbcore import user_counts
    api.ok("add-user", first_name="Ann", user_type="lead")
    with dbmod.connection(), core.database.atomic():
        from sbcore.models import UserCount
        UserCount.delete().execute()
        user_counts.install(core.database)  # what migration 50 runs
    assert api.ok("count-users")["lead"] == "1"


def test_on_sqlite_a_writing_call_takes_the_write_lock_at_begin(core, api, monkeypatch):
    if dbmod.kind(core.database) != "sqlite":
        pytest.skip("SQLite's lock types")
    used = []
    original = core.database.atomic
    monkeypatch.setattr(core.database, "atomic", lambda *args: (used.append(args), original(*args))[1])
    api.ok("add-user", first_name="Ann")
    api.ok("count-users")  # read=True: no transaction at all
    assert used == [("IMMEDIATE",)]


def test_no_single_column_index_that_a_composite_one_serves(core):
    from sbcore.schema import REDUNDANT_INDEXES, drop_redundant_indexes
    with dbmod.connection():
        for table, column in REDUNDANT_INDEXES:
            indexes = core.database.get_indexes(table)
            assert f"{table}_{column}" not in {index.name for index in indexes}
            assert any(index.columns[0] == column and len(index.columns) > 1 for index in indexes)
        # a database made before migration 110 has them: the migration drops them
        for table, column in REDUNDANT_INDEXES:
            core.database.execute_sql(f"CREATE INDEX {table}_{column} ON {table} ({column})")
        drop_redundant_indexes(core.database, None)
        for table, column in REDUNDANT_INDEXES:
            assert f"{table}_{column}" not in {i.name for i in core.database.get_indexes(table)}


def test_on_mariadb_a_conversations_messages_are_stored_together(core, api, visitor, open_conversation):
    if dbmod.kind(core.database) != "mysql":
        pytest.skip("InnoDB's clustered primary key")
    from sbcore.schema import cluster_messages
    with dbmod.connection():
        assert core.database.get_primary_keys("sb_messages") == ["conversation_id", "id"]
        indexes = {i.name: i for i in core.database.get_indexes("sb_messages")}
        assert indexes["sb_messages_id"].unique and indexes["sb_messages_id"].columns == ["id"]
        assert "sb_messages_conversation_id_id" not in indexes
    first, second = open_conversation(visitor), open_conversation(visitor)
    ids = [api.ok("send-message", user_id=visitor, conversation_id=cid, message=f"m{n}")["message-id"]
           for n, cid in enumerate((first, second, first))]
    assert ids == sorted(ids) and len(set(ids)) == 3  # AUTO_INCREMENT as before
    assert [m["id"] for m in api.ok("get-new-messages", conversation_id=first, datetime="0")] == \
        [str(ids[0]), str(ids[2])]
    # a database made before migration 130: the migration moves it, once
    with dbmod.connection():
        core.database.execute_sql("ALTER TABLE sb_messages DROP PRIMARY KEY, ADD PRIMARY KEY (id), "
                                  "ADD KEY sb_messages_conversation_id_id (conversation_id, id), "
                                  "DROP KEY sb_messages_id")
        assert core.database.get_primary_keys("sb_messages") == ["id"]
        cluster_messages(core.database, None)
        cluster_messages(core.database, None)
        assert core.database.get_primary_keys("sb_messages") == ["conversation_id", "id"]
        assert "sb_messages_conversation_id_id" not in {i.name for i in core.database.get_indexes("sb_messages")}
    assert len(api.ok("get-new-messages", conversation_id=first, datetime="0")) == 2
