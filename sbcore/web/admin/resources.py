"""The workspace over HTTP: ``GET /admin`` (sign-in form or the inbox page),
``POST /admin/sign-in``, ``POST /admin/sign-out``, ``POST /admin/api`` (the registry
with a session instead of the admin token), ``POST /admin/upload`` and the page's
static files at ``/admin/static/<name>``."""

import os
from urllib.parse import urlsplit

import falcon
import jinja2

from ... import db as dbmod
from ... import visitor
from ...errors import ApiError
from ...registry import ApiFunction
from ..fields import read_fields
from ..resources import envelope, send_file
from . import session as S

HERE = os.path.dirname(__file__)
STATIC_DIR = os.path.join(HERE, "static")
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
                           autoescape=True)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: "
       "data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


def secure_headers(resp):
    resp.set_header("Content-Security-Policy", CSP)
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.set_header("X-Frame-Options", "DENY")
    resp.set_header("Referrer-Policy", "same-origin")  # "no-referrer" would make the Origin of our own form "null"
    resp.cache_control = ["no-store"]


def render(resp, template, status=falcon.HTTP_200, **values):
    secure_headers(resp)
    resp.status = status
    resp.content_type = falcon.MEDIA_HTML
    resp.text = PAGES.get_template(template).render(**values)


def client_address(core, req):
    if core.settings.get("widget-trust-forwarded-for"):
        forwarded = [a.strip() for a in (req.get_header("X-Forwarded-For") or "").split(",")
                     if a.strip()]
        if forwarded:
            return forwarded[-1]
    return req.remote_addr or "unknown"


def same_origin(core, req):
    """A form posted from elsewhere is refused (the browser sends Origin on POST)."""
    origin = req.get_header("Origin")
    if not origin or origin == "null":
        return origin is None
    allowed = {urlsplit(req.prefix)._replace(path="").geturl().rstrip("/")}
    if core.config.public_url:
        parts = urlsplit(core.config.public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin.rstrip("/") in allowed


def secure_cookie(core):
    return (core.config.public_url or "").lower().startswith("https://")


class PageResource:
    """``GET /admin``: the sign-in form, or the workspace for a live session
    (``POST /admin`` signs in as ``POST /admin/sign-in`` does)."""

    def __init__(self, core):
        self.core = core

    def on_get(self, req, resp):
        session = S.session_for_request(self.core, req)
        if session is None:
            render(resp, "sign-in.html", error="")
            return
        # the page opens /admin/events where an events server takes the streams
        # (SB_EVENTS_URL, as for the widget), so that they never hold the request workers
        render(resp, "workspace.html", session=session, events=bool(self.core.config.events_url))

    def on_post(self, req, resp):
        """A sign-in form posted to /admin itself is a sign-in."""
        SignInResource(self.core).on_post(req, resp)


class SignInResource:
    """``POST /admin/sign-in`` (a form: ``email``, ``password``)."""

    def __init__(self, core):
        self.core = core

    def on_post(self, req, resp):
        if not same_origin(self.core, req):
            render(resp, "sign-in.html", falcon.HTTP_403, error="Sign in from this server's own page.")
            return
        try:
            fields = read_fields(req)
        except ApiError:
            fields = {}
        email, password = fields.get("email"), fields.get("password")
        email = email if isinstance(email, str) else ""
        try:
            opened = S.sign_in(self.core, client_address(self.core, req), email,
                               password if isinstance(password, str) else "")
        except ApiError as error:
            render(resp, "sign-in.html", falcon.code_to_http_status(error.status),
                   error=error.message, email=email)
            return
        if opened is None:
            render(resp, "sign-in.html", falcon.HTTP_401, error="Wrong email or password.",
                   email=email)
            return
        token, session = opened
        with dbmod.connection():
            hours = self.core.settings.get("workspace-session-hours")
        resp.set_cookie(S.COOKIE, token, max_age=int(hours * 3600), path="/admin",
                        secure=secure_cookie(self.core), http_only=True, same_site="Strict")
        secure_headers(resp)
        resp.status = falcon.HTTP_303
        resp.set_header("Location", "/admin")


class SignOutResource:
    """``POST /admin/sign-out`` with the page's CSRF token (header or form field)."""

    def __init__(self, core):
        self.core = core

    def on_post(self, req, resp):
        session = S.session_for_request(self.core, req)
        if session is not None:
            supplied = req.get_header("X-CSRF-Token")
            if supplied is None:
                try:
                    supplied = read_fields(req).get("csrf")
                except ApiError:
                    supplied = None
            if not S.csrf_matches(session, supplied):
                raise ApiError("invalid-csrf-token", "Send the page's CSRF token.", 403)
            S.sign_out(self.core, session)
        resp.unset_cookie(S.COOKIE, path="/admin")
        secure_headers(resp)
        resp.status = falcon.HTTP_303
        resp.set_header("Location", "/admin")


def require_session(core, req):
    """The request's session with a matching ``X-CSRF-Token``: 401 without a session,
    403 without the token."""
    session = S.session_for_request(core, req)
    if session is None:
        raise ApiError("not-signed-in", "Sign in at /admin first; the session is missing, "
                       "expired or ended.", 401)
    if not S.csrf_matches(session, req.get_header("X-CSRF-Token")):
        raise ApiError("invalid-csrf-token", "Send the page's CSRF token (meta csrf-token) as "
                       "the X-CSRF-Token header.", 403)
    return session


class ApiResource:
    """``POST /admin/api``: the registered functions, called with the session; an agent
    calling a function that is not its role's answers 403 ``forbidden``."""

    def __init__(self, core):
        self.core = core

    def on_post(self, req, resp):
        with dbmod.connection():
            session = require_session(self.core, req)
            fields = read_fields(req)
            fields.pop("token", None)
            name = fields.pop("function", None)
            if not isinstance(name, str) or not name:
                raise ApiError("missing-function", "The field 'function' names the function to run.", 400)
            function = self.core.function(name)
            if not function.may_call(session.role):
                raise ApiError("forbidden", f"'{name}' is for admins only.", 403)
            result = self.core.run_function(function, fields, caller_id=session.user_id)
        envelope(resp, falcon.HTTP_200, {"success": True, "response": result})


class UploadResource:
    """``POST /admin/upload``: one file (multipart field ``file``) for a reply, through
    the uploads allow-list; answers its name and URL."""

    def __init__(self, core):
        self.core = core
        self.function = ApiFunction("upload", visitor.save_upload)

    def on_post(self, req, resp):
        with dbmod.connection():
            session = require_session(self.core, req)
            limit = self.core.settings.get("widget-upload-max-bytes")
            if req.content_length is None:
                raise ApiError("length-required", "Send the file with a Content-Length.", 411)
            if req.content_length > limit + 64 * 1024:
                raise ApiError("file-too-large", f"Files are at most {limit} bytes.", 413)
            result = self.core.run_function(self.function, read_fields(req),
                                            caller_id=session.user_id)
        envelope(resp, falcon.HTTP_200, {"success": True, "response": result})


class StaticResource:
    def on_get(self, req, resp, name):
        if name not in os.listdir(STATIC_DIR):
            raise falcon.HTTPNotFound()
        send_file(resp, os.path.join(STATIC_DIR, name))
        resp.set_header("Content-Disposition", "inline")
        if name.endswith(".js"):
            resp.content_type = "text/javascript; charset=utf-8"
        elif name.endswith(".css"):
            resp.content_type = "text/css; charset=utf-8"
        resp.cache_control = ["no-cache"]


def add_routes(app, core):
    app.add_route("/admin", PageResource(core))
    app.add_route("/admin/sign-in", SignInResource(core))
    app.add_route("/admin/sign-out", SignOutResource(core))
    app.add_route("/admin/api", ApiResource(core))
    app.add_route("/admin/upload", UploadResource(core))
    app.add_route("/admin/static/{name}", StaticResource())
