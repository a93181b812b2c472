"""The HTTP resources: the Web API, health, uploads and the static files."""

import logging
import mimetypes
import os

import falcon

from .. import db as dbmod
from .. import uploads
from ..errors import ApiError
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


def check_body_size(req, limit):
    """413 before anything reads a body larger than ``limit`` bytes; a body without a
    length (chunked) answers 411, so that nothing reads an unbounded stream."""
    if req.content_length is None:
        if req.get_header("Transfer-Encoding"):
            raise ApiError("length-required", "Send the body with a Content-Length.", 411)
    elif req.content_length > limit:
        raise ApiError("body-too-large", f"Request bodies are at most {limit} bytes.", 413)


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
        check_body_size(req, self.core.config.max_body_bytes)
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


def send_file(resp, path):
    if not os.path.isfile(path):
        raise falcon.HTTPNotFound()
    resp.content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    resp.set_header("X-Content-Type-Options", "nosniff")
    if not resp.content_type.startswith("image/"):
        resp.set_header("Content-Disposition", "attachment")
    resp.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
    resp.stream = open(path, "rb")
    resp.content_length = os.path.getsize(path)


class UploadsResource:
    """``GET /uploads/<path>``: the files the API wrote; no listing, no way out."""

    def __init__(self, core):
        self.core = core

    def on_get(self, req, resp, path):
        try:
            absolute = uploads.resolve(self.core.config, path)
        except uploads.UnsafePath:
            raise falcon.HTTPNotFound()
        send_file(resp, absolute)


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
