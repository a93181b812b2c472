"""The users domain: shapes, validation, details, the search index and deletion.
The API functions in ``sbcore.functions`` call these."""

import re
import secrets

import bcrypt
from peewee import SQL

from . import db as dbmod
from .errors import ApiError, invalid_argument, user_not_found
from .models import User, UserDetail
from .models.users import AGENT_TYPES
from .search import normalise, search_backend, words

PUBLIC_TYPES = ("visitor", "lead", "user", "agent", "admin")
USER_COLUMNS = ("first_name", "last_name", "email", "profile_image", "user_type",
                "creation_time", "last_activity", "department")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SEARCH_INDEX = "users"
PAGE_SIZE = 100


def default_profile_image(config):
    return f"{config.public_url}/static/user.svg"


# --- shapes ---


def department_value(department):
    return None if department is None else str(department)


def user_row(user):
    """The list shape of get-users, get-new-users, search-users, get-online-users, from
    a User or from a row of ``db.raw_dicts``."""
    u = user if isinstance(user, dict) else user.__data__
    return {
        "id": str(u["id"]),
        "first_name": u["first_name"],
        "last_name": u["last_name"],
        "email": u["email"],
        "profile_image": u["profile_image"],
        "user_type": u["user_type"],
        "creation_time": dbmod.format_datetime(u["creation_time"]),
        "last_activity": dbmod.format_datetime(u["last_activity"]),
        "department": department_value(u["department"]),
        "token": u["token"],
    }


LIST_COLUMNS = (User.id, User.first_name, User.last_name, User.email, User.profile_image,
                User.user_type, User.creation_time, User.last_activity, User.department, User.token)


USER_ROW = dbmod.Prepared(lambda user_id: User.select(*LIST_COLUMNS).where(User.id == user_id))


def user_row_of(user_id):
    """``user_row`` of user ``user_id`` (one point read, its SQL built once), or None."""
    rows = USER_ROW.dicts(user_id)
    return user_row(rows[0]) if rows else None


_PAGES = {}  # ordering -> Prepared: the plain users list, one per sort order asked for


def users_page(order, offset):
    """A page of every user but the bot, in ``order`` (peewee orderings), from ``offset``.

    The offset is taken on the ids alone (a sub-query that reads only the ordering's
    index), then the page's 100 rows are read by id: MariaDB reads every skipped row
    whole otherwise (a page at offset 55,000 of 100,000 users: 129 ms, against 16 ms).
    The first page goes the same way: without the sub-query MariaDB sorts a small table
    whole rather than read its index (2,000 users: 0.76 ms against 0.50 ms)."""
    key = tuple((ordering.node.name, ordering.direction) for ordering in order)
    prepared = _PAGES.get(key)
    if prepared is None:
        def build(offset):
            ids = (User.select(User.id).where(not_bot()).order_by(*order).limit(PAGE_SIZE)
                   .offset(offset).alias("page"))
            return (User.select(*LIST_COLUMNS).join(ids, on=(User.id == ids.c.id))
                    .order_by(*order))
        prepared = _PAGES[key] = dbmod.Prepared(build)
    return [user_row(row) for row in prepared.dicts(offset)]


def list_users(query):
    """Rows of a User query in the list shape (never the password column)."""
    return [user_row(row) for row in dbmod.raw_dicts(query.select(*LIST_COLUMNS))]


def user_raw_row(row):
    """search-users' shape from a ``list_users`` row: 3.8's raw row, with ``password``
    always "" and ``typing`` ("-1": not typing)."""
    return {"id": row["id"], "first_name": row["first_name"], "last_name": row["last_name"],
            "password": "", "email": row["email"], "profile_image": row["profile_image"],
            "user_type": row["user_type"], "creation_time": row["creation_time"],
            "token": row["token"], "last_activity": row["last_activity"], "typing": "-1",
            "department": row["department"]}


def user_full(user, details):
    """The shape of get-user and get-agent: the row, an empty password, details."""
    row = user_row(user)
    row["password"] = ""
    row["details"] = [detail_row(d) for d in details]
    return row


def detail_row(detail):
    return {"slug": detail.slug, "name": detail.name, "value": detail.value}


def login_row(user, public_url=None):
    """login's user: the reference's keys, 3.8's ``url`` and ``password`` (always ""),
    and ``department`` when the user has one (as 3.8 sends it)."""
    row = {"id": str(user.id), "profile_image": user.profile_image,
           "first_name": user.first_name, "last_name": user.last_name,
           "email": user.email, "user_type": user.user_type, "token": user.token}
    if public_url is not None:
        row["url"] = public_url
        row["password"] = ""
    if user.department is not None:
        row["department"] = department_value(user.department)
    return row


# --- validation ---


def check_user_type(user_type):
    if user_type not in PUBLIC_TYPES:
        raise ApiError("invalid-user-type",
                       f"'{user_type}' is not a user type; use one of {', '.join(PUBLIC_TYPES)}.")
    return user_type


def check_user_types(user_types):
    for user_type in user_types:
        if not isinstance(user_type, str):
            raise ApiError("invalid-user-type", "user_types must be a list of strings.")
        check_user_type(user_type)
    return list(user_types)


def check_email(email):
    email = (email or "").strip().lower()
    if not email:
        return None
    if len(email) > 191 or not EMAIL.match(email):
        raise ApiError("invalid-email", f"'{email}' is not an email address.")
    return email


def check_name(field, value):
    if len(value) > 191:
        raise invalid_argument(field, "at most 191 characters.")
    return value.strip()


def check_slug(slug):
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise ApiError("invalid-detail", f"'{slug}' is not a user detail name "
                       "(lower-case letters, digits, '-' and '_', at most 64).")
    return slug


def parse_extra(argument, extra):
    """``{"slug": ["value", "Name"]}`` (or ``{"slug": "value"}``) to ``[(slug, value, name)]``."""
    details = []
    for slug, item in (extra or {}).items():
        check_slug(slug)
        if isinstance(item, list):
            value = item[0] if item else ""
            name = item[1] if len(item) > 1 else ""
        else:
            value, name = item, ""
        if value is None:
            value = ""
        if not isinstance(value, (str, int, float)) or not isinstance(name, str):
            raise invalid_argument(argument, f"the detail '{slug}' must be [\"value\", \"Name\"].")
        value = str(value)
        if len(value) > 512 or len(name) > 191:
            raise invalid_argument(argument, f"the detail '{slug}' is too long (512 characters).")
        details.append((slug, value, name or slug.replace("_", " ").replace("-", " ").capitalize()))
    return details


def hash_password(config, password):
    encoded = password.encode("utf-8")
    if len(encoded) > 72:
        raise ApiError("password-too-long", "A password is at most 72 bytes long.")
    return bcrypt.hashpw(encoded, bcrypt.gensalt(config.bcrypt_rounds)).decode("ascii")


_DUMMY_HASHES = {}


def dummy_hash(config):
    """A bcrypt hash of nothing anyone knows, at the configured cost: checking a password
    against it when no user matches costs the same time as a wrong password."""
    rounds = config.bcrypt_rounds
    if rounds not in _DUMMY_HASHES:
        _DUMMY_HASHES[rounds] = bcrypt.hashpw(secrets.token_bytes(16),
                                              bcrypt.gensalt(rounds)).decode("ascii")
    return _DUMMY_HASHES[rounds]


def check_password(password, hashed):
    """Whether ``password`` matches the stored hash: bcrypt (``$2b$``, or PHP's ``$2y$``
    from Support Board), or a WordPress phpass hash (``$P$``/``$H$``) of a user imported
    from Support Board, which ``authenticate`` turns into bcrypt at the first sign-in."""
    if not hashed or not password:
        return False
    if hashed.startswith(PHPASS_PREFIXES):
        from passlib.hash import phpass
        try:
            return phpass.verify(password, hashed)
        except ValueError:
            return False
    encoded = password.encode("utf-8")
    if len(encoded) > 72:
        return False
    try:
        return bcrypt.checkpw(encoded, hashed.encode("ascii"))
    except ValueError:
        return False


PHPASS_PREFIXES = ("$P$", "$H$")


def authenticate(ctx, user, password):
    """``check_password`` for a sign-in: a matching phpass hash is replaced by a bcrypt
    hash of the same password, so that the old scheme is used once per user."""
    if not check_password(password, user.password):
        return False
    if user.password.startswith(PHPASS_PREFIXES) and len(password.encode("utf-8")) <= 72:
        user.password = hash_password(ctx.config, password)
        User.update(password=user.password).where(User.id == user.id).execute()
    return True


def new_token():
    return secrets.token_hex(20)


def require_email_free(email, except_id=None):
    """``duplicate-email`` (409) when another user has ``email``."""
    query = User.select(User.id).where(User.email == email)
    if except_id is not None:
        query = query.where(User.id != except_id)
    if email and query.exists():
        raise ApiError("duplicate-email", f"A user with the email {email} already exists.", 409)


# --- reads ---


USER = dbmod.Prepared(lambda user_id: User.select().where(User.id == user_id).limit(1))


def get_user(user_id):
    if type(user_id) is not int:  # noqa: E721 (a bool is no id)
        return User.get_or_none(User.id == user_id)
    return USER.first(User, user_id)


def require_user(user_id):
    user = get_user(user_id)
    if user is None:
        raise user_not_found(user_id)
    return user


def details_of(user_ids, slugs=None):
    """``{user_id: [UserDetail, ...]}`` in one query."""
    result = {}
    if not user_ids:
        return result
    query = UserDetail.select().where(UserDetail.user.in_(list(user_ids))).order_by(UserDetail.id)
    if slugs is not None:
        query = query.where(UserDetail.slug.in_(list(slugs) or [""]))
    for detail in query:
        result.setdefault(detail.user_id, []).append(detail)
    return result


def detail_value(user_id, slug):
    row = UserDetail.get_or_none((UserDetail.user == user_id) & (UserDetail.slug == slug))
    return None if row is None else row.value


def not_bot():
    """Leaves the bot out by id (a sub-query on the user_type index), so that a sorted,
    offset scan reads only its ordering index, never the rows it skips."""
    return User.id.not_in(User.select(User.id).where(User.user_type == "bot"))


def search_filter(text, newest=None):
    """A peewee expression matching users whose names, email or details match ``text``
    through the full-text index; None when the text has no searchable word. With
    ``newest``, only the newest that many matches (the index answers them in key order)."""
    match = search_backend().match(SEARCH_INDEX, text, newest=newest)
    if match is None:
        terms = words(text)
        if not terms:
            return None
        # Words too short for the backend's index (MySQL's 3-letter minimum): a prefix
        # match on the indexed name and email columns.
        condition = None
        for term in terms:
            one = (User.first_name.startswith(term) | User.last_name.startswith(term)
                   | User.email.startswith(term))
            condition = one if condition is None else condition & one
        return condition
    sql, params = match
    return User.id.in_(SQL(f"({sql})", params))


# --- writes ---


def set_details(user_id, details):
    """Create, change or (with an empty value) delete details of one user."""
    for slug, value, name in details:
        if value == "":
            UserDetail.delete().where((UserDetail.user == user_id) & (UserDetail.slug == slug)).execute()
            continue
        updated = UserDetail.update(value=value, name=name).where(
            (UserDetail.user == user_id) & (UserDetail.slug == slug)).execute()
        if not updated:
            UserDetail.create(user=user_id, slug=slug, value=value, name=name)


def reindex(user_ids):
    """Rewrite the search rows of these users (2 queries plus one write each)."""
    user_ids = list(user_ids)
    users = list(User.select(User.id, User.first_name, User.last_name, User.email)
                 .where(User.id.in_(user_ids)))
    details = details_of(user_ids)
    backend = search_backend()
    backend.upsert_many(SEARCH_INDEX, [
        (u.id, normalise(u.first_name, u.last_name, u.email, *(d.value for d in details.get(u.id, []))))
        for u in users])


def create_user(ctx, first_name=None, last_name=None, email=None, profile_image="", password="",
                user_type=None, extra=None, department=None, allow_bot=False):
    email = check_email(email)
    if user_type in (None, ""):
        user_type = "user" if email else "visitor"
    if not (allow_bot and user_type == "bot"):
        check_user_type(user_type)
    require_email_free(email)
    details = parse_extra("extra", extra)
    user = User.create(
        first_name=check_name("first_name", "User" if first_name is None else first_name),
        last_name=check_name("last_name", f"#{secrets.randbelow(90000) + 10000}"
                             if last_name is None else last_name),
        email=email,
        profile_image=profile_image or default_profile_image(ctx.config),
        password=hash_password(ctx.config, password) if password else "",
        user_type=user_type,
        token=new_token(),
        department=department,
    )
    set_details(user.id, details)
    reindex([user.id])
    ctx.hook.sbcore_on_user_created(ctx=ctx, user=user)
    return user


def delete_users(ctx, user_ids):
    """Delete users with their conversations, messages, details and files."""
    user_ids = [int(i) for i in user_ids]
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start:start + 500]
        ctx.hook.sbcore_on_users_deleted(ctx=ctx, user_ids=chunk)
        search_backend().delete(SEARCH_INDEX, chunk)
        User.delete().where(User.id.in_(chunk)).execute()
    return True


def agent_types(include_admins=True):
    return AGENT_TYPES if include_admins else ("agent",)

