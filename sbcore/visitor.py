"""The visitor API (``POST /widget/api``): what a chat widget may do with a login cookie.

The admin token never reaches a browser, so visitors get their own short list of
functions. Each one runs the same code as its Web API namesake, but only on the
caller's own user and conversations: another conversation's id answers 404
``conversation-not-found``, exactly like a missing one, so ids can't be probed. The
caller's own id replaces any ``user_id`` it sends."""

import json
from datetime import timedelta

from . import conversations as C
from . import db as dbmod
from . import uploads
from . import users as U
from .db import utcnow
from .errors import ApiError, invalid_argument, not_found
from .functions import articles as articles_fns
from .functions import auth
from .functions import conversations as conversation_fns
from .functions import messages as message_fns
from .functions import notes as note_fns
from .functions import presence as presence_fns
from .functions import translations as translation_fns
from .functions import users as user_fns
from .functions.utilities import extension_allowed
from .hooks import hookimpl
from .models import Message, RateHit, User
from .realtime import events as realtime
from .registry import FunctionSet, Json
from .settings import Setting

visitor = FunctionSet()

PUBLIC = frozenset({"register", "login", "get-articles", "search-articles", "get-translation"})
RATE_LIMITED = frozenset({"register", "login"})
RICH_TYPES = ("buttons", "select", "email", "inputs", "registration", "rating", "chips")
MAX_RICH_FIELDS = 50
HEARTBEAT = 10  # seconds; well inside presence-online-seconds


@hookimpl
def sbcore_register_settings():
    return [
        Setting("widget-allowed-origins", "text", "*",
                "Origins (comma-separated, e.g. https://shop.example) whose pages may call "
                "/widget/api; * allows any."),
        Setting("widget-rate-limit", "number", 200,
                "Registrations and logins one address may make per window on /widget/api; "
                "more answer 429. 0 turns the limit off."),
        Setting("widget-rate-window", "number", 600, "The rate limit's window, in seconds."),
        Setting("widget-trust-forwarded-for", "checkbox", False,
                "Count the rate limit per the last address in X-Forwarded-For (only behind a "
                "proxy that sets it)."),
        Setting("widget-upload-max-bytes", "number", 10_000_000,
                "The largest file a visitor may upload through /widget/upload."),
        Setting("widget-title", "text", "Chat with us", "The title of the chat widget's panel."),
    ]


def functions():
    """The visitor API's functions by name."""
    return {function.name: function for function in visitor.api_functions()}


# --- who is calling ---


def authenticate(ctx, cookie):
    """Set ``ctx.visitor`` (the User) and ``ctx.session`` from a login cookie, or 401."""
    session = auth.session_from_cookie(ctx, cookie) if isinstance(cookie, str) and cookie else None
    user = session.user if session is not None else None  # loaded with the session
    if user is None:
        raise ApiError("invalid-login-cookie", "Send the login cookie of register or login as "
                       "'login-cookie' or 'Authorization: Bearer <cookie>'; this one is missing, "
                       "expired or logged out.", 401)
    ctx.visitor, ctx.session, ctx.caller_id = user, session, user.id
    # every call of the widget (its poll above all) keeps the visitor online, so that an
    # agent's reply is not also emailed to someone reading the chat; written at most
    # every HEARTBEAT seconds
    if user.last_activity is None or user.last_activity < utcnow() - timedelta(seconds=HEARTBEAT):
        ctx.presence.touch(user.id)
        window = ctx.settings.get("presence-online-seconds")
        if user.last_activity is None or user.last_activity < utcnow() - timedelta(seconds=window):
            realtime.presence(ctx, user.id, online=True)  # back after a while: tell the agents


def check_rate(core, address, name):
    """Count a registration or login from ``address`` (in its own transaction, so a
    failed login still counts); 429 when the window is full."""
    limit = core.settings.get("widget-rate-limit")
    if name not in RATE_LIMITED or not limit:
        return
    key = f"widget:{address}"
    now = utcnow()
    since = now - timedelta(seconds=core.settings.get("widget-rate-window"))

    def count():
        RateHit.delete().where((RateHit.key == key) & (RateHit.time <= since)).execute()
        if RateHit.select().where(RateHit.key == key).count() >= limit:
            return False
        RateHit.create(key=key, time=now)
        return True

    with dbmod.connection():
        allowed = dbmod.in_transaction_retrying(core.database, count)
    if not allowed:
        raise ApiError("too-many-requests", "Too many registrations or logins from this address; "
                       "try again later.", 429)


def own_conversation(ctx, conversation_id):
    conversation = C.get_conversation(conversation_id)
    if conversation is None or conversation.user_id != ctx.visitor.id:
        raise not_found("conversation-not-found", f"No conversation has the ID {conversation_id}.")
    return conversation


def own_user_id(ctx, user_id):
    if user_id is not None and user_id != ctx.visitor.id:
        raise not_found("user-not-found", f"No user has the ID {user_id}.")
    return ctx.visitor.id


def refuse(field):
    return ApiError("not-allowed", f"A visitor cannot change '{field}'.", 403)


def public_user(row):
    row = dict(row)
    row.pop("token", None)
    return row


def logged_in(ctx, user):
    ctx.presence.touch(user.id)
    return {"user": public_user(U.login_row(user)), "login-cookie": auth.issue_cookie(ctx, user)}


def field_pairs(user, details, labels=None):
    labels = labels or {}
    return {
        "user": {"profile_image": [user.profile_image, "Profile image"],
                 "first_name": [user.first_name, "First name"],
                 "last_name": [user.last_name, "Last name"],
                 "email": [user.email or "", "Email"],
                 # the reference's shape, with the passwords never sent anywhere
                 "password": ["", "Password"], "password-check": ["", "Repeat password"],
                 "user_type": [user.user_type, ""]},
        "extra": {slug: [value, labels.get(slug, name)] for slug, value, name in details},
    }


def emit_registration(ctx, user, details, rich_id="", conversation_id=None):
    data = {"id": rich_id, "conversation_id": "" if conversation_id is None else str(conversation_id)}
    data.update(field_pairs(user, details))
    ctx.emit("registration", data)


# --- account ---


def check_password_rule(password):
    if password and len(password) < 8:
        raise invalid_argument("password", "at least 8 characters.")


@visitor("register")
def register(ctx, first_name: str = "", last_name: str = "", email: str = "", password: str = "",
             extra: dict | None = None):
    if password and not email:
        raise invalid_argument("password", "a password needs an email to log in with.")
    check_password_rule(password)
    details = U.parse_extra("extra", extra)
    user = U.create_user(ctx, first_name=first_name or None, last_name=last_name or None,
                         email=email, password=password, extra=extra)
    if user.email:
        emit_registration(ctx, user, details)
    return logged_in(ctx, user)


@visitor("login")
def login(ctx, email: str, password: str):
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None or user.user_type == "bot" or not U.check_password(password, user.password):
        return False
    ctx.hook.sbcore_on_login(ctx=ctx, user=user)
    return logged_in(ctx, user)


@visitor("logout")
def logout(ctx):
    auth.end_session(ctx.session.id)
    realtime.presence(ctx, ctx.visitor.id, online=False)
    return True


@visitor("stream-ticket")
def stream_ticket(ctx):
    """A single-use ticket that opens ``GET /widget/events?ticket=…`` once within a
    minute, for readers that cannot send the login cookie as a header (EventSource)."""
    return realtime.issue_ticket(ctx.visitor.id)


@visitor("get-user")
def get_user(ctx, user_id: int | None = None, extra: bool = False):
    return public_user(user_fns.get_user(ctx, own_user_id(ctx, user_id), extra))


@visitor("update-user")
def update_user(ctx, user_id: int | None = None, first_name: str | None = None,
                last_name: str | None = None, email: str | None = None,
                profile_image: str | None = None, password: str | None = None,
                extra: dict | None = None, settings_extra: dict | None = None,
                user_type: Json = None, department: Json = None, token: Json = None):
    for name, value in (("user_type", user_type), ("department", department), ("token", token)):
        if value is not None:
            raise refuse(name)
    own = own_user_id(ctx, user_id)
    if profile_image and (len(profile_image) > 512
                          or not profile_image.lower().startswith(("http://", "https://"))):
        raise invalid_argument("profile_image", "an http or https URL of at most 512 characters.")
    check_password_rule(password)
    if email is not None and email.strip().upper() == "NULL":
        raise invalid_argument("email", "an email address.")
    return user_fns.update_user(ctx, own, first_name=first_name, last_name=last_name, email=email,
                                profile_image=profile_image, password=password,
                                settings_extra=settings_extra, extra=extra)


@visitor("subscribe")
def subscribe(ctx, email: str, conversation_id: int | None = None):
    """An email given in the chat: it becomes the visitor's, and ``new-email-address``
    fires."""
    if conversation_id is not None:
        own_conversation(ctx, conversation_id)
    take_email(ctx, ctx.visitor, email)
    return True


def take_email(ctx, user, email):
    email = U.check_email(email)
    if not email:
        raise invalid_argument("email", "an email address.")
    if email == user.email:
        return
    U.require_email_free(email, except_id=user.id)
    changes = {"email": email}
    if user.user_type == "visitor":
        changes["user_type"] = "lead"
    User.update(**changes).where(User.id == user.id).execute()
    U.reindex([user.id])
    user = U.get_user(user.id)
    ctx.hook.sbcore_on_user_updated(ctx=ctx, user=user)
    ctx.emit("new-email-address", {"name": f"{user.first_name} {user.last_name}".strip(),
                                   "email": email})


def save_upload(ctx, file: dict):
    """Store one uploaded file in the uploads folder; answers its name and URL."""
    if not isinstance(file, dict) or not file.get("filename"):
        raise invalid_argument("file", "send one file as the multipart field 'file'.")
    name = file["filename"]
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if not extension_allowed(ctx.settings.get("upload-allowed-extensions"), extension):
        raise ApiError("extension-not-allowed", f"Files of the type '.{extension}' may not be "
                       "uploaded.", 400)
    if len(file["data"]) > ctx.settings.get("widget-upload-max-bytes"):
        raise ApiError("file-too-large", "The file is larger than widget-upload-max-bytes.", 413)
    relative, path = uploads.new_file(ctx.config, "widget", "." + extension.lower())
    with open(path, "wb") as handle:
        handle.write(file["data"])
    return {"name": name, "url": ctx.upload_url(relative)}


# --- conversations ---


@visitor("new-conversation")
def new_conversation(ctx, title: str = "", department: int | None = None):
    if department is not None and department not in {
            int(d.get("department-id", -1)) for d in ctx.settings.get("departments")
            if str(d.get("department-id", "")).isdigit()}:
        raise invalid_argument("department", "not one of the departments.")
    return conversation_fns.new_conversation(ctx, ctx.visitor.id, title=title, department=department)


@visitor("get-user-conversations")
def get_user_conversations(ctx, exclude_id: int | None = None):
    return conversation_fns.get_user_conversations(ctx, ctx.visitor.id, exclude_id=exclude_id)


@visitor("get-conversation")
def get_conversation(ctx, conversation_id: int):
    return C.full_conversation(own_conversation(ctx, conversation_id))


def own_attachments(ctx, attachments):
    """Visitors attach only files they uploaded here (``/widget/upload``)."""
    for item in attachments or []:
        if not (isinstance(item, list) and len(item) >= 2
                and uploads.local_path_of_url(ctx.config, item[1]) is not None):
            raise invalid_argument("attachments", 'each attachment is ["name", "URL"] of a file '
                                   "uploaded through /widget/upload.")
    return attachments


@visitor("send-message")
def send_message(ctx, conversation_id: int, message: str = "", attachments: list | None = None):
    own_conversation(ctx, conversation_id)
    return message_fns.send_message(ctx, ctx.visitor.id, conversation_id, message,
                                    own_attachments(ctx, attachments))


@visitor("get-new-messages")
def get_new_messages(ctx, conversation_id: int, datetime: str = "0"):
    own_conversation(ctx, conversation_id)
    return message_fns.get_new_messages(ctx, conversation_id, datetime)  # ownership checked


@visitor("set-typing")
def set_typing(ctx, conversation_id: int | bool = False):
    if conversation_id is not False and conversation_id is not True and conversation_id >= 0:
        own_conversation(ctx, conversation_id)
    return presence_fns.set_typing(ctx, ctx.visitor.id, conversation_id)


@visitor("is-agent-typing")
def is_agent_typing(ctx, conversation_id: int):
    own_conversation(ctx, conversation_id)
    return presence_fns.is_agent_typing(ctx, conversation_id)


@visitor("set-rating")
def set_rating(ctx, conversation_id: int, rating: int):
    own_conversation(ctx, conversation_id)
    return note_fns.set_rating(ctx, conversation_id=conversation_id, rating=rating)


# --- rich messages ---


def rich_values(values):
    """``{"name": "value"}`` or ``{"name": ["value", "Label"]}`` to the second form."""
    if not values or len(values) > MAX_RICH_FIELDS:
        raise invalid_argument("values", f"1 to {MAX_RICH_FIELDS} fields.")
    result = {}
    for name, item in values.items():
        value, label = (item[0] if item else "", item[1] if len(item) > 1 else "") \
            if isinstance(item, list) else (item, "")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) \
                or not isinstance(label, str) or len(str(name)) > 191:
            raise invalid_argument("values", f"the field '{name}' must be a value or [value, label].")
        if len(str(value)) > 1000 or len(label) > 191:
            raise invalid_argument("values", f"the field '{name}' is too long (1000 characters).")
        result[str(name)] = [str(value), label]
    return result


@visitor("rich-message")
def rich_message(ctx, conversation_id: int, message_id: int, type: str, values: dict,
                 id: str = ""):
    """A submitted rich-message form: stored on the message, ``rich-message`` fires;
    an email form also sets the email, a registration form updates the user, a rating
    rates the conversation."""
    conversation = own_conversation(ctx, conversation_id)
    message = Message.get_or_none((Message.id == message_id) & (Message.conversation == conversation.id))
    if message is None:
        raise not_found("message-not-found", f"No message has the ID {message_id}.")
    if type not in RICH_TYPES:
        raise invalid_argument("type", f"one of {', '.join(RICH_TYPES)}.")
    if len(id) > 191:
        raise invalid_argument("id", "at most 191 characters.")
    result = rich_values(values)
    plain = {name: pair[0] for name, pair in result.items()}
    # a password in a form is used (registration) but never stored or sent on
    result = {name: ["", pair[1]] if "password" in name.lower() else pair
              for name, pair in result.items()}
    if type == "email":
        take_email(ctx, ctx.visitor, plain.get("email", ""))
    elif type == "registration":
        register_from_form(ctx, plain, conversation.id, id)
    elif type == "rating":
        note_fns.set_rating(ctx, conversation_id=conversation.id, rating=plain.get("rating"))
    try:
        payload = json.loads(message.payload) if message.payload else {}
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    payload.setdefault("rich-messages", {})[id or type] = {"type": type, "result": result}
    C.edit_message(ctx, message, payload=json.dumps(payload))
    ctx.emit("rich-message", {"result": True, "data": {"type": type, "result": result}, "id": id})
    return True


REGISTRATION_FIELDS = ("first_name", "last_name", "email", "password", "profile_image")


def register_from_form(ctx, values, conversation_id, rich_id):
    user = ctx.visitor
    if values.get("password"):
        if values.get("password-check", values["password"]) != values["password"]:
            raise invalid_argument("values", "the passwords differ.")
        if not values.get("email") and not user.email:
            raise invalid_argument("values", "a password needs an email to log in with.")
    extra = {name: value for name, value in values.items()
             if name not in REGISTRATION_FIELDS and name != "password-check"}
    update_user(ctx, first_name=values.get("first_name"), last_name=values.get("last_name"),
                email=values.get("email"), profile_image=values.get("profile_image"),
                password=values.get("password") or None, extra=extra or None)
    user = U.get_user(user.id)
    if user.user_type in ("visitor", "lead") and user.email:
        User.update(user_type="user").where(User.id == user.id).execute()
        user = U.get_user(user.id)
    emit_registration(ctx, user, U.parse_extra("values", extra), rich_id, conversation_id)


# --- public reads ---


@visitor("get-articles")
def get_articles(ctx, id: str | int = -1, count: int | None = None, full: bool = False,
                 categories: Json = False, articles_language: str | bool = False):
    return articles_fns.get_articles(ctx, id, count, full, categories, articles_language)


@visitor("search-articles")
def search_articles(ctx, search: str, articles_language: str | bool = False):
    return articles_fns.search_articles(ctx, search, articles_language)


@visitor("article-ratings")
def article_ratings(ctx, article_id: str, rating: int | bool = False):
    return articles_fns.article_ratings(ctx, article_id, rating)


@visitor("get-translation")
def get_translation(ctx, language_code: str):
    return translation_fns.get_translation(ctx, language_code)
