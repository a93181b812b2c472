"""The files the API writes (uploads, transcripts, avatars, exports, backups, channel
media, email attachments): fresh keys, their URLs under ``/uploads/``, writing and
removing them through the core's storage (sbcore.storage)."""

import secrets
from datetime import datetime, timezone
from urllib.parse import unquote

from .storage import UnsafePath, check_key, content_type_of  # noqa: F401 (part of this API)


def new_key(folder, suffix):
    """A fresh, unguessable key ``folder/dd-mm-yy/<random><suffix>``."""
    day = datetime.now(timezone.utc).strftime("%d-%m-%y")
    return check_key(f"{folder}/{day}/{secrets.token_hex(12)}{suffix}")


def key_of_url(config, url):
    """The key behind a URL this server handed out under ``/uploads/``, else None."""
    prefix = f"{config.public_url}/uploads/"
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    try:
        return check_key(unquote(url[len(prefix):]))
    except UnsafePath:
        return None


def store(core, folder, suffix, source):
    """Write ``source`` (bytes or a binary file object) under a new key in ``folder``;
    answers the key (``core.config.upload_url(key)`` is its URL)."""
    key = new_key(folder, suffix)
    core.storage.save(key, source)
    return key


def remove_urls(core, urls):
    """Remove the files behind our own ``/uploads/`` URLs among ``urls``."""
    for url in urls:
        key = key_of_url(core.config, url)
        if key is not None:
            core.storage.delete(key)
