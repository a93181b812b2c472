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
