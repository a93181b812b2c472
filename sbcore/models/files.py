import peewee as pw

from ..db import BaseModel, utcnow


class File(BaseModel):
    """A file sbcore wrote to its storage (sbcore.storage): who caused it (the visitor
    who uploaded it, the admin who exported), its size, and for exports when it
    expires. ``path`` is the storage key, also the path after ``/uploads/``."""

    path = pw.CharField(max_length=191, unique=True)
    folder = pw.CharField(max_length=32)
    owner = pw.IntegerField(null=True)  # a user id; set to NULL when the user goes
    size = pw.BigIntegerField(default=0)
    created = pw.DateTimeField(default=utcnow)
    expires = pw.DateTimeField(null=True, index=True)

    class Meta:
        table_name = "sb_files"
        indexes = ((("folder", "created"), False), (("owner", "created"), False))


class FileUse(BaseModel):
    """What refers to a file: a message's attachment (``message_id``) or a user's
    profile image (``user_id``). A file nothing uses may be deleted."""

    file = pw.ForeignKeyField(File, on_delete="CASCADE", index=True)
    message_id = pw.IntegerField(null=True, index=True)
    user_id = pw.IntegerField(null=True, index=True)

    class Meta:
        table_name = "sb_file_uses"


class FileChunk(BaseModel):
    """A piece of a file kept in the database (sbcore.storage.database): the storage
    key (``path``), the piece's place (``seq`` from 0) and its bytes. A row with ``seq``
    -1 and no bytes is a tombstone: the file was deleted, and a host's local copy of it
    must not be served again. ``size`` is ``len(data)``, so that sizes are summed
    without reading the bytes. On MySQL/MariaDB migration 100 makes ``path`` binary
    (case-sensitive, like a folder) and ``data`` a LONGBLOB (a BLOB holds 64 KiB)."""

    path = pw.CharField(max_length=512)
    seq = pw.IntegerField()
    size = pw.IntegerField()
    data = pw.BlobField()

    class Meta:
        table_name = "sb_file_chunks"
        primary_key = pw.CompositeKey("path", "seq")
