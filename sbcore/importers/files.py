"""The files of an imported install: read from its old uploads folder or fetched from its
base URL (through the outbound guard), written into sbcore's storage (the uploads
folder or the bucket of ``SB_STORAGE_URL``) by ``store``, the one place that writes."""

import os
import re
from urllib.parse import quote, unquote, urlparse

from .. import outbound
from ..storage import UnsafePath, check_key

# Support Board names uploads ``uploads/<dd-mm-yy>/<random>_<name>``
UPLOAD_PATH = re.compile(r"/uploads/(\d{2}-\d{2}-\d{2}/[^/?#]+)$")
MAX_BYTES = 100 * 1024 * 1024
TARGET_FOLDER = "imported"


class FileMissing(Exception):
    """A file the old install's rows reference that could not be read (the reason)."""


def relative_of(url):
    """``dd-mm-yy/name`` (unquoted) when ``url`` is a Support Board upload, else None."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return None
    match = UPLOAD_PATH.search(urlparse(url).path)
    if match is None:
        return None
    relative = unquote(match.group(1))
    if "\x00" in relative or ".." in relative.split("/"):
        return None
    return relative


def store(config, storage, relative, content):
    """Write an imported file as ``imported/<relative>`` in the storage; its URL."""
    target = check_key(f"{TARGET_FOLDER}/{relative}")
    storage.save(target, content)
    return config.upload_url(quote(target))


def stored_url(config, storage, relative):
    """The URL of an already imported file, or None."""
    target = check_key(f"{TARGET_FOLDER}/{relative}")
    return config.upload_url(quote(target)) if storage.exists(target) else None


class FileSource:
    """The old install's uploads: a folder (``/var/www/supportboard/uploads``) or a base
    URL (``https://old.example.com/supportboard/uploads``)."""

    def __init__(self, config, location):
        self.config = config
        self.location = location
        self.remote = location.lower().startswith(("http://", "https://"))
        self.session = outbound.new_session(config) if self.remote else None

    def read(self, relative):
        if self.remote:
            return self._fetch(relative)
        base = os.path.realpath(self.location)
        path = os.path.realpath(os.path.join(base, relative))
        if os.path.commonpath([base, path]) != base:
            raise FileMissing("outside the uploads folder")
        if not os.path.isfile(path):
            raise FileMissing(f"no file {relative} in {self.location}")
        if os.path.getsize(path) > MAX_BYTES:
            raise FileMissing(f"larger than {MAX_BYTES} bytes")
        with open(path, "rb") as handle:
            return handle.read()

    def _fetch(self, relative):
        url = f"{self.location.rstrip('/')}/{quote(relative)}"
        try:
            response = outbound.request(self.config, "GET", url, session=self.session, stream=True)
        except outbound.OutboundRefused as error:
            raise FileMissing(f"refused by the outbound guard: {error}")
        except Exception as error:  # noqa: BLE001 - requests' errors: the file is reported
            raise FileMissing(f"fetching {url} failed: {type(error).__name__}")
        with response:
            if response.status_code != 200:
                raise FileMissing(f"{url} answered HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FileMissing(f"larger than {MAX_BYTES} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    def close(self):
        if self.session is not None:
            self.session.close()


class FileCopier:
    """Copies each referenced upload once per run and answers its new URL; a file that
    cannot be read keeps its old URL and is reported."""

    def __init__(self, config, storage, source, dry_run=False):
        self.config = config
        self.storage = storage
        self.source = source
        self.dry_run = dry_run
        self.done = {}  # relative path -> new URL, or None when it failed
        self.copied = 0

    def url_for(self, url, report):
        """The new URL of ``url`` (an old upload), else ``url`` itself."""
        relative = relative_of(url)
        if relative is None or self.source is None:
            return url
        if relative not in self.done:
            self.done[relative] = self._copy(relative, report)
        return self.done[relative] or url

    def _copy(self, relative, report):
        try:
            existing = stored_url(self.config, self.storage, relative)
        except UnsafePath:
            report(f"file {relative}: unsafe path")
            return None
        if existing:
            return existing
        try:
            content = self.source.read(relative)
        except FileMissing as reason:
            report(f"file {relative}: {reason}")
            return None
        self.copied += 1
        if self.dry_run:
            return None
        return store(self.config, self.storage, relative, content)
