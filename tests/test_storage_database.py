"""sbcore.storage.database and .cached: files kept in the database in pieces, with the
uploads folder as a local cache; the default storage on a server database. Runs on
SQLite here and on MariaDB/PostgreSQL through SB_TEST_DATABASE_URL."""

import io
import os
import types

import pytest

from sbcore import db as dbmod
from sbcore import storage as S
from sbcore.config import Config
from sbcore.models import FileChunk
from sbcore.storage.cached import CachedStorage
from sbcore.storage.database import DELETED, DatabaseStorage
from sbcore.storage.local import LocalStorage
from sbcore.storage.migrate import command as migrate_command

from test_storage import PNG, old_uploads_folder


@pytest.fixture
def store(core):
    return DatabaseStorage(chunk_size=1000)


def test_the_database_store_keeps_empty_files_case_and_tombstones(store):
    """What the database store adds to every backend's rules (tests/test_storage.py runs
    those on it too): empty files, case-sensitive keys, and deletes that leave a
    tombstone which a new file replaces."""
    assert store.save("a/one.txt", b"hello") == 5
    assert store.save("a/empty.txt", b"") == 0
    assert store.read("a/empty.txt") == b"" and store.exists("a/empty.txt")
    assert store.save("A/ONE.txt", b"upper") == 5  # keys are case-sensitive, as in a folder
    assert store.read("a/one.txt") == b"hello" and store.read("A/ONE.txt") == b"upper"
    store.delete("a/one.txt")
    assert store.state("a/one.txt") == DELETED
    assert not store.exists("a/one.txt")
    assert "a/one.txt" not in dict(store.keys())
    store.save("a/one.txt", b"again")  # a tombstone does not stop a new file
    assert store.read("a/one.txt") == b"again"


def test_a_file_larger_than_a_piece_is_stored_in_pieces_and_streamed(store):
    data = os.urandom(3500)
    assert store.save("exports/big.csv", io.BufferedReader(io.BytesIO(data), 300)) == 3500
    with dbmod.connection():
        sizes = [row.size for row in FileChunk.select().where(FileChunk.path == "exports/big.csv")
                 .order_by(FileChunk.seq)]
    assert sizes == [1000, 1000, 1000, 500]
    blob = store.open("exports/big.csv")
    assert blob.size == 3500
    with blob.stream as stream:
        assert stream.read(10) == data[:10]
        assert stream.read() == data[10:]


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "a\x00b",
                                 "x" * 600])
def test_the_database_store_refuses_to_delete_unsafe_keys(store, key):
    """(Saving and opening them are refused by every backend: tests/test_storage.py.)"""
    with pytest.raises(S.UnsafePath):
        store.delete(key)


def test_a_host_reads_a_file_it_lacks_from_the_database_and_keeps_it(core, tmp_path):
    a = CachedStorage(LocalStorage(str(tmp_path / "a")), DatabaseStorage(chunk_size=1000))
    b = CachedStorage(LocalStorage(str(tmp_path / "b")), DatabaseStorage(chunk_size=1000))
    data = os.urandom(2500)
    assert a.save("widget/x.bin", data) == 2500
    assert (tmp_path / "a" / "widget" / "x.bin").read_bytes() == data
    assert not (tmp_path / "b" / "widget").exists()
    assert b.exists("widget/x.bin")
    with b.open("widget/x.bin").stream as stream:
        assert stream.read() == data
    assert (tmp_path / "b" / "widget" / "x.bin").read_bytes() == data  # the local copy
    a.save("widget/x.bin", b"new")  # replaced through A: B's copy is stale
    assert b.read("widget/x.bin") == b"new"
    a.delete("widget/x.bin")  # deleted through A: B's copy goes too
    with pytest.raises(FileNotFoundError):
        b.open("widget/x.bin")
    assert not (tmp_path / "b" / "widget" / "x.bin").exists() and not b.exists("widget/x.bin")
    # a file only in a host's folder (written before the database store) is still served
    (tmp_path / "a" / "old.txt").write_bytes(b"old")
    assert a.read("old.txt") == b"old" and a.exists("old.txt") and not b.exists("old.txt")


def test_a_rolled_back_transaction_leaves_no_database_copy(core, tmp_path):
    cached = CachedStorage(LocalStorage(str(tmp_path / "a")), DatabaseStorage())

    class Failed(Exception):
        pass
    with pytest.raises(Failed), dbmod.connection():
        with dbmod.database.atomic():
            cached.save("widget/gone.png", PNG)
            raise Failed()
    assert not DatabaseStorage().exists("widget/gone.png")


def test_configuration_chooses_the_backend(tmp_path):
    folder = str(tmp_path / "up")
    assert isinstance(S.open_storage(Config(database_url="sqlite:///x.db", uploads_dir=folder)),
                      LocalStorage)
    for url in ("mysql://root@h/db", "postgresql://p@h/db"):
        chosen = S.open_storage(Config(database_url=url, uploads_dir=folder))
        assert isinstance(chosen, CachedStorage) and chosen.local.folder == folder
        assert isinstance(S.open_storage(Config(database_url=url, uploads_dir=folder,
                                                storage_url="local")), LocalStorage)
    assert isinstance(S.open_storage(Config(database_url="sqlite:///x.db", uploads_dir=folder,
                                            storage_url="database")), CachedStorage)
    with pytest.raises(ValueError):
        S.open_storage(Config(storage_url="ftp://x"))


def test_storage_migrate_copies_a_folder_into_the_database_once(core, tmp_path, capsys):
    folder = old_uploads_folder(tmp_path)
    core.config = core.config.replace(storage_url="database")
    assert migrate_command(core, types.SimpleNamespace(source=str(folder))) == 0
    assert sorted(DatabaseStorage().keys()) == [("exports/b.csv", 5), ("widget/01-01-26/a.png", len(PNG))]
    out = capsys.readouterr()
    assert "2 files copied" in out.out and "the database" in out.out and "storage-migrate" in out.err
    assert migrate_command(core, types.SimpleNamespace(source=str(folder))) == 0
    assert "2 already there" in capsys.readouterr().out
    core.config = core.config.replace(storage_url="local")
    assert migrate_command(core, types.SimpleNamespace(source=str(folder))) == 2
