"""The uploads folder as a cache in front of the database store: the default on
MariaDB/MySQL and PostgreSQL (``SB_STORAGE_URL`` unset, or ``database``), so that hosts
with their own uploads folders on one database serve each other's files.

``save`` writes the folder, then the database (in the caller's transaction when there is
one: a call that rolls back leaves no database copy, and the folder's copy under its
fresh random key is never handed out). ``open`` asks the database what it holds at the
key (one indexed query, no file bytes) and serves the folder's copy when it is current;
a file this host has not seen is read from the database and kept in the folder. A
tombstone (a file deleted through any host) removes the local copy and answers 404.
Files only in the folder, written before the database store (a single host upgrading),
are still served by their host; ``sbcore storage-migrate`` copies them in."""

from . import Storage
from .database import DELETED


class CachedStorage(Storage):
    name = "database"

    def __init__(self, local, shared):
        self.local = local    # a LocalStorage: this host's uploads folder
        self.shared = shared  # a DatabaseStorage

    @property
    def root(self):
        """The uploads folder's real path: an absolute path inside it names a key
        (the aws-s3 function accepts one, as with the plain folder)."""
        return self.local.root

    def prepare(self):
        self.local.prepare()

    def save(self, key, source):
        size = self.local.save(key, source)
        try:
            with self.local.open(key).stream as copy:
                self.shared.save(key, copy)
        except BaseException:
            self.local.delete(key)
            raise
        return size

    def open(self, key):
        state = self.shared.state(key)
        if state == DELETED:
            self.local.delete(key)
            raise FileNotFoundError(key)
        try:
            blob = self.local.open(key)
        except FileNotFoundError:
            if state is None:
                raise
        else:
            if state is None or blob.size == state[1]:
                return blob
            blob.stream.close()  # replaced through another host since it was copied
        remote = self.shared.open(key)
        with remote.stream as stream:
            self.local.save(key, stream)
        return self.local.open(key)

    def delete(self, key):
        self.shared.delete(key)
        self.local.delete(key)

    def exists(self, key):
        state = self.shared.state(key)
        if state is None:
            return self.local.exists(key)
        return state != DELETED

    def keys(self, prefix=""):
        return self.shared.keys(prefix)
