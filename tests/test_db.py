"""The data layer: URLs, pooling, SQLite pragmas and the busy-snapshot retry."""

import threading

import peewee
import pytest

from sbcore import db as dbmod


def test_pooled_urls():
    assert dbmod.pooled_url("sqlite:///data/x.db") == "sqlite+pool:///data/x.db"
    assert dbmod.pooled_url("postgres://u@h/db") == "postgresql+pool://u@h/db"
    assert dbmod.pooled_url("mysql+pool://u@h/db") == "mysql+pool://u@h/db"
    with pytest.raises(ValueError):
        dbmod.pooled_url("nonsense")


def test_the_mysql_driver_is_mysqlclient_where_installed_else_pymysql(monkeypatch):
    import sys
    import types
    assert dbmod.mysql_driver("pymysql").__name__ == "pymysql"
    with pytest.raises(ValueError, match="unknown MySQL driver"):
        dbmod.mysql_driver("mysql-connector")
    assert dbmod.open_database("mysql://u@127.0.0.1/db?driver=pymysql").driver.__name__ == "pymysql"
    try:
        import MySQLdb  # noqa: F401
        installed = "MySQLdb"
    except ImportError:
        installed = "pymysql"
    pool = dbmod.open_database("mysql://u@127.0.0.1/db")
    assert pool.driver.__name__ == installed and "driver" not in pool.connect_params
    # under gevent (sbcore serve --events) a C driver would block every greenlet
    monkeypatch.setitem(sys.modules, "gevent.monkey",
                        types.SimpleNamespace(is_module_patched=lambda name: name == "socket"))
    assert dbmod.mysql_driver().__name__ == "pymysql"


def test_sqlite_runs_in_wal_with_foreign_keys(ctx):
    if dbmod.kind() != "sqlite":
        pytest.skip("SQLite pragmas")
    assert dbmod.database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dbmod.database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


@pytest.mark.parametrize("message", ["database is locked", "(1213, 'Deadlock found when trying to "
                                     "get lock; try restarting transaction')", "deadlock detected"])
def test_a_transaction_the_database_gave_up_on_is_retried(core, message):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise peewee.OperationalError(message)
        return "done"

    with dbmod.connection():
        assert dbmod.in_transaction_retrying(core.database, flaky) == "done"
    assert len(calls) == 3


def test_other_errors_are_not_retried(core):
    calls = []

    def broken():
        calls.append(1)
        raise peewee.OperationalError("no such table: nowhere")

    with dbmod.connection(), pytest.raises(peewee.OperationalError):
        dbmod.in_transaction_retrying(core.database, broken)
    assert len(calls) == 1


def test_concurrent_writers_all_succeed(api, core, visitor, open_conversation):
    """Threads sending into one conversation while the worker writes: no call fails."""
    cid = open_conversation(visitor)
    errors = []

    def send(n):
        for i in range(15):
            try:
                core.call("send-message", user_id=visitor, conversation_id=cid, message=f"{n}-{i}")
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert len(api.ok("get-conversation", conversation_id=cid)["messages"]) == 120


def test_an_update_counts_matched_rows_on_every_database(ctx):
    """Update-or-insert (settings, details, typing, agents' replies) needs the count of
    matched rows, also when the value is unchanged (MySQL counts changed rows by default)."""
    from sbcore.models import Setting
    Setting.create(name="same", value="1")
    assert Setting.update(value="1").where(Setting.name == "same").execute() == 1


def test_on_sqlite_a_retry_holds_the_write_lock_from_the_start(core, monkeypatch):
    if dbmod.kind(core.database) != "sqlite":
        pytest.skip("SQLite's lock types")
    used = []
    original = core.database.atomic

    def atomic(*args):
        used.append(args)
        return original(*args)

    monkeypatch.setattr(core.database, "atomic", atomic)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise peewee.OperationalError("database is locked")
        return True

    with dbmod.connection():
        assert dbmod.in_transaction_retrying(core.database, flaky)
    assert used == [(), ("IMMEDIATE",)]


def test_on_sqlite_writers_queue_on_the_writer_file_lock(core, visitor, open_conversation, tmp_path):
    """A writing call waits while another process holds the writer queue's file lock and
    goes the moment it is released (instead of sleeping in SQLite's busy handler)."""
    if dbmod.kind(core.database) != "sqlite":
        pytest.skip("SQLite's writer queue")
    import subprocess
    import sys
    cid = open_conversation(visitor)
    queue = dbmod.writer_queue(core.database.obj if hasattr(core.database, "obj") else core.database)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({queue.path!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.readline()\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = threading.Event()
        worker = threading.Thread(target=lambda: (core.call(
            "send-message", user_id=visitor, conversation_id=cid, message="queued"), done.set()))
        worker.start()
        assert not done.wait(1.0)  # queued behind the other process
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert done.wait(10)
        worker.join()
    finally:
        holder.kill()
        holder.wait()
    texts = [m["message"] for m in core.call("get-conversation", conversation_id=cid)["messages"]]
    assert "queued" in texts


def test_a_prepared_query_is_built_once_and_runs_with_each_calls_arguments(ctx):
    from sbcore.models import User
    builds = []

    def build(first_name, lowest):
        builds.append(1)
        return (User.select(User.id, User.first_name).where(
            (User.first_name == first_name) & (User.id >= lowest) & (User.user_type == "lead"))
            .order_by(User.id))

    query = dbmod.Prepared(build)
    ids = [User.create(first_name=name, user_type=kind, token=f"{name}{kind}{n:034d}").id
           for n, (name, kind) in enumerate([("Ann", "lead"), ("Bob", "lead"), ("Ann", "lead"),
                                             ("Ann", "user")])]
    assert [row["id"] for row in query.dicts("Ann", 0)] == [ids[0], ids[2]]
    assert [row["id"] for row in query.dicts("Ann", ids[1])] == [ids[2]]  # "lead" stays a constant
    assert [row["id"] for row in query.dicts("Bob", 0)] == [ids[1]]
    assert query.dicts("Nobody", 0) == []
    assert len(builds) == 1


def test_a_prepared_read_gives_models_and_a_prepared_insert_its_id(ctx):
    from datetime import datetime

    from sbcore.models import User
    insert = dbmod.Prepared(lambda name, token, when: User.insert(
        first_name=name, token=token, creation_time=when, user_type="user"))
    when = datetime(2026, 1, 2, 3, 4, 5)
    first = insert.insert("Cy", "c" * 40, when)
    second = insert.insert("Di", "d" * 40, when)
    assert second > first
    read = dbmod.Prepared(lambda user_id: User.select().where(User.id == user_id).limit(1))
    user = read.first(User, second)
    assert (user.first_name, user.creation_time, user.user_type) == ("Di", when, "user")
    assert read.first(User, 10 ** 9) is None


@pytest.mark.parametrize("argument", [True, None, [1], b"x"])
def test_a_prepared_query_refuses_what_it_cannot_stand_in_for(ctx, argument):
    from sbcore.models import User
    with pytest.raises(TypeError):
        dbmod.Prepared(lambda value: User.select().where(User.first_name == value)).dicts(argument)


def test_a_prepared_argument_the_query_does_not_carry_is_refused_not_run(ctx):
    from sbcore.models import User
    query = dbmod.Prepared(lambda user_id, unused: User.select().where(User.id == user_id))
    with pytest.raises(TypeError, match=r"arguments \[1\]"):
        query.dicts(1, 2)
