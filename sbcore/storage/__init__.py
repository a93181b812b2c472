"""Where the files the API writes live: one interface, three backends.

``LocalStorage`` keeps them in the uploads folder (``SB_UPLOADS_DIR``): the default on
SQLite (one host), or ``SB_STORAGE_URL=local``. ``CachedStorage`` keeps them in the
database (``DatabaseStorage``, table ``sb_file_chunks``) with the uploads folder as a
local cache: the default on MariaDB/MySQL and PostgreSQL, or ``SB_STORAGE_URL=database``,
so that hosts on one database share their files. ``S3Storage`` keeps them in an
S3-compatible bucket (``SB_STORAGE_URL=s3://bucket/prefix``). A key is a relative path such as
``widget/01-12-26/<random>.png``; ``check_key`` refuses any key that could leave its
folder or prefix, and every backend calls it."""

import abc
import mimetypes
from dataclasses import dataclass
from typing import BinaryIO


class UnsafePath(ValueError):
    """A key that is empty, absolute, or would leave the folder (``..``, a symlink out)."""


@dataclass
class Blob:
    """An open stored file: ``stream`` (a binary file object, closed by the reader),
    its ``size`` in bytes and its ``content_type``."""

    stream: BinaryIO
    size: int
    content_type: str


MAX_KEY = 512


def check_key(key):
    """``key`` when it is a safe relative path (``a/b.txt``), else UnsafePath."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or "\x00" in key \
            or "\\" in key or key.startswith("/"):
        raise UnsafePath(key)
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise UnsafePath(key)
    return key


def content_type_of(key):
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class Storage(abc.ABC):
    """What every backend does (an abstract base: a backend that lacks one of the
    abstract methods cannot be made). ``source`` is bytes or a binary file object read from
    its current position. Missing files raise FileNotFoundError; a store that fails
    raises ApiError ``storage-error`` (502)."""

    name = "storage"

    @abc.abstractmethod
    def save(self, key, source) -> int:
        """Write ``source`` at ``key`` (replacing it); answers the size written."""

    @abc.abstractmethod
    def open(self, key) -> Blob:
        """The file as a Blob (its stream, size and type); FileNotFoundError if missing."""

    def read(self, key, limit=None) -> bytes:
        """The file's bytes, at most ``limit`` of them when given."""
        blob = self.open(key)
        with blob.stream as stream:
            return stream.read() if limit is None else stream.read(limit)

    @abc.abstractmethod
    def delete(self, key):
        """Remove the file; a missing one is not an error."""

    @abc.abstractmethod
    def exists(self, key) -> bool:
        """Whether a file is stored at ``key``."""

    @abc.abstractmethod
    def keys(self, prefix=""):
        """Every stored ``(key, size)`` under ``prefix``, in no particular order."""

    def prepare(self):
        """Make the store ready (the folder, the bucket) if it is not; ``sbcore init``
        calls it."""

    def presigned_url(self, key, seconds):
        """A URL that serves the file directly for ``seconds``, or None when the
        backend has no such thing (the local folder)."""
        return None


def open_storage(config):
    """The backend ``config`` names (``storage_url``): ``local`` the uploads folder,
    ``database`` the database with the uploads folder as its cache, ``s3://bucket/prefix``
    a bucket (endpoint ``SB_URL_S3`` when set); unset, the database on a server database
    (several hosts may share it) and the uploads folder on SQLite."""
    url = (config.storage_url or "").strip()
    if not url:
        url = "local" if config.database_url.startswith("sqlite") else "database"
    if url == "local":
        from .local import LocalStorage
        return LocalStorage(config.uploads_dir)
    if url == "database":
        from .cached import CachedStorage
        from .database import DatabaseStorage
        from .local import LocalStorage
        return CachedStorage(LocalStorage(config.uploads_dir), DatabaseStorage())
    if not url.startswith("s3:"):
        raise ValueError(f"SB_STORAGE_URL must be local, database or s3://bucket/prefix, not {url!r}")
    from .s3 import S3Storage, parse_url
    bucket, prefix = parse_url(url)
    return S3Storage(bucket, prefix, endpoint=config.url_overrides.get("s3") or None)
