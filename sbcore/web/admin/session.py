"""Workspace sessions: signing agents and admins in with email and password, the
session cookie, its CSRF token, and the rules that end a session.

A session is a row of ``sb_workspace_sessions`` keyed by the SHA-256 of a random token
that only the browser's cookie holds. It is valid until it expires, its user signs out,
is deleted (the row goes with the user) or stops being an agent or admin, or its
password changes (the row holds a keyed stamp of the password hash it was opened with).
Failed sign-ins are counted per address and per account (``sb_rate_hits``); an unknown
email runs bcrypt against a dummy hash so that it costs what a wrong password does.
Nothing here knows falcon: a request is anything with ``cookies`` (a dict)."""

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import bcrypt

from ... import db as dbmod
from ... import users as U
from ...db import utcnow
from ...errors import ApiError
from ...hooks import hookimpl
from ...models import RateHit, User, WorkspaceSession
from ...models.users import AGENT_TYPES
from ...settings import Setting

COOKIE = "sbcore_workspace"


@hookimpl
def sbcore_register_settings():
    return [
        Setting("workspace-session-hours", "number", 12,
                "How long a sign-in to the agent workspace (/admin) lasts, in hours."),
        Setting("workspace-sign-in-limit", "number", 10,
                "Failed workspace sign-ins allowed per address and per account within the "
                "window; more answer 429 until the window has passed. 0 turns the limit off."),
        Setting("workspace-sign-in-window", "number", 900,
                "The window of workspace-sign-in-limit, in seconds."),
    ]


@dataclass
class Session:
    """A live workspace session: who (``user_id``, ``role`` "agent" or "admin"), its
    ``csrf`` token and the key of its row."""

    key: str
    user_id: int
    role: str
    csrf: str
    name: str = ""


def token_key(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def password_stamp(secret_key, user_id, password_hash):
    """A keyed digest of the password hash a session was opened with."""
    return hmac.new(secret_key.encode("utf-8"), f"{user_id}:{password_hash}".encode("utf-8"),
                    hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=4)
def dummy_hash(rounds):
    """A bcrypt hash of the same cost as real ones, checked for unknown emails."""
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds)).decode("ascii")


def role_of(user_type):
    return "admin" if user_type == "admin" else "agent"


# --- rate limit of failed sign-ins ---


def limit_keys(address, email):
    return [f"workspace-address:{address}"[:191], f"workspace-account:{email}"[:191]]


def too_many_failures(core, keys):
    limit = core.settings.get("workspace-sign-in-limit")
    if not limit:
        return False
    since = utcnow() - timedelta(seconds=core.settings.get("workspace-sign-in-window"))
    return any(RateHit.select().where((RateHit.key == key) & (RateHit.time > since)).count() >= limit
               for key in keys)


def count_failure(core, keys):
    since = utcnow() - timedelta(seconds=core.settings.get("workspace-sign-in-window"))
    for key in keys:
        RateHit.delete().where((RateHit.key == key) & (RateHit.time <= since)).execute()
        RateHit.create(key=key, time=utcnow())


# --- signing in and out ---


def sign_in(core, address, email, password):
    """Open a session for the agent or admin with ``email`` and ``password``: answers
    ``(token, Session)`` or None when they do not match; 429 ``too-many-attempts``
    when the address or the account has failed too often lately."""
    email = (email or "").strip().lower()[:191]
    password = password or ""
    keys = limit_keys(address or "unknown", email)
    with dbmod.connection():
        if dbmod.in_transaction_retrying(core.database, lambda: too_many_failures(core, keys)):
            raise ApiError("too-many-attempts", "Too many failed sign-ins; try again later.", 429)
        user = User.get_or_none((User.email == email) & User.user_type.in_(AGENT_TYPES)) \
            if email else None
        hashed = user.password if user is not None and user.password else \
            dummy_hash(core.config.bcrypt_rounds)
        matches = U.check_password(password, hashed) and user is not None
        if not matches:
            dbmod.in_transaction_retrying(core.database, lambda: count_failure(core, keys))
            return None

        def open_session():
            RateHit.delete().where(RateHit.key == keys[1]).execute()
            WorkspaceSession.delete().where(WorkspaceSession.expires <= utcnow()).execute()
            token = secrets.token_urlsafe(32)
            session = WorkspaceSession.create(
                id=token_key(token), user=user.id, csrf=secrets.token_urlsafe(32),
                stamp=password_stamp(core.secret_key, user.id, user.password),
                expires=utcnow() + timedelta(hours=core.settings.get("workspace-session-hours")))
            return token, Session(session.id, user.id, role_of(user.user_type), session.csrf,
                                  f"{user.first_name} {user.last_name}".strip())
        return dbmod.in_transaction_retrying(core.database, open_session)


def session_for_token(core, token):
    """The live session of a cookie's token, or None."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    with dbmod.connection():
        row = (WorkspaceSession.select(WorkspaceSession, User).join(User)
               .where((WorkspaceSession.id == token_key(token))
                      & (WorkspaceSession.expires > utcnow())
                      & User.user_type.in_(AGENT_TYPES)).first())
        if row is None:
            return None
        user = row.user
        if not hmac.compare_digest(row.stamp, password_stamp(core.secret_key, user.id, user.password)):
            WorkspaceSession.delete().where(WorkspaceSession.id == row.id).execute()
            return None
    return Session(row.id, user.id, role_of(user.user_type), row.csrf,
                   f"{user.first_name} {user.last_name}".strip())


def cookie_token(req):
    value = (getattr(req, "cookies", None) or {}).get(COOKIE)
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def session_for_request(core, req):
    """The live workspace session of a request (its cookie), or None."""
    return session_for_token(core, cookie_token(req))


def user_for_request(core, req):
    """``(user_id, role)`` of the agent or admin whose workspace session cookie the
    request carries, or None: what other resources (``GET /admin/events``) build on."""
    session = session_for_request(core, req)
    return None if session is None else (session.user_id, session.role)


def csrf_matches(session, supplied):
    return isinstance(supplied, str) and bool(supplied) and \
        hmac.compare_digest(supplied.encode("utf-8"), session.csrf.encode("utf-8"))


def sign_out(core, session):
    with dbmod.connection():
        WorkspaceSession.delete().where(WorkspaceSession.id == session.key).execute()
