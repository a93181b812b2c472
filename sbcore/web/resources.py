"""The HTTP resources: the Web API, health, uploads and the static files."""

import logging
import mimetypes
import os

import falcon

from .. import db as dbmod
from .. import uploads
from ..errors import ApiError
from .access import request_admin
from .fields import bearer_token, dumps, read_fields

log = logging.getLogger("sbcore.web")
TOO_LARGE = getattr(falcon, "HTTPContentTooLarge", None) or falcon.HTTPPayloadTooLarge  # falcon 4 / 3
STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")


def envelope(resp, status, body):
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = dumps(body)


def error_envelope(resp, error):
    envelope(resp, falcon.code_to_http_status(error.status),
             {"success": False, "response": error.code, "message": error.message})


class ApiResource:
    """``POST /api``, ``POST /api/{function}`` and ``POST /include/api.php``: the admin
    Web API. ``dialect`` is the envelope it answers in: ``"api"`` (sbcore's HTTP
    statuses) or ``"sb"`` (Support Board 3.8's wire, on ``/include/api.php``)."""

    def __init__(self, core, dialect="api"):
        self.core = core
        self.dialect = dialect

    def on_post(self, req, resp, function=None):
        with dbmod.connection():  # one pooled connection for the token check and the call
            self.answer(req, resp, function)

    def answer(self, req, resp, function=None):
        fields = read_fields(req)
        if function is not None:
            fields["function"] = function
        bearer = bearer_token(req)
        token = bearer if bearer is not None else fields.pop("token", None)
        if not isinstance(token, str) or not token:
            raise ApiError("missing-token", "Send an admin token as 'token' or "
                           "'Authorization: Bearer <token>'.", 401)
        caller = self.core.admin_for_token(token)
        if caller is None:
            raise ApiError("invalid-token", "The token is not an admin's token.", 401)
        name = fields.pop("function", None)
        if not isinstance(name, str) or not name:
            raise ApiError("missing-function", "The field 'function' names the function to run.", 400)
        result = self.core.call_fields(name, fields, caller_id=caller)
        envelope(resp, falcon.HTTP_200, {"success": True, "response": result})


class HealthResource:
    def __init__(self, core):
        self.core = core

    def on_get(self, req, resp):
        try:
            with dbmod.connection() as database:
                database.execute_sql("SELECT 1").fetchone()
        except Exception:
            log.exception("health check failed")
            envelope(resp, falcon.HTTP_503, {"status": "error", "database": False})
            return
        envelope(resp, falcon.HTTP_200, {"status": "ok", "database": True})


def file_headers(resp, content_type):
    resp.content_type = content_type
    resp.set_header("X-Content-Type-Options", "nosniff")
    if not content_type.startswith("image/"):
        resp.set_header("Content-Disposition", "attachment")
    resp.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")


def send_file(resp, path):
    if not os.path.isfile(path):
        raise falcon.HTTPNotFound()
    file_headers(resp, mimetypes.guess_type(path)[0] or "application/octet-stream")
    resp.stream = open(path, "rb")
    resp.content_length = os.path.getsize(path)


class UploadsResource:
    """``GET /uploads/<path>``: the files the API wrote, streamed from the storage
    (sbcore.storage), or a redirect to a presigned URL of the bucket when
    ``SB_STORAGE_PRESIGN`` gives it a lifetime; no listing, no way out. Exports and
    backups (``uploads.PRIVATE_FOLDERS``) go only to an admin, never cached, and only
    until they expire."""

    def __init__(self, core):
        self.core = core

    def on_get(self, req, resp, path):
        storage = self.core.storage
        try:
            key = uploads.check_key(path)
        except uploads.UnsafePath:
            raise falcon.HTTPNotFound()
        if uploads.is_private(key):
            self.send_private(req, resp, key)
            return
        seconds = self.core.config.storage_presign
        if seconds > 0:
            url = storage.presigned_url(key, seconds)
            if url is not None:
                if not storage.exists(key):
                    raise falcon.HTTPNotFound()
                resp.cache_control = ["private", f"max-age={max(seconds - 30, 0)}"]
                raise falcon.HTTPFound(url, headers={"Cache-Control": resp.get_header("Cache-Control")})
        try:
            blob = storage.open(key)
        except (FileNotFoundError, IsADirectoryError, uploads.UnsafePath):
            raise falcon.HTTPNotFound()
        file_headers(resp, uploads.content_type_of(key))
        resp.stream = blob.stream
        resp.content_length = blob.size

    def send_private(self, req, resp, key):
        private = {"Cache-Control": "private, no-store"}
        with dbmod.connection():
            if request_admin(self.core, req) is None:
                raise falcon.HTTPUnauthorized(
                    title="Exports are served to an admin: send Authorization: Bearer <admin token>.",
                    headers=dict(private, **{"WWW-Authenticate": "Bearer"}))
            found = uploads.live_file(key)
        if found is None:
            raise falcon.HTTPNotFound(headers=private)
        try:
            blob = self.core.storage.open(key)
        except (FileNotFoundError, IsADirectoryError):
            raise falcon.HTTPNotFound(headers=private)
        file_headers(resp, uploads.content_type_of(key))
        resp.cache_control = ["private", "no-store"]
        resp.stream = blob.stream
        resp.content_length = blob.size


class StaticResource:
    def on_get(self, req, resp, name):
        if name not in os.listdir(STATIC_DIR):
            raise falcon.HTTPNotFound()
        send_file(resp, os.path.join(STATIC_DIR, name))
        resp.set_header("Content-Disposition", "inline")
        resp.cache_control = ["public", "max-age=86400"]


class ChannelResource:
    """An inbound webhook of an outside service (``sbcore.channels.route``): the
    handler's ``get``/``post`` take a ``channels.Request`` and answer a
    ``channels.Answer``, so that plugins never touch falcon."""

    def __init__(self, handler):
        self.handler = handler

    def on_get(self, req, resp, **path):
        self.answer(req, resp, "get", path)

    def on_post(self, req, resp, **path):
        self.answer(req, resp, "post", path)

    def answer(self, req, resp, method, path):
        from ..channels import REQUEST_MAX_BYTES, Request
        handle = getattr(self.handler, method, None)
        if handle is None:
            raise falcon.HTTPMethodNotAllowed([m.upper() for m in ("get", "post")
                                               if hasattr(self.handler, m)])
        if (req.content_length or 0) > REQUEST_MAX_BYTES:
            raise TOO_LARGE()
        body = req.bounded_stream.read(REQUEST_MAX_BYTES + 1)
        if len(body) > REQUEST_MAX_BYTES:
            raise TOO_LARGE()
        request = Request(method=method.upper(), params=dict(req.params),
                          headers={k.lower(): v for k, v in req.headers.items()}, body=body, path=path)
        try:
            with dbmod.connection():
                answer = handle(request)
        except ApiError as error:
            resp.status = falcon.code_to_http_status(error.status)
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = error.message
            return
        resp.status = falcon.code_to_http_status(answer.status)
        resp.content_type = answer.content_type
        resp.text = answer.text
