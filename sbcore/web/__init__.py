"""The WSGI application."""

import logging
import socket

import falcon

from ..core import Core
from ..errors import ApiError
from ..registry import collect_list
from . import events, openapi, widget
from .admin import resources as admin
from .resources import (ApiResource, HealthResource, StaticResource, UploadsResource,
                        envelope, error_envelope)

log = logging.getLogger("sbcore.web")


def handle_api_error(req, resp, error, params):
    error_envelope(resp, error, getattr(req.context, "dialect", "api"))


def handle_http_error(req, resp, error, params):
    if req.path.startswith(("/api", "/include/", "/widget/", "/admin/api", "/admin/upload")):
        code = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
            int(error.status_code), "http-error")
        envelope(resp, error.status, {"success": False, "response": code,
                                      "message": error.title or code})
    else:
        resp.status = error.status
        if error.headers:
            resp.set_headers(error.headers)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = error.title or ""


def handle_unexpected(req, resp, error, params):
    if isinstance(error, TimeoutError):  # the client stalled its body (sbcore.serving)
        sock = req.env.get("gunicorn.socket") if req is not None else None
        if sock is not None:  # nothing more is read from it: gunicorn closes it at once
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        envelope(resp, falcon.HTTP_408, {"success": False, "response": "request-timeout",
                                         "message": "The request body stalled."})
        return
    log.exception("internal error on %s", req.path, exc_info=error)
    envelope(resp, falcon.HTTP_500, {"success": False, "response": "internal-error",
                                     "message": "The server failed; the error is in its log."})


class SecurityHeaders:
    """Headers on every answer: browsers never guess a content type other than the one
    sent (``nosniff``)."""

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Content-Type-Options", "nosniff")


class App(falcon.App):
    """falcon's App with the core it serves (``app.sbcore``) and its worker's stop event."""

    sbcore = None
    sbcore_worker_stop = None


def create_app(config=None, core=None, start_worker=None, migrate=True, stream_options=None):
    """The WSGI app for ``config`` (or an existing ``core``), for gunicorn or for
    mounting inside another application. Pending migrations (core and plugins) are
    applied first; with ``migrate=False`` a schema that is not current stops it.
    ``stream_options`` (``heartbeat``, ``max_seconds``) tune the event streams."""
    core = core or Core(config)
    core.ensure_ready(migrate=migrate)
    app = App(cors_enable=False, middleware=[SecurityHeaders()])
    app.req_options.strip_url_path_trailing_slash = True
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(ApiError, handle_api_error)
    api = ApiResource(core)
    app.add_route("/api", api)
    app.add_route("/api/{function}", api)
    app.add_route("/include/api.php", ApiResource(core, dialect="sb"))
    app.add_route("/health", HealthResource(core))
    app.add_route("/uploads/{path:path}", UploadsResource(core))
    app.add_route("/static/{name}", StaticResource())
    app.add_route("/openapi.json", openapi.OpenApiResource(core))
    app.add_route("/docs", openapi.DocsResource(core))
    widget.add_routes(app, core)
    admin.add_routes(app, core)
    from .admin.session import user_for_request  # an agent's workspace session, else an admin token
    events.add_routes(app, core, admin_authenticate=events.first_of(user_for_request, events.admin_token_user),
                      **(stream_options or {}))
    for path, resource in collect_list(core.pm, "sbcore_register_routes", core=core):
        app.add_route(path, resource)
    app.sbcore = core
    if start_worker if start_worker is not None else core.config.worker == "inline":
        from ..worker import start_inline
        app.sbcore_worker_stop = start_inline(core)
    return app


def get_app():
    """The app configured by the environment alone (``gunicorn wsgi:app``)."""
    logging.basicConfig(level=logging.INFO)
    return create_app()


def get_events_app():
    """The app of ``sbcore serve --events`` (gunicorn's gevent workers call it after
    patching the standard library): psycopg2 waits through gevent, and this process
    never runs the outbox worker. PyMySQL and redis-py use the patched sockets."""
    logging.basicConfig(level=logging.INFO)
    try:
        from psycogreen.gevent import patch_psycopg
    except ImportError:
        pass
    else:
        patch_psycopg()
    return create_app(start_worker=False)

