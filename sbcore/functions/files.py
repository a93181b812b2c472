"""Files the API writes: avatars and the users' CSV export; files of deleted users."""

import contextlib
import csv
import hashlib
import io
import tempfile

from PIL import Image, ImageDraw, ImageFont

from .. import uploads
from ..hooks import hookimpl
from ..models import User, UserDetail
from ..registry import AGENT, FunctionSet, IdList

functions = FunctionSet()
AVATAR_SIZE = 256
AVATAR_COLOURS = ("#566069", "#1c7ed6", "#0ca678", "#e8590c", "#ae3ec9", "#f03e3e", "#1098ad")
CSV_COLUMNS = ("id", "first_name", "last_name", "email", "user_type", "creation_time",
               "last_activity", "department")
BATCH = 1000


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_on_users_deleted(ctx, user_ids):
    """The profile images and uploads of users about to be deleted go, unless something
    else uses them (their messages' files go with their conversations:
    sbcore.conversations.forget_messages)."""
    urls = [row[0] for row in User.select(User.profile_image).where(User.id.in_(user_ids)).tuples()]
    uploads.release(ctx, user_ids=user_ids, urls=urls)


def initials(first_name, last_name):
    letters = [part.strip()[:1] for part in (first_name, last_name) if part and part.strip()]
    return "".join(letters).upper() or "?"


@functions("get-avatar", role=AGENT)
def get_avatar(ctx, first_name: str = "", last_name: str = ""):
    text = initials(first_name.lstrip("#"), last_name.lstrip("#"))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    colour = AVATAR_COLOURS[digest[0] % len(AVATAR_COLOURS)]
    image = Image.new("RGB", (AVATAR_SIZE, AVATAR_SIZE), colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=AVATAR_SIZE * 0.42)
    draw.text((AVATAR_SIZE / 2, AVATAR_SIZE / 2), text, fill="#ffffff", font=font, anchor="mm")
    data = io.BytesIO()
    image.save(data, "PNG")
    return ctx.upload_url(uploads.store(ctx.core, "avatars", ".png", data.getvalue(), ctx.caller_id))


def export_users(ctx, path, user_ids=None, progress=None):
    """Write users (all, or ``user_ids``) to a CSV at ``path`` (a file name, or a text
    file object) in batches of 1,000: two queries a batch. ``progress(n)`` is called
    with each batch's size."""
    scope = User.select(User.id).where(User.user_type != "bot")
    if user_ids is not None:
        scope = scope.where(User.id.in_(list(user_ids) or [0]))
    slugs = [row[0] for row in UserDetail.select(UserDetail.slug).distinct()
             .where(UserDetail.user.in_(scope)).order_by(UserDetail.slug).tuples()]
    with (open(path, "w", newline="", encoding="utf-8") if isinstance(path, str)
          else contextlib.nullcontext(path)) as handle:
        writer = csv.writer(handle)
        writer.writerow(list(CSV_COLUMNS) + slugs)
        last_id, written = 0, 0
        while True:
            batch = list(User.select().where(User.id.in_(scope) & (User.id > last_id))
                         .order_by(User.id).limit(BATCH))
            if not batch:
                break
            details = {}
            for detail in UserDetail.select().where(UserDetail.user.in_([u.id for u in batch])):
                details.setdefault(detail.user_id, {})[detail.slug] = detail.value
            for user in batch:
                own = details.get(user.id, {})
                writer.writerow([safe_cell(getattr(user, c)) for c in CSV_COLUMNS]
                                + [safe_cell(own.get(slug, "")) for slug in slugs])
            written += len(batch)
            last_id = batch[-1].id
            if progress:
                progress(len(batch))
    return written


def safe_cell(value):
    """Text a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def count_for_export(user_ids=None):
    query = User.select().where(User.user_type != "bot")
    if user_ids is not None:
        query = query.where(User.id.in_(list(user_ids) or [0]))
    return query.count()


@functions("csv-users", spellings={"user_ids": ("users_id",)})
def csv_users(ctx, user_ids: IdList | bool = False):
    with tempfile.TemporaryFile() as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        export_users(ctx, text, None if isinstance(user_ids, bool) else user_ids)  # true or false: all
        text.flush()
        spool.seek(0)
        key = uploads.store(ctx.core, "exports", ".csv", spool, ctx.caller_id)
        text.detach()
    return ctx.upload_url(key)
