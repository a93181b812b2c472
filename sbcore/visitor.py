"""The visitor API (``POST /widget/api``): what a chat widget may do with a login cookie.

The admin token never reaches a browser, so visitors get their own short list of
functions. Each one runs the same code as its Web API namesake, but only on the
caller's own user and conversations: another conversation's id answers 404
``conversation-not-found``, exactly like a missing one, so ids can't be probed. The
caller's own id replaces any ``user_id`` it sends."""

import hashlib
import json
from datetime import timedelta


from . import conversations as C
from . import db as dbmod
from . import identity
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
from .models import Message, RateHit, User, UserDetail
from .realtime import events as realtime
from .registry import Attachments, FunctionSet, Json, Search
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
        Setting("widget-rate-window", "number", 600, "The rate limit's window, in seconds.",
                bounds=(1, 7 * 86_400)),
        Setting("widget-trust-forwarded-for", "checkbox", False,
                "Count the rate limit per the last address in X-Forwarded-For (only behind a "
                "proxy that sets it)."),
        Setting("widget-upload-max-bytes", "number", 10_000_000,
                "The largest file a visitor may upload through /widget/upload.",
                bounds=(1, 1_000_000_000)),
        Setting("widget-title", "text", "Chat with us", "The title of the chat widget's panel."),
        Setting("widget-message-max-chars", "number", 10_000,
                "The longest message a visitor may send (characters).", bounds=(1, 1_000_000)),
        Setting("widget-upload-hourly-count", "number", 30,
                "Files one visitor may upload per hour.", bounds=(1, 100_000)),
        Setting("widget-upload-hourly-bytes", "number", 50_000_000,
                "Bytes one visitor may upload per hour.", bounds=(1, 10_000_000_000)),
        Setting("widget-max-details", "number", 30,
                "Details (extra) one visitor may have; each value at most 512 characters, each "
                "name 191.", bounds=(1, 1_000)),
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


def identify(ctx, cookie, address):
    """For the public functions: ``ctx.viewer`` is the visitor of a valid login cookie,
    else the caller's address (hashed), so that article views count once a day each."""
    session = auth.session_from_cookie(ctx, cookie) if isinstance(cookie, str) and cookie else None
    if session is not None and session.user is not None:
        ctx.viewer = f"user:{session.user.id}"
    else:
        ctx.viewer = "addr:" + hashlib.sha256(str(address).encode()).hexdigest()[:40]


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


def check_detail_count(ctx, user_id, *extras):
    """At most ``widget-max-details`` details per visitor (sizes are bounded by
    ``users.parse_extra``)."""
    limit = ctx.settings.get("widget-max-details")
    slugs = set()
    for extra in extras:
        if isinstance(extra, dict):
            slugs.update(str(slug) for slug, item in extra.items()
                         if (item[0] if isinstance(item, list) and item else item) not in ("", None))
    if len(slugs) <= limit and user_id is None:
        return
    if user_id is not None and slugs:
        slugs.update(d.slug for d in UserDetail.select(UserDetail.slug).where(UserDetail.user == user_id))
    if len(slugs) > limit:
        raise ApiError("too-many-details", f"A visitor has at most {limit} details.", 400)


def check_password_rule(password):
    if password and len(password) < 8:
        raise invalid_argument("password", "at least 8 characters.")


@visitor("register")
def register(ctx, first_name: str = "", last_name: str = "", email: str = "", password: str = "",
             extra: dict | None = None):
    if password and not email:
        raise invalid_argument("password", "a password needs an email to log in with.")
    check_password_rule(password)
    identity.refuse_reserved(ctx, "extra", extra)
    check_detail_count(ctx, None, extra)
    details = U.parse_extra("extra", extra)
    user = U.create_user(ctx, first_name=first_name or None, last_name=last_name or None,
                         email=email, password=password, extra=extra)
    if user.email:
        identity.claim(user.id)
        emit_registration(ctx, user, details)
    return logged_in(ctx, user)


@visitor("login")
def login(ctx, email: str, password: str):
    """A customer's login. Staff (agents, admins) sign in to the workspace, never here;
    an unknown email, staff and a wrong password cost the same bcrypt check."""
    user = User.get_or_none(User.email == email.strip().lower())
    if user is not None and (user.user_type in ("bot", "agent", "admin") or not user.password):
        user = None  # staff sign in at /admin, never through the widget
    if user is None:
        U.check_password(password or "-", U.dummy_hash(ctx.config))  # the same cost as a wrong password
    if user is None or not U.authenticate(ctx, user, password):
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
    if profile_image and (profile_image.startswith(f"{ctx.config.public_url}/uploads/")
                          or uploads.is_recorded(ctx.config, profile_image)):
        if not uploads.owned_by(ctx.config, [profile_image], own):
            raise invalid_argument("profile_image", "one of your own uploads, or an image elsewhere.")
        profile_image = own_url(ctx, profile_image)
    check_password_rule(password)
    if email is not None and email.strip().upper() == "NULL":
        raise invalid_argument("email", "an email address.")
    identity.refuse_reserved(ctx, "extra", extra)
    identity.refuse_reserved(ctx, "settings_extra", settings_extra)
    check_detail_count(ctx, own, settings_extra if settings_extra is not None else extra)
    before = ctx.visitor.email
    result = user_fns.update_user(ctx, own, first_name=first_name, last_name=last_name, email=email,
                                  profile_image=profile_image, password=password,
                                  settings_extra=settings_extra, extra=extra)
    if email is not None and U.check_email(email) != before:
        identity.claim(own)
    return result


@visitor("subscribe")
def subscribe(ctx, email: str, conversation_id: int | None = None):
    """An email given in the chat: it becomes the visitor's, and ``new-email-address``
    fires."""
    if conversation_id is not None:
        own_conversation(ctx, conversation_id)
    take_email(ctx, ctx.visitor, email)
    return True


@visitor("send-email-confirmation")
def send_email_confirmation(ctx):
    """Email the visitor a link that verifies its email; false when it is verified."""
    return identity.send_confirmation(ctx, U.get_user(ctx.visitor.id))


def take_email(ctx, user, email):
    email = U.check_email(email)
    if not email:
        raise invalid_argument("email", "an email address.")
    if email == user.email:
        return
    U.require_email_free(email, except_id=user.id)
    changes = {"email": email, "email_status": identity.CLAIMED}
    if user.user_type == "visitor":
        changes["user_type"] = "lead"
    User.update(**changes).where(User.id == user.id).execute()
    U.reindex([user.id])
    user = U.get_user(user.id)
    ctx.hook.sbcore_on_user_updated(ctx=ctx, user=user)
    ctx.emit("new-email-address", {"name": f"{user.first_name} {user.last_name}".strip(),
                                   "email": email})


def check_upload_quota(ctx, size):
    """At most ``widget-upload-hourly-count`` files and ``widget-upload-hourly-bytes`` bytes
    per visitor per hour (429 beyond), counted from the files' records (``sb_files``)."""
    files, used = uploads.uploaded_since(ctx.visitor.id, utcnow() - timedelta(hours=1))
    if files >= ctx.settings.get("widget-upload-hourly-count") or \
            used + size > ctx.settings.get("widget-upload-hourly-bytes"):
        raise ApiError("too-many-uploads", "This visitor uploaded as much as an hour allows; try "
                       "again later.", 429)


def save_upload(ctx, file: dict):
    """Store one uploaded file; answers its name and URL. A visitor's (``ctx.visitor``,
    the widget) counts against its hourly bounds; staff's (the workspace, ``caller_id``)
    goes to the attachments folder."""
    if not isinstance(file, dict) or not isinstance(file.get("filename"), str) or \
            not file["filename"] or not isinstance(file.get("data"), bytes):
        raise invalid_argument("file", "send one file as the multipart field 'file'.")
    name = file["filename"]
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if not extension_allowed(ctx.settings.get("upload-allowed-extensions"), extension):
        raise ApiError("extension-not-allowed", f"Files of the type '.{extension}' may not be "
                       "uploaded.", 400)
    if len(file["data"]) > ctx.settings.get("widget-upload-max-bytes"):
        raise ApiError("file-too-large", "The file is larger than widget-upload-max-bytes.", 413)
    uploader = getattr(ctx, "visitor", None)
    if uploader is not None:
        check_upload_quota(ctx, len(file["data"]))
    key = uploads.store(ctx.core, uploads.VISITOR_FOLDER if uploader is not None else uploads.STAFF_FOLDER,
                        "." + extension.lower(), file["data"], uploader.id if uploader else ctx.caller_id)
    return {"name": name, "url": ctx.upload_url(key)}


# --- conversations ---


@visitor("new-conversation")
def new_conversation(ctx, title: str = "", department: int | None = None):
    if department is not None and department not in {
            int(d.get("department-id", -1)) for d in ctx.settings.get("departments")
            if str(d.get("department-id", "")).isascii()
            and str(d.get("department-id", "")).isdigit()}:
        raise invalid_argument("department", "not one of the departments.")
    return conversation_fns.new_conversation(ctx, ctx.visitor.id, title=title, department=department)


@visitor("get-user-conversations")
def get_user_conversations(ctx, exclude_id: int | None = None):
    return conversation_fns.get_user_conversations(ctx, ctx.visitor.id, exclude_id=exclude_id)


@visitor("get-conversation")
def get_conversation(ctx, conversation_id: int):
    return C.full_conversation(own_conversation(ctx, conversation_id))


def own_attachments(ctx, attachments):
    """Visitors attach only files they uploaded themselves (``/widget/upload``, on any
    host of the install); the URLs stored are this install's own."""
    if not all(isinstance(item, list) and len(item) >= 2 for item in attachments or []) \
            or not uploads.owned_by(ctx.config, [item[1] for item in attachments or []], ctx.visitor.id):
        raise invalid_argument("attachments", 'each attachment is ["name", "URL"] of a file '
                               "you uploaded through /widget/upload.")
    return [[item[0], own_url(ctx, item[1]), *item[2:]] for item in attachments or []] \
        if attachments else attachments


def own_url(ctx, url):
    return ctx.upload_url(uploads.key_of_url(ctx.config, url, any_host=True))


@visitor("send-message")
def send_message(ctx, conversation_id: int, message: str = "", attachments: Attachments | None = None):
    limit = ctx.settings.get("widget-message-max-chars")
    if len(message) > limit:
        raise ApiError("message-too-long", f"A message is at most {limit} characters.", 400)
    if len(attachments or ()) > 10:
        raise invalid_argument("attachments", "at most 10 attachments.")
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
    return articles_fns.read_articles(ctx, id, count, full, categories, articles_language,
                                      viewer=getattr(ctx, "viewer", None))


@visitor("search-articles")
def search_articles(ctx, search: Search, articles_language: str | bool = False):
    return articles_fns.search_articles(ctx, search, articles_language)


@visitor("article-ratings")
def article_ratings(ctx, article_id: str, rating: int | bool = False):
    """Reads the ratings, or rates: one rating per visitor per article (a new one
    replaces the visitor's earlier one)."""
    return articles_fns.rate_article(ctx, article_id, rating, user_id=ctx.visitor.id)


@visitor("get-translation")
def get_translation(ctx, language_code: str):
    return translation_fns.get_translation(ctx, language_code)
