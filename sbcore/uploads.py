"""The uploads folder: every path stays inside it."""

import os
import secrets
from datetime import datetime, timezone


class UnsafePath(ValueError):
    pass


def root(config):
    return os.path.realpath(config.uploads_dir)


def resolve(config, relative):
    """The absolute path of ``relative`` inside the uploads folder; UnsafePath if it
    would leave it (``..``, absolute paths, symlinks out)."""
    if not relative or "\x00" in relative:
        raise UnsafePath(relative)
    base = root(config)
    path = os.path.realpath(os.path.join(base, relative.lstrip("/")))
    if os.path.commonpath([base, path]) != base or path == base:
        raise UnsafePath(relative)
    return path


def new_file(config, folder, suffix):
    """A fresh, unguessable relative path ``folder/dd-mm-yy/<random><suffix>`` and its
    absolute path, with the folder created."""
    day = datetime.now(timezone.utc).strftime("%d-%m-%y")
    relative = f"{folder}/{day}/{secrets.token_hex(12)}{suffix}"
    path = resolve(config, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return relative, path


def local_path_of_url(config, url):
    """The file behind a URL this server handed out under ``/uploads/``, else None."""
    prefix = f"{config.public_url}/uploads/"
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    try:
        return resolve(config, url[len(prefix):])
    except UnsafePath:
        return None


def remove_urls(config, urls):
    for url in urls:
        path = local_path_of_url(config, url)
        if path and os.path.isfile(path):
            os.remove(path)
