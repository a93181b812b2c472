"""Files kept in the database (``sb_file_chunks``), so that every host of an install
on one MariaDB/MySQL or PostgreSQL database has them, without a bucket.

A file is stored in pieces of at most ``CHUNK`` bytes, one row each, written in one
transaction (nested in the caller's when there is one: a call that fails and rolls back
leaves no piece, as it leaves no ``sb_files`` row). Pieces stay far below MariaDB's
``max_allowed_packet`` (16 MiB by default), and a large file is read one piece at a
time, never whole in memory. Deleting leaves a tombstone (``seq`` -1), so that a host
that kept a local copy (``CachedStorage``) stops serving it."""

import io

from peewee import fn

from .. import db as dbmod
from ..models import FileChunk
from . import Blob, Storage, check_key, content_type_of

CHUNK = 1024 * 1024
TOMBSTONE = -1
DELETED = "deleted"


def pieces(source, size):
    """``source`` (bytes or a binary file object) in pieces of ``size`` bytes (the last
    may be shorter; an empty source gives one empty piece)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for start in range(0, max(len(view), 1), size):
            yield bytes(view[start:start + size])
        return
    first = True
    while True:
        piece = bytearray()
        while len(piece) < size:  # a stream may answer less than asked before its end
            data = source.read(size - len(piece))
            if not data:
                break
            piece += data
        if not piece and not first:
            return
        first = False
        yield bytes(piece)
        if len(piece) < size:
            return


class ChunkStream(io.RawIOBase):
    """A stored file read piece by piece, each piece one query on a borrowed connection
    (a response may be streamed after its request's connection went back to the pool)."""

    def __init__(self, key, count):
        super().__init__()
        self.key = key
        self.count = count
        self.seq = 0
        self.buffer = memoryview(b"")

    def readable(self):
        return True

    def readinto(self, target):
        while not len(self.buffer):
            if self.seq >= self.count:
                return 0
            with dbmod.connection():
                data = FileChunk.select(FileChunk.data).where(
                    (FileChunk.path == self.key) & (FileChunk.seq == self.seq)).scalar()
            if data is None:
                raise OSError(f"{self.key} changed while it was read")
            self.buffer = memoryview(bytes(data))
            self.seq += 1
        size = min(len(target), len(self.buffer))
        target[:size] = self.buffer[:size]
        self.buffer = self.buffer[size:]
        return size


class DatabaseStorage(Storage):
    name = "database"

    def __init__(self, chunk_size=CHUNK):
        self.chunk_size = chunk_size

    def state(self, key):
        """What the database holds at ``key``: ``(pieces, size)``, ``DELETED`` (a
        tombstone) or None (nothing: never stored here). One indexed query that reads
        no file bytes."""
        check_key(key)
        with dbmod.connection():
            lowest, count, size = FileChunk.select(
                fn.MIN(FileChunk.seq), fn.COUNT(FileChunk.seq), fn.SUM(FileChunk.size)).where(
                FileChunk.path == key).tuples().get()
        if not count:
            return None
        if lowest == TOMBSTONE:
            return DELETED
        return int(count), int(size or 0)

    def save(self, key, source):
        check_key(key)
        size = 0
        with dbmod.connection(), dbmod.database.atomic():
            # a fresh key (the usual case) deletes nothing: no DELETE, so that no gap lock
            # of InnoDB makes two uploads at once wait for each other
            if FileChunk.select().where(FileChunk.path == key).exists():
                FileChunk.delete().where(FileChunk.path == key).execute()
            for seq, piece in enumerate(pieces(source, self.chunk_size)):
                FileChunk.insert(path=key, seq=seq, size=len(piece), data=piece).execute()
                size += len(piece)
        return size

    def open(self, key):
        state = self.state(key)
        if state is None or state == DELETED:
            raise FileNotFoundError(key)
        count, size = state
        return Blob(io.BufferedReader(ChunkStream(key, count), self.chunk_size), size,
                    content_type_of(key))

    def delete(self, key):
        check_key(key)

        def tombstone():
            FileChunk.delete().where(FileChunk.path == key).execute()
            FileChunk.insert(path=key, seq=TOMBSTONE, size=0, data=b"").execute()
        with dbmod.connection():
            dbmod.in_transaction_retrying(dbmod.database, tombstone)

    def exists(self, key):
        return isinstance(self.state(key), tuple)

    def keys(self, prefix=""):
        query = (FileChunk.select(FileChunk.path, fn.SUM(FileChunk.size))
                 .group_by(FileChunk.path).having(fn.MIN(FileChunk.seq) >= 0))
        if prefix:  # LIKE with its wildcards escaped; case and collation checked below
            query = query.where(FileChunk.path.startswith(prefix))
        with dbmod.connection():
            rows = list(query.tuples())
        for key, size in rows:
            if key.startswith(prefix):
                yield key, int(size or 0)
