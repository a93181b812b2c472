"""The uploads folder as storage: every path stays inside it."""

import os
import secrets
import shutil

from . import Blob, Storage, UnsafePath, check_key, content_type_of


class LocalStorage(Storage):
    name = "local"

    def __init__(self, folder):
        self.folder = folder

    @property
    def root(self):
        return os.path.realpath(self.folder)

    def path(self, key):
        """The absolute path of ``key`` inside the folder; UnsafePath if it would
        leave it (``..``, absolute paths, symlinks out)."""
        check_key(key)
        base = self.root
        path = os.path.realpath(os.path.join(base, key))
        if os.path.commonpath([base, path]) != base or path == base:
            raise UnsafePath(key)
        return path

    def prepare(self):
        os.makedirs(self.folder, exist_ok=True)

    def save(self, key, source):
        path = self.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.{secrets.token_hex(4)}.part"  # readers never see half a file
        try:
            with open(partial, "wb") as handle:
                if isinstance(source, (bytes, bytearray)):
                    handle.write(source)
                else:
                    shutil.copyfileobj(source, handle, 1024 * 1024)
                size = handle.tell()
            os.replace(partial, path)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise
        return size

    def open(self, key):
        path = self.path(key)
        if not os.path.isfile(path):
            raise FileNotFoundError(key)
        handle = open(path, "rb")
        return Blob(handle, os.fstat(handle.fileno()).st_size, content_type_of(key))

    def delete(self, key):
        try:
            path = self.path(key)
        except UnsafePath:
            return
        if os.path.isfile(path):
            os.remove(path)

    def exists(self, key):
        try:
            return os.path.isfile(self.path(key))
        except UnsafePath:
            return False

    def keys(self, prefix=""):
        base = self.root
        start = os.path.join(base, prefix) if prefix else base
        for folder, folders, names in os.walk(start):
            folders[:] = [f for f in folders if not os.path.islink(os.path.join(folder, f))]
            for name in names:
                path = os.path.join(folder, name)
                if os.path.islink(path) or name.endswith(".part"):
                    continue
                key = os.path.relpath(path, base).replace(os.sep, "/")
                try:
                    check_key(key)
                except UnsafePath:
                    continue
                yield key, os.path.getsize(path)
