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


def error_envelope(resp, error, dialect="api"):
    """The failure envelope of ``dialect``: on ``"api"`` the error's own HTTP status; on
    ``"sb"`` (Support Board 3.8's wire) the gate errors answer
    ``{"status":"error",...}`` with their status and every other failure is HTTP 200."""
    if dialect == "sb" and error.code not in TRANSPORT_ERRORS:
        if error.code in SB_GATE_ERRORS:
            envelope(resp, falcon.code_to_http_status(SB_GATE_ERRORS[error.code]),
                     {"status": "error", "response": error.code,
                      "message": sb_gate_message(error)})
            return
        envelope(resp, falcon.HTTP_200,
                 {"success": False, "response": error.code, "message": error.message})
        return
    envelope(resp, falcon.code_to_http_status(error.status),
             {"success": False, "response": error.code, "message": error.message})


# refusals of the request itself, before any function is looked at: their own HTTP status
# on every path, /include/api.php included
TRANSPORT_ERRORS = {"body-too-large", "length-required", "credential-in-url", "too-deep"}

# Support Board 3.8's gate errors on /include/api.php, in the order it checks them
SB_GATE_ERRORS = {"missing-function-name": 400, "function-not-found": 404,
                  "token-not-found": 401, "invalid-token": 401, "missing-argument": 400}


def sb_gate_message(error):
    """3.8's sentence for a gate error (the argument's name kept for missing-argument)."""
    if error.code == "missing-argument":
        return f"Missing argument: {getattr(error, 'argument', None) or ''}".rstrip()
    return {
        "missing-function-name": "Function name is required. Get it from the docs.",
        "function-not-found": error.message,
        "token-not-found": "Admin token is required. Get it from Users > Your admin user profile box.",
        "invalid-token": "Use a token of an administrator.",
    }[error.code]


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
        req.context.dialect = self.dialect  # the error handlers answer in this dialect
        with dbmod.connection():  # one pooled connection for the token check and the call
            if self.dialect == "sb":
                self.answer_sb(req, resp)
            else:
                self.answer(req, resp, function)

    def on_get(self, req, resp, function=None):
        if self.dialect != "sb":
            raise falcon.HTTPMethodNotAllowed(["POST"])
        # 3.8 ignores a query string: no function is named
        req.context.dialect = self.dialect
        raise ApiError("missing-function-name", "Function name is required.", 400)

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
        caller, stamp = self.core.admin_and_stamp(token)
        if caller is None:
            raise ApiError("invalid-token", "The token is not an admin's token.", 401)
        name = fields.pop("function", None)
        if not isinstance(name, str) or not name:
            raise ApiError("missing-function", "The field 'function' names the function to run.", 400)
        result = self.core.call_fields(name, fields, caller_id=caller, settings_stamp=stamp)
        envelope(resp, falcon.HTTP_200, {"success": True, "response": result})

    def answer_sb(self, req, resp):
        """Support Board 3.8's order of checks: function name, function, token, admin."""
        check_body_size(req, self.core.config.max_body_bytes)
        try:
            fields = read_fields(req)
        except ApiError as error:
            if error.code != "invalid-body":
                raise
            fields = {}  # 3.8 ignores a body it cannot parse: then no function is named
        name = fields.pop("function", None)
        if not isinstance(name, str) or not name:
            raise ApiError("missing-function-name", "Function name is required.", 400)
        function = self.core.functions.get(name)
        if function is None:
            from ..plugin_index import providing_distribution
            distribution = providing_distribution(name)
            hint = f" It comes with the plugin {distribution}, which is not installed: pip install " \
                f"{distribution}" if distribution else ""
            raise ApiError("function-not-found",
                           f"Function {name} not found. Check the function name.{hint}", 404)
        bearer = bearer_token(req)
        token = bearer if bearer is not None else fields.pop("token", None)
        if not isinstance(token, str) or not token:
            raise ApiError("token-not-found", "Admin token is required.", 401)
        caller, stamp = self.core.admin_and_stamp(token)
        if caller is None:
            raise ApiError("invalid-token", "Use a token of an administrator.", 401)
        result = self.core.run_function(function, fields, caller_id=caller, settings_stamp=stamp)
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
