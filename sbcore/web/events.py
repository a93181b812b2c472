"""Server-Sent Events: ``GET /widget/events`` (a visitor's own conversations) and
``GET /admin/events`` (an agent's view), fed by the process's realtime hub.

The visitor authenticates with the login cookie as ``Authorization: Bearer`` (the
widget reads the stream with ``fetch``) or with a single-use ticket of the visitor
API's ``stream-ticket`` as ``?ticket=``; never with the login cookie in the URL. The
agent's stream takes an ``authenticate(core, req) -> (user_id, role) | None`` callable,
so the workspace's session plugs in beside the admin token; an agent restricted to a
department gets that department's conversations only.

Each event carries its id; a reconnect sends ``Last-Event-ID`` and gets what it missed.
A stream lasts at most ``max_seconds`` and sends a comment every ``heartbeat``
seconds, so that dead connections are noticed and proxies keep it open. Serve these
paths with ``sbcore serve --events`` (gevent workers), not with the request workers."""

import json
import logging
import threading
import time

import falcon

from .. import db as dbmod
from ..conversations import agent_department
from ..functions import auth
from ..errors import ApiError
from ..models import Conversation, User
from ..realtime import events as realtime_events
from .fields import bearer_token
from .widget import CorsResource

log = logging.getLogger("sbcore.web.events")

HEARTBEAT = 15.0  # well inside presence-online-seconds (30)
MAX_SECONDS = 600.0
RETRY_MS = 3000
MAX_ID = 2 ** 63 - 1


def frame(event):
    return f"id: {event['id']}\nevent: {event['kind']}\ndata: {event['data']}\n\n".encode("utf-8")


def last_event_id(req):
    value = (req.get_header("Last-Event-ID") or req.get_param("last_event_id") or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_ID:
        raise ApiError("invalid-argument", "Last-Event-ID must be an event id.", 400)
    return int(value)


def keep_all(event):
    return True


def stream(hub, subscription, replayed, heartbeat, max_seconds, keep=keep_all):
    """The body of an event stream: the replay, then live events and heartbeats, until
    ``max_seconds`` pass or the reader falls too far behind (it reconnects and resumes).
    ``keep(event)`` leaves out the events it answers false for."""
    try:
        yield f"retry: {RETRY_MS}\n: ready\n\n".encode("ascii")
        sent = set()
        if replayed is None:
            yield b"event: reset\ndata: {}\n\n"
        else:
            for event in replayed:
                sent.add(event["id"])
                if keep(event):
                    yield frame(event)
        deadline = time.monotonic() + max_seconds
        while not subscription.overflowed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            event = subscription.get(min(heartbeat, left))
            if event is None:
                yield b": ping\n\n"
                continue
            if event["id"] in sent:
                continue
            if keep(event):
                yield frame(event)
            # the rest of a burst without waking the loop again
            while True:
                try:
                    more = subscription.queue.get_nowait()
                except Exception:
                    break
                if more["id"] not in sent and keep(more):
                    yield frame(more)
    finally:
        hub.unsubscribe(subscription)


class PresenceKeeper:
    """While a visitor's stream is open the visitor is online: every ``every`` seconds
    one statement touches all the visitors streaming from this process (in no
    transaction, so nothing waits on a lock across a switch of the event loop).
    Started with the first visitor's stream."""

    def __init__(self, core, every=HEARTBEAT):
        self.core, self.every = core, every
        self.lock = threading.Lock()
        self.thread = None

    def start(self):
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="sbcore-presence-keeper",
                                               daemon=True)
                self.thread.start()

    def run(self):
        hub = self.core.realtime
        while not hub.stopping.wait(self.every):
            self.touch()

    def touch(self):
        ids = self.core.realtime.visitor_ids()
        if not ids:
            return
        try:
            with dbmod.connection():
                self.core.presence.touch_many(ids)
        except Exception:
            log.exception("could not keep %d streaming visitors online", len(ids))


def open_stream(core, resp, subscription_args, last_id, heartbeat, max_seconds, keep=keep_all):
    hub = core.realtime
    subscription = hub.subscribe(**subscription_args)
    try:
        replayed = [] if last_id is None else hub.replay(subscription, last_id)
    except Exception:
        hub.unsubscribe(subscription)
        raise
    resp.status = falcon.HTTP_200
    resp.content_type = "text/event-stream; charset=utf-8"
    resp.cache_control = ["no-cache", "no-store"]
    resp.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
    resp.stream = stream(hub, subscription, replayed, heartbeat, max_seconds, keep)


class WidgetEventsResource(CorsResource):
    """``GET /widget/events``: the visitor's stream."""

    def __init__(self, core, heartbeat=HEARTBEAT, max_seconds=MAX_SECONDS):
        super().__init__(core)
        self.heartbeat, self.max_seconds = heartbeat, max_seconds
        self.presence = PresenceKeeper(core, every=min(heartbeat, HEARTBEAT))

    def on_options(self, req, resp):
        if self.cors(req, resp) is not None:
            resp.set_header("Access-Control-Allow-Methods", "GET, OPTIONS")
            resp.set_header("Access-Control-Allow-Headers", "Authorization, Last-Event-ID")
            resp.set_header("Access-Control-Max-Age", "600")
        resp.status = falcon.HTTP_204

    def visitor_id(self, req):
        cookie = bearer_token(req)
        ticket = req.get_param("ticket")
        if cookie:
            # read only: a stream server holds thousands of streams in one process, where
            # a write transaction waiting on another would stall them all (SQLite); the
            # heartbeats keep the visitor online
            with dbmod.connection():
                user = auth.user_from_cookie(self.core.context(), cookie)
            if user is not None:
                return user.id
        if ticket:
            with dbmod.connection():
                user_id = dbmod.in_transaction_retrying(
                    self.core.database, lambda: realtime_events.redeem_ticket(ticket))
            if user_id is not None:
                return user_id
        raise ApiError("invalid-login-cookie", "Send the login cookie as 'Authorization: Bearer "
                       "<cookie>', or a ticket of stream-ticket as ?ticket=; this one is missing, "
                       "expired or used.", 401)

    def on_get(self, req, resp):
        self.cors(req, resp)
        if req.get_param("login-cookie") or req.get_param("login_cookie") or req.get_param("token"):
            raise ApiError("credentials-in-url", "Never put the login cookie in the URL: send it as "
                           "'Authorization: Bearer <cookie>' or use a stream ticket.", 400)
        last_id = last_event_id(req)
        user_id = self.visitor_id(req)
        open_stream(self.core, resp, {"user_id": user_id}, last_id, self.heartbeat,
                    self.max_seconds)
        self.presence.start()


def admin_token_user(core, req):
    """``Authorization: Bearer <admin token>``: ``(user_id, "admin")`` or None."""
    token = bearer_token(req)
    if not token:
        return None
    user_id = core.admin_for_token(token)
    return (user_id, "admin") if user_id else None


def first_of(*authenticators):
    """An authenticator that tries each of ``authenticators`` in turn."""
    def authenticate(core, req):
        for candidate in authenticators:
            found = candidate(core, req)
            if found:
                return found
        return None
    return authenticate


class DepartmentView:
    """``keep`` of the stream of an agent restricted to ``department``
    (:func:`sbcore.conversations.agent_department`): the events of that department's
    conversations, an ``assignment`` that moves a conversation into or out of it, and the
    events of no conversation (presence). A conversation's department is read once per
    stream and then followed through the ``assignment`` events."""

    CACHE = 10000

    def __init__(self, department):
        self.department = department
        self.departments = {}  # conversation id -> its department (None: none)

    def department_of(self, conversation_id):
        if conversation_id not in self.departments:
            if len(self.departments) >= self.CACHE:
                self.departments.clear()
            with dbmod.connection():
                row = (Conversation.select(Conversation.department)
                       .where(Conversation.id == conversation_id).tuples().first())
            self.departments[conversation_id] = row[0] if row else None
        return self.departments[conversation_id]

    def __call__(self, event):
        conversation_id = event.get("conversation_id")
        if conversation_id is None:
            return True
        before = self.department_of(conversation_id)
        if event["kind"] == "assignment":
            data = json.loads(event["data"])
            if "department" in data:
                after = int(data["department"]) if data["department"] not in (None, "") else None
                self.departments[conversation_id] = after
                return self.department in (before, after)
        return before == self.department


class AdminEventsResource:
    """``GET /admin/events``: an agent's or admin's stream of the conversations they may
    see (an agent restricted to a department: that department's)."""

    def __init__(self, core, authenticate=admin_token_user, heartbeat=HEARTBEAT,
                 max_seconds=MAX_SECONDS):
        self.core = core
        self.authenticate = authenticate
        self.heartbeat, self.max_seconds = heartbeat, max_seconds

    def on_get(self, req, resp):
        if req.get_param("token"):
            raise ApiError("credentials-in-url", "Never put the token in the URL: send it as "
                           "'Authorization: Bearer <token>'.", 400)
        last_id = last_event_id(req)
        found = self.authenticate(self.core, req)
        if not found:
            raise ApiError("unauthorized", "Sign in to the workspace (or send an admin token as "
                           "'Authorization: Bearer <token>').", 401)
        user_id, role = found
        keep = keep_all
        if role != "admin":
            with dbmod.connection():
                department = agent_department(User.get_or_none(User.id == user_id))
            if department is not None:
                keep = DepartmentView(department)
        open_stream(self.core, resp, {"agent": True}, last_id, self.heartbeat, self.max_seconds,
                    keep)


def add_routes(app, core, admin_authenticate=admin_token_user, **options):
    app.add_route("/widget/events", WidgetEventsResource(core, **options))
    app.add_route("/admin/events", AdminEventsResource(core, admin_authenticate, **options))
