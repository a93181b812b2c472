"""Users: read, list, search, create, change and delete."""

from datetime import datetime


from .. import db as dbmod
from .. import user_counts
from .. import users as U
from ..errors import ApiError, invalid_argument
from ..models import User, UserDetail
from ..registry import AGENT, FunctionSet, IdList, Json, Search, convert

functions = FunctionSet()


sbcore_register_functions = functions.hook()


def parse_since(value):
    """A "new since" argument: an id, or a UTC date or date and time."""
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise invalid_argument("datetime", "expected an ID or a date as YYYY-MM-DD HH:MM:SS.")


def sort_order(sorting, default=("creation_time", "DESC")):
    """``["column", "ASC|DESC"]`` checked against the allow-list, as peewee ordering."""
    if sorting in (None, "", False):
        sorting = default
    if isinstance(sorting, str):
        sorting = [sorting, default[1]]
    if not isinstance(sorting, (list, tuple)) or not 1 <= len(sorting) <= 2:
        raise invalid_argument("sorting", 'expected ["column", "ASC" or "DESC"].')
    column = sorting[0]
    direction = str(sorting[1] if len(sorting) > 1 else "DESC").upper()
    if column not in U.USER_COLUMNS:
        raise invalid_argument("sorting", f"'{column}' is not one of {', '.join(U.USER_COLUMNS)}.")
    if direction not in ("ASC", "DESC"):
        raise invalid_argument("sorting", "the order must be ASC or DESC.")
    field = getattr(User, column)
    return [field.asc() if direction == "ASC" else field.desc(),
            User.id.asc() if direction == "ASC" else User.id.desc()]


def with_extra(rows, extra):
    """``extra`` true adds every detail to list rows as a key, a list adds those slugs;
    each row also gets Support Board 3.8's ``extra``: ``{slug: value}``, or ``[]`` when
    the user has none of them."""
    if extra is False or extra is None:
        return rows
    slugs = None if extra is True else [U.check_slug(s) for s in extra]
    details = U.details_of([int(row["id"]) for row in rows], slugs)
    for row in rows:
        found = {detail.slug: detail.value for detail in details.get(int(row["id"]), [])}
        for slug, value in found.items():
            row.setdefault(slug, value)
        row["extra"] = found or []
    return rows


@functions("get-user", role=AGENT, read=True)
def get_user(ctx, user_id: int, extra: bool = False):
    if not extra:
        row = U.user_row_of(user_id)
        if row is None:
            return False
        row["password"] = ""
        return row
    user = U.get_user(user_id)
    if user is None:
        return False
    return U.user_full(user, U.details_of([user.id]).get(user.id, []))


@functions("get-user-by", role=AGENT, read=True)
def get_user_by(ctx, by: str, value: str):
    by = by.strip()
    query = User.select()
    if by in ("email", "first_name", "last_name"):
        query = query.where(getattr(User, by) == (value.strip().lower() if by == "email" else value))
    else:
        U.check_slug(by)
        query = query.join(UserDetail).where((UserDetail.slug == by) & (UserDetail.value == value))
    user = query.order_by(User.id).first()
    if user is None:
        return ""  # Support Board 3.8's not-found (the reference says false)
    return U.user_row(user)


@functions("get-user-extra", role=AGENT, read=True)
def get_user_extra(ctx, user_id: int, slug: str | bool = False, default: Json = False):
    if slug:
        U.check_slug(slug)
        value = U.detail_value(user_id, slug)
        return default if value is None else value
    return [U.detail_row(d) for d in U.details_of([user_id]).get(user_id, [])]


@functions("get-user-language", role=AGENT)
def get_user_language(ctx, user_id: int):
    for slug in ("language", "browser_language"):
        value = U.detail_value(user_id, slug)
        if value:
            return value.strip().lower().replace("_", "-")
    return ""  # Support Board 3.8's answer without a language (the reference says false)


@functions("get-users", role=AGENT, read=True, spellings={"user_ids": ("users_id",)})
def get_users(ctx, sorting: list | str | None = None, user_types: list | None = None,
              search: Search = "", pagination: int = 0, extra: bool | list = False,
              user_ids: IdList | bool = False):
    every_id = isinstance(user_ids, bool) or user_ids is None  # true or false: everyone
    types = U.check_user_types(user_types) if user_types else None
    for slug in extra if isinstance(extra, list) else ():  # refused even when no row matches
        U.check_slug(slug)
    order = sort_order(sorting)
    if types is None and every_id and not search.strip():
        rows = U.users_page(order, dbmod.check_page(pagination, U.PAGE_SIZE))  # the plain list
        return with_extra(rows, extra)
    query = User.select().where(U.not_bot())
    if types is not None:
        query = query.where(User.user_type.in_(types))
    if not every_id:
        query = query.where(User.id.in_(list(user_ids) or [0]))
    if search.strip():
        condition = U.search_filter(search)
        if condition is None:
            return []
        query = query.where(condition)
    rows = U.list_users(dbmod.page(query.order_by(*order), pagination, U.PAGE_SIZE))
    return with_extra(rows, extra)


@functions("get-new-users", role=AGENT, read=True)
def get_new_users(ctx, datetime: str):
    since = parse_since(datetime)
    query = User.select().where(U.not_bot())
    if isinstance(since, int):
        query = query.where(User.id > since)
    else:
        query = query.where(User.creation_time > since)
    return U.list_users(query.order_by(User.id.desc()))


@functions("get-users-with-details", role=AGENT)
def get_users_with_details(ctx, details: list, user_ids: Json = False):
    ids = None
    agents_only = False
    if user_ids in (False, None, "", "all", "false"):
        pass
    elif user_ids == "agents":
        agents_only = True
    else:
        ids = convert("user_ids", IdList, user_ids)
    result = {}
    for slug in details:
        U.check_slug(slug)
        if slug in ("email", "first_name", "last_name"):
            column = getattr(User, slug)
            query = User.select(User.id, column.alias("value")).where(
                column.is_null(False) & (column != ""))
            scope = User
        else:
            query = UserDetail.select(UserDetail.user.alias("id"), UserDetail.value).where(
                (UserDetail.slug == slug) & (UserDetail.value != ""))
            scope = UserDetail.user
            if agents_only:
                query = query.join(User)
        if ids is not None:
            query = query.where((User.id if scope is User else scope).in_(ids or [0]))
        if agents_only:
            query = query.where(User.user_type.in_(("agent", "admin")))
        result[slug] = [{"id": str(row["id"]), "value": row["value"]}
                        for row in query.order_by(User.id if scope is User else scope).dicts()]
    return result


@functions("search-users", role=AGENT, read=True)
def search_users(ctx, search: Search):
    condition = U.search_filter(search, newest=U.PAGE_SIZE + 1)
    if condition is None:
        return []
    return [U.user_raw_row(row) for row in U.list_users(
        User.select().where(condition & U.not_bot()).order_by(User.id.desc()).limit(U.PAGE_SIZE))]


@functions("count-users", role=AGENT, read=True)
def count_users(ctx):
    counts = user_counts.counts(("visitor", "lead", "user"))  # kept by triggers: no scan
    result = {"all": str(sum(counts.values()))}
    for user_type in ("lead", "user", "visitor"):
        result[user_type] = str(counts.get(user_type, 0))
    return result


@functions("add-user")
def add_user(ctx, first_name: str = "", last_name: str = "", email: str = "",
             profile_image: str = "", password: str = "", user_type: str = "",
             extra: dict | None = None, department: int | None = None):
    user = U.create_user(ctx, first_name=first_name or None, last_name=last_name or None,
                         email=email,
                         profile_image=profile_image, password=password,
                         user_type=user_type or None, extra=extra, department=department)
    return user.id


@functions("update-user")
def update_user(ctx, user_id: int, first_name: str | None = None, last_name: str | None = None,
                email: str = None, profile_image: str | None = None,
                password: str | None = None, user_type: str | None = None,
                department: int | None = None, settings_extra: dict | None = None,
                extra: dict | None = None):
    user = U.require_user(user_id)
    changes = {}
    if first_name is not None:
        changes["first_name"] = U.check_name("first_name", first_name)
    if last_name is not None:
        changes["last_name"] = U.check_name("last_name", last_name)
    if email is not None:
        email = None if email.strip().upper() == "NULL" else U.check_email(email)
        U.require_email_free(email, except_id=user.id)
        changes["email"] = email
        if email != user.email:
            changes["email_status"] = ""  # set by staff: neither claimed nor verified
    if profile_image is not None:
        changes["profile_image"] = profile_image or U.default_profile_image(ctx.config)
    if password:
        changes["password"] = U.hash_password(ctx.config, password)
    if user_type:
        if user.user_type == "bot":
            raise ApiError("invalid-user-type", "The bot's user type cannot change.")
        changes["user_type"] = U.check_user_type(user_type)
    if department is not None:
        changes["department"] = department
    details = U.parse_extra("settings_extra", settings_extra if settings_extra is not None else extra)
    if changes:
        User.update(**changes).where(User.id == user.id).execute()
    U.set_details(user.id, details)
    U.reindex([user.id])
    ctx.hook.sbcore_on_user_updated(ctx=ctx, user=U.get_user(user.id))
    return True


@functions("update-user-to-lead")
def update_user_to_lead(ctx, user_id: int):
    user = U.get_user(user_id)
    if user is None:
        return True  # nothing to change: Support Board 3.8 answers true
    if user.is_agent or user.user_type == "bot":
        raise ApiError("invalid-user-type", "Agents, admins and the bot cannot become leads.")
    User.update(user_type="lead").where(User.id == user.id).execute()
    ctx.hook.sbcore_on_user_updated(ctx=ctx, user=U.get_user(user.id))
    return True


@functions("delete-user")
def delete_user(ctx, user_id: int):
    if U.get_user(user_id) is None:
        return True  # nothing to delete: Support Board 3.8 answers true
    return U.delete_users(ctx, [user_id])


@functions("delete-users")
def delete_users(ctx, user_ids: IdList):
    return U.delete_users(ctx, user_ids)


@functions("delete-leads")
def delete_leads(ctx):
    ids = [row[0] for row in User.select(User.id).where(User.user_type == "lead").tuples()]
    return U.delete_users(ctx, ids)


def ensure_bot(ctx):
    """The bot user, created when missing."""
    bot = User.select().where(User.user_type == "bot").order_by(User.id).first()
    if bot is None:
        bot = U.create_user(ctx, first_name="Bot", last_name="", user_type="bot", allow_bot=True,
                            profile_image=f"{ctx.config.public_url}/static/bot.svg")
    return bot
