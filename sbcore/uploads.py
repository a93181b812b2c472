"""The files the API writes (uploads, transcripts, avatars, exports, backups, channel
media, email attachments): fresh keys, their URLs under ``/uploads/``, writing them
through the core's storage (sbcore.storage) and recording each in ``sb_files`` with its
owner; what uses a file (a message's attachment, a profile image) is recorded in
``sb_file_uses``, so that deleting a user or a conversation deletes only the files
nothing else uses, and only once the deletion has committed."""

import json
import logging
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

from peewee import fn

from . import db as dbmod
from .db import utcnow
from .hooks import hookimpl
from .models import File, FileUse
from .storage import UnsafePath, check_key, content_type_of  # noqa: F401 (part of this API)

log = logging.getLogger("sbcore.uploads")

# Folders served only to an admin (sbcore.web.access), with how long their files live.
PRIVATE_FOLDERS = {"exports": timedelta(hours=1), "backups": None}
VISITOR_FOLDER = "widget"
STAFF_FOLDER = "attachments"  # replies' files uploaded in the agent workspace


def new_key(folder, suffix):
    """A fresh, unguessable key ``folder/dd-mm-yy/<random><suffix>``."""
    day = datetime.now(timezone.utc).strftime("%d-%m-%y")
    return check_key(f"{folder}/{day}/{secrets.token_hex(12)}{suffix}")


def folder_of(key):
    return key.split("/", 1)[0]


def is_private(key):
    return folder_of(key) in PRIVATE_FOLDERS


def key_of_url(config, url, any_host=False):
    """The key behind a URL this server handed out under ``/uploads/``, else None.
    With ``any_host``, also the path after ``/uploads/`` of an http(s) URL of another
    host (another sbcore host of the same install, with its own SB_PUBLIC_URL): only
    for lookups of recorded files, never to delete what has no record."""
    if not isinstance(url, str):
        return None
    prefix = f"{config.public_url}/uploads/"
    if url.startswith(prefix):
        path = url[len(prefix):]
    elif any_host:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.path.startswith("/uploads/") \
                or parts.query or parts.fragment:
            return None
        path = parts.path[len("/uploads/"):]
    else:
        return None
    try:
        return check_key(unquote(path))
    except UnsafePath:
        return None


def store(core, folder, suffix, source, owner_id=None):
    """Write ``source`` (bytes or a binary file object) under a new key in ``folder``
    and record it, owned by the user ``owner_id``; answers the key
    (``core.config.upload_url(key)`` is its URL)."""
    key = new_key(folder, suffix)
    size = core.storage.save(key, source)
    lifetime = PRIVATE_FOLDERS.get(folder)
    now = utcnow()
    with dbmod.connection():
        File.create(path=key, folder=folder, owner=owner_id, size=size, created=now,
                    expires=now + lifetime if lifetime else None)
    return key


def live_file(key, now=None):
    """The recorded, unexpired file at ``key``, or None."""
    row = File.get_or_none(File.path == key)
    if row is None or (row.expires is not None and row.expires <= (now or utcnow())):
        return None
    return row


def owned_by(config, urls, user_id):
    """Whether every URL of ``urls`` is one of our files (on any host of the install)
    that ``user_id`` uploaded (one query)."""
    keys = {key_of_url(config, url, any_host=True) for url in urls}
    if None in keys:
        return False
    return not keys or File.select().where(File.path.in_(list(keys)) & (File.owner == user_id)) \
        .count() == len(keys)


def uploaded_since(user_id, since):
    """How many files ``user_id`` uploaded since ``since``, and their bytes (one
    indexed query): for per-visitor upload bounds."""
    count, size = File.select(fn.COUNT(File.id), fn.SUM(File.size)).where(
        (File.owner == user_id) & (File.created >= since)).tuples().get()
    return int(count or 0), int(size or 0)


# --- what uses a file ---


def attachment_urls(attachments):
    try:
        items = json.loads(attachments) if isinstance(attachments, str) and attachments else attachments
    except ValueError:
        return []
    return [item[1] for item in items or [] if isinstance(item, list) and len(item) > 1
            and isinstance(item[1], str)]


def is_recorded(config, url):
    """Whether ``url`` names a recorded file of ours, on any host of the install."""
    key = key_of_url(config, url, any_host=True)
    return key is not None and File.select().where(File.path == key).exists()


def use(config, urls, message_id=None, user_id=None):
    """Record that a message (or a user's profile image) uses the files behind ``urls``."""
    keys = {key for key in (key_of_url(config, url, any_host=True) for url in urls) if key}
    if not keys:
        return
    ids = [row[0] for row in File.select(File.id).where(File.path.in_(list(keys))).tuples()]
    if ids:
        FileUse.insert_many([{"file": file_id, "message_id": message_id, "user_id": user_id}
                             for file_id in ids]).execute()


@hookimpl
def sbcore_on_message_sent(ctx, message, conversation):
    if message.attachments:
        use(ctx.config, attachment_urls(message.attachments), message_id=message.id)


@hookimpl
def sbcore_on_message_updated(ctx, message):
    FileUse.delete().where(FileUse.message_id == message.id).execute()
    if message.attachments:
        use(ctx.config, attachment_urls(message.attachments), message_id=message.id)


@hookimpl
def sbcore_on_message_deleted(ctx, message):
    FileUse.delete().where(FileUse.message_id == message.id).execute()


@hookimpl
def sbcore_on_user_created(ctx, user):
    if key_of_url(ctx.config, user.profile_image, any_host=True):
        use(ctx.config, [user.profile_image], user_id=user.id)


@hookimpl
def sbcore_on_user_updated(ctx, user):
    FileUse.delete().where(FileUse.user_id == user.id).execute()
    if key_of_url(ctx.config, user.profile_image, any_host=True):
        use(ctx.config, [user.profile_image], user_id=user.id)


# --- deleting ---


def release(ctx, message_ids=(), user_ids=(), urls=()):
    """Messages and users about to be deleted (or attachments removed) stop using their
    files: among the files behind ``urls`` and those ``user_ids`` uploaded, the ones
    nothing else uses are deleted, their rows now and the stored files after commit.
    A URL of ours with no row (written before files were recorded) is deleted as
    before. Files of deleted users that something still uses are kept, ownerless."""
    message_ids, user_ids = list(message_ids), list(user_ids)
    keys = {key for key in (key_of_url(ctx.config, url, any_host=True) for url in urls) if key}
    ours = {key for key in (key_of_url(ctx.config, url) for url in urls) if key}
    if message_ids:
        FileUse.delete().where(FileUse.message_id.in_(message_ids)).execute()
    if user_ids:
        FileUse.delete().where(FileUse.user_id.in_(user_ids)).execute()
    candidates = {}
    if keys:
        candidates.update(File.select(File.id, File.path).where(File.path.in_(list(keys))).tuples())
    if user_ids:
        candidates.update(File.select(File.id, File.path).where(File.owner.in_(user_ids)).tuples())
    untracked = ours - set(candidates.values())
    gone = []
    if candidates:
        used = {row[0] for row in FileUse.select(FileUse.file).where(
            FileUse.file.in_(list(candidates))).tuples()}
        gone = [file_id for file_id in candidates if file_id not in used]
        if gone:
            File.delete().where(File.id.in_(gone)).execute()
        if user_ids and used:
            File.update(owner=None).where(File.owner.in_(user_ids) & File.id.in_(list(used))).execute()
    remove_after_commit(ctx, [candidates[file_id] for file_id in gone] + sorted(untracked))


def drop_files(ctx, file_ids):
    """Delete the rows of ``file_ids`` now and their stored files after commit."""
    keys = [row[0] for row in File.select(File.path).where(File.id.in_(list(file_ids))).tuples()]
    File.delete().where(File.id.in_(list(file_ids))).execute()
    remove_after_commit(ctx, keys)


def remove_after_commit(ctx, keys):
    if not keys:
        return
    storage = ctx.storage

    def remove():
        for key in keys:
            try:
                storage.delete(key)
            except Exception:  # a file left behind is better than a failed call
                log.exception("stored file %s not removed", key)
    ctx.after_commit(remove)


def remove_urls(core, urls):
    """Remove at once the files behind our own URLs among ``urls``, and their rows: for
    files written for something that then failed (a duplicate platform message, a
    rolled-back email), outside any transaction."""
    keys = [key for key in (key_of_url(core.config, url) for url in urls) if key]
    if not keys:
        return
    with dbmod.connection():
        File.delete().where(File.path.in_(keys)).execute()
    for key in keys:
        core.storage.delete(key)
