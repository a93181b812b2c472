"""The visitor side over HTTP: ``POST /widget/api``, ``POST /widget/upload``,
``GET /widget.js`` and ``GET /chat``.

Cross-origin pages call the API with the login cookie in the body or the
``Authorization`` header, never as a browser cookie, so CORS needs no credentials: the
allowed origins come from the ``widget-allowed-origins`` setting."""

import os

import falcon
import jinja2

from .. import db as dbmod
from .. import visitor
from ..errors import ApiError
from ..registry import ApiFunction
from .fields import bearer_token, dumps, read_fields
from .resources import STATIC_DIR, check_body_size, envelope

PAGES = jinja2.Environment(loader=jinja2.PackageLoader("sbcore", "web/templates"),
                           autoescape=True)
WIDGET_FILE = os.path.join(STATIC_DIR, "widget.js")


def allowed_origin(core, origin):
    """The value of Access-Control-Allow-Origin for ``origin``, or None."""
    if not origin:
        return None
    with dbmod.connection():
        setting = core.settings.get("widget-allowed-origins")
    allowed = {o.strip().rstrip("/") for o in setting.split(",") if o.strip()}
    if "*" in allowed:
        return "*"
    return origin if origin.rstrip("/") in allowed else None


class CorsResource:
    """Answers preflights and adds the CORS headers of the allowed origins."""

    def __init__(self, core):
        self.core = core

    def cors(self, req, resp):
        origin = allowed_origin(self.core, req.get_header("Origin"))
        if origin is not None:
            resp.set_header("Access-Control-Allow-Origin", origin)
            resp.set_header("Vary", "Origin")
        return origin

    def on_options(self, req, resp):
        if self.cors(req, resp) is not None:
            resp.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            resp.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
            resp.set_header("Access-Control-Max-Age", "600")
        resp.status = falcon.HTTP_204

    def client_address(self, req):
        if self.core.settings.get("widget-trust-forwarded-for"):
            forwarded = [a.strip() for a in (req.get_header("X-Forwarded-For") or "").split(",")
                         if a.strip()]
            if forwarded:
                return forwarded[-1]
        return req.remote_addr or "unknown"


class WidgetApiResource(CorsResource):
    """``POST /widget/api``: the visitor API (see sbcore.visitor)."""

    def __init__(self, core):
        super().__init__(core)
        self.functions = visitor.functions()

    def on_post(self, req, resp):
        self.cors(req, resp)
        check_body_size(req, self.core.config.max_body_bytes)
        with dbmod.connection():
            fields = read_fields(req)
            name = fields.pop("function", None)
            function = self.functions.get(name) if isinstance(name, str) else None
            if function is None:
                raise ApiError("function-not-found", f"The visitor API has no function named "
                               f"'{name}'.", 404)
            cookie = bearer_token(req) or fields.pop("login-cookie", None)
            fields.pop("login_cookie", None)
            address = self.client_address(req)
            setup = (lambda ctx: visitor.identify(ctx, cookie, address)) if name in visitor.PUBLIC \
                else (lambda ctx: visitor.authenticate(ctx, cookie))
            if name in visitor.RATE_LIMITED:
                visitor.check_rate(self.core, address, name)
            result = self.core.run_function(function, fields, setup=setup)
        envelope(resp, falcon.HTTP_200, {"success": True, "response": result})


class WidgetUploadResource(CorsResource):
    """``POST /widget/upload``: one file (multipart field ``file``) from a logged-in
    visitor, checked against the extension allow-list; answers its name and URL."""

    def __init__(self, core):
        super().__init__(core)
        self.function = ApiFunction("upload", visitor.save_upload)

    def on_post(self, req, resp):
        self.cors(req, resp)
        with dbmod.connection():
            limit = self.core.settings.get("widget-upload-max-bytes")
            if req.content_length is None:
                raise ApiError("length-required", "Send the file with a Content-Length.", 411)
            if req.content_length > limit + 64 * 1024:
                raise ApiError("file-too-large", f"Files are at most {limit} bytes.", 413)
            fields = read_fields(req)
            cookie = bearer_token(req) or fields.pop("login-cookie", None)
            result = self.core.run_function(self.function, fields,
                                            setup=lambda ctx: visitor.authenticate(ctx, cookie))
        envelope(resp, falcon.HTTP_200, {"success": True, "response": result})


def widget_config(core, req):
    with dbmod.connection():
        settings = core.settings
        return {"url": core.config.public_url or req.prefix,
                "colors": {name: settings.get(name) for name in ("color-1", "color-2", "color-3")},
                "poll_ms": 1500,
                # the event stream's base URL when one serves them, else the widget polls
                "events_url": core.config.events_url or None,
                "title": settings.get("widget-title")}


def script_json(value):
    """JSON that is safe inside a script (no ``</script>``, no line separators)."""
    return (dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class WidgetScriptResource:
    """``GET /widget.js``: the widget with its configuration on the first line."""

    def __init__(self, core):
        self.core = core

    def on_get(self, req, resp):
        if not os.path.isfile(WIDGET_FILE):
            raise falcon.HTTPNotFound()
        with open(WIDGET_FILE, encoding="utf-8") as handle:
            source = handle.read()
        resp.content_type = "application/javascript; charset=utf-8"
        resp.cache_control = ["public", "max-age=300"]
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.text = f"window.SBCORE_CONFIG = {script_json(widget_config(self.core, req))};\n{source}"


class ChatPageResource:
    """``GET /chat``: a page with nothing but the widget, opened in full."""

    def __init__(self, core):
        self.core = core

    def on_get(self, req, resp):
        config = widget_config(self.core, req)
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' https: http: data: blob:; "
                        "style-src 'self' 'unsafe-inline'; script-src 'self'; "
                        f"connect-src 'self' {config['url']} {config['events_url'] or ''}; "
                        "frame-ancestors 'self'")
        resp.text = PAGES.get_template("chat.html").render(widget_url="/widget.js",
                                                           title=config["title"])


class ConfirmEmailResource:
    """``GET /widget/confirm-email?code=…``: the link ``send-email-confirmation`` mails;
    it verifies the email it was sent to while that is still the user's."""

    def __init__(self, core):
        self.core = core

    def on_get(self, req, resp):
        from .. import identity
        code = req.get_param("code") or ""
        user = self.core.run(lambda ctx: identity.confirm(ctx, code)) if code else None
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = ["no-store"]
        resp.set_header("Referrer-Policy", "no-referrer")
        if user is None:
            resp.status = falcon.HTTP_400
            resp.text = "<!doctype html><title>Link not valid</title><p>This link is not valid " \
                        "any more: ask for a new one in the chat.</p>"
        else:
            resp.text = "<!doctype html><title>Email confirmed</title><p>Thank you: your email " \
                        "is confirmed.</p>"


def add_routes(app, core):
    app.add_route("/widget/api", WidgetApiResource(core))
    app.add_route("/widget/upload", WidgetUploadResource(core))
    app.add_route("/widget/confirm-email", ConfirmEmailResource(core))
    app.add_route("/widget.js", WidgetScriptResource(core))
    app.add_route("/chat", ChatPageResource(core))
