"""Logging in and out: bcrypt passwords, signed and expiring login cookies with a
server-side session that logout ends, and the admin-token check of the Web API."""

import hmac
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from peewee import SQL

from .. import users as U
from ..db import Prepared, utcnow
from ..errors import ApiError
from ..models import LoginSession, Setting, User
from ..registry import AGENT, FunctionSet
from ..settings import stamp_select

functions = FunctionSet()
COOKIE_SALT = "sb-login"


sbcore_register_functions = functions.hook()


# Every admin's id and token, and (id NULL) the settings stamp: one round trip serves the
# token check and the call's settings (see SettingsStore.view).
ADMINS_AND_STAMP = Prepared(lambda: User.select(User.id, User.token).where(User.user_type == "admin")
                            + stamp_select(SQL("NULL"), Setting.value))


def admin_for_token(token):
    """The id of the admin whose token equals ``token``, compared in constant time
    against every admin's token, or None."""
    return admin_and_stamp(token)[0]


def admin_and_stamp(token):
    """``(admin id or None, settings stamp)``: see ``admin_for_token``; the stamp is
    None when no token is given (nothing was read)."""
    if not token:
        return None, None
    found, stamp = None, ""
    supplied = token.encode("utf-8")
    for user_id, value in ADMINS_AND_STAMP.execute().fetchall():
        if user_id is None:
            stamp = value or ""
        elif hmac.compare_digest(supplied, value.encode("utf-8")):
            found = user_id
    return found, stamp


def serializer(ctx):
    return URLSafeTimedSerializer(ctx.secret_key, salt=COOKIE_SALT)


def cookie_days(ctx):
    return ctx.settings.get("login-cookie-days")


def issue_cookie(ctx, user):
    session_id = secrets.token_urlsafe(24)
    LoginSession.create(id=session_id, user=user.id,
                        expires=utcnow() + timedelta(days=cookie_days(ctx)))
    return serializer(ctx).dumps({"id": user.id, "sid": session_id})


def session_from_cookie(ctx, cookie):
    """The live session of a login cookie, with its ``user`` loaded in the same query, or
    None (bad signature, expired, logged out). The session row's expiry is the one that
    counts, so no setting is read here."""
    try:
        data = serializer(ctx).loads(cookie)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    return (LoginSession.select(LoginSession, User).join(User)
            .where((LoginSession.id == str(data.get("sid"))) & (LoginSession.user == data["id"])
                   & (LoginSession.expires > utcnow())).first())


def user_from_cookie(ctx, cookie):
    session = session_from_cookie(ctx, cookie)
    return None if session is None else session.user


def require_session(ctx, cookie):
    session = session_from_cookie(ctx, cookie or "")
    if session is None:
        raise ApiError("invalid-login-cookie",
                       "The login cookie is not valid: it is malformed, expired or logged out.", 401)
    return session


def end_session(session_id):
    LoginSession.delete().where(LoginSession.id == session_id).execute()


def log_in(ctx, user):
    ctx.presence.touch(user.id)
    ctx.hook.sbcore_on_login(ctx=ctx, user=user)
    return [U.login_row(user, ctx.config.public_url), issue_cookie(ctx, user)]


@functions("login", spellings={"token": ("user_token",)})
def login(ctx, email: str = "", password: str = "", user_id: int | None = None, token: str = ""):
    if email and password:
        user = User.get_or_none(User.email == email.strip().lower())
        if user is None or not user.password:
            U.check_password(password, U.dummy_hash(ctx.config))  # an unknown email costs the same
            return False                                          # bcrypt check as a wrong password
        if not U.authenticate(ctx, user, password):
            return False
        return log_in(ctx, user)
    if user_id is not None and token:
        user = U.get_user(user_id)
        if user is None or not hmac.compare_digest(token.encode(), user.token.encode()):
            return False
        return log_in(ctx, user)
    return False  # as Support Board 3.8: no credentials are wrong credentials


@functions("logout", role=AGENT)
def logout(ctx, login_cookie: str = "", user_id: int | None = None):
    if login_cookie:
        session = session_from_cookie(ctx, login_cookie)
        if session is not None:
            end_session(session.id)
        return True
    if user_id is not None:
        U.require_user(user_id)
        LoginSession.delete().where(LoginSession.user == user_id).execute()
        return True
    return True  # nothing to end (Support Board 3.8 answers true)


@functions("update-login")
def update_login(ctx, login_cookie: str, profile_image: str = "", first_name: str = "",
                 last_name: str = "", email: str = "", department: int | None = None):
    session = require_session(ctx, login_cookie)
    user = U.get_user(session.user_id)
    email = U.check_email(email)
    U.require_email_free(email, except_id=user.id)
    User.update(profile_image=profile_image or U.default_profile_image(ctx.config),
                first_name=U.check_name("first_name", first_name),
                last_name=U.check_name("last_name", last_name),
                email=email, department=department).where(User.id == user.id).execute()
    U.reindex([user.id])
    end_session(session.id)
    user = U.get_user(user.id)
    ctx.hook.sbcore_on_user_updated(ctx=ctx, user=user)
    # Support Board 3.8 answers [the login's fields, the new cookie] (the reference: the cookie)
    return [{"profile_image": user.profile_image, "first_name": user.first_name,
             "last_name": user.last_name, "email": user.email or "",
             "department": U.department_value(user.department)}, issue_cookie(ctx, user)]
