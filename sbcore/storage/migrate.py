"""``sbcore storage-migrate``: copy an uploads folder into the configured shared storage
(a bucket, or the database), so that an install can move to ``SB_STORAGE_URL=s3://…``,
or a single host on MariaDB/PostgreSQL can become several, without losing a file.

Files already there with the same size are skipped, so the command can run again after
an interruption; the folder is left as it was."""

import os
import sys

from .cached import CachedStorage
from .local import LocalStorage


def plan(source, target):
    """``(key, size)`` of the files of ``source`` (a LocalStorage) that ``target`` lacks
    or holds with another size, and how many are already there."""
    present = dict(target.keys())
    todo, skipped = [], 0
    for key, size in source.keys():
        if present.get(key) == size:
            skipped += 1
        else:
            todo.append((key, size))
    return sorted(todo), skipped


def copy_folder(source, target, progress=None):
    """Copy what ``plan`` finds; ``progress(bytes)`` follows each file. Answers
    ``(copied, skipped, bytes)``."""
    todo, skipped = plan(source, target)
    total = 0
    for key, size in todo:
        blob = source.open(key)
        with blob.stream as stream:
            target.save(key, stream)
        total += size
        if progress:
            progress(size)
    return len(todo), skipped, total


def destination(storage):
    """Where ``storage`` keeps files, in words, and the store to copy into (the database
    itself, not its local cache)."""
    if isinstance(storage, CachedStorage):
        return "the database", storage.shared
    return f"s3://{storage.bucket}/{storage.prefix}", storage


def command(core, args):
    from tqdm import tqdm

    from .. import db as dbmod
    folder = args.source or core.config.uploads_dir
    if isinstance(core.storage, LocalStorage):
        print("error: the storage is the uploads folder itself (SQLite, or SB_STORAGE_URL=local); "
              "set SB_STORAGE_URL=database or s3://bucket/prefix to copy the folder there",
              file=sys.stderr)
        return 2
    if not os.path.isdir(folder):
        print(f"error: {folder} is not a folder", file=sys.stderr)
        return 2
    where, target = destination(core.storage)
    source = LocalStorage(folder)
    with dbmod.connection():
        todo, _ = plan(source, target)
        with tqdm(total=sum(size for _, size in todo), unit="B", unit_scale=True, file=sys.stderr,
                  desc="storage-migrate") as bar:
            copied, skipped, size = copy_folder(source, target, progress=bar.update)
    print(f"{copied} files copied ({size} bytes), {skipped} already there, "
          f"from {os.path.abspath(folder)} to {where}")
    return 0
