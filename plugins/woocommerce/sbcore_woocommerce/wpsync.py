"""wp-synch: the WordPress site's users imported into sbcore through the WordPress REST
API (``GET {site}/wp-json/wp/v2/users?context=edit``, 100 a page, as the user of
``wordpress-username`` with an application password).

Each page is written in one short transaction: one query finds the users already linked
(detail ``wp-id``), one the sbcore users with the same emails, one which of those are linked; a user already linked is
left alone, an sbcore user with the same email gets the ``wp-id`` detail, and the others
are created as users (WordPress's name or display name, email, avatar). Passwords are
never copied: the REST API does not give them, and imported users log in only once they
set one."""

import logging

from sbcore import FunctionSet
from sbcore.errors import ApiError
from sbcore.models import User, UserDetail
from sbcore.users import check_email, default_profile_image, new_token, reindex

from .client import PER_PAGE, wordpress
from .functions import WP_ID

log = logging.getLogger("sbcore.woocommerce")
MAX_PAGES = 1000  # 100,000 WordPress users


def synchronize(ctx, progress=None):
    """Import every page of users; ``progress(done, total_pages)`` after each page.
    Answers ``{"created", "linked", "skipped"}``."""
    site = wordpress(ctx)
    counts = {"created": 0, "linked": 0, "skipped": 0}
    page, total = 1, 1
    while page <= min(total, MAX_PAGES):
        response = site.call("GET", "users", params={"context": "edit", "per_page": PER_PAGE, "page": page,
                                                     "orderby": "id", "order": "asc"})
        users = site.json(response)
        if not isinstance(users, list):
            raise ApiError("wordpress-error", "wordpress answered the users without a list.", 502)
        try:
            total = int(response.headers.get("X-WP-TotalPages") or 1)
        except ValueError:
            total = 1
        with ctx.core.database.atomic():
            import_page(ctx, users, counts)
        if progress is not None:
            progress(page, min(total, MAX_PAGES))
        if not users:
            break
        page += 1
    if total > MAX_PAGES:
        log.warning("wp-synch: only the first %d of %d pages of users were read", MAX_PAGES, total)
    return counts


def wanted(entry):
    """``(wp id, email, entry)`` of a WordPress user that can be imported, else None."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
        return None
    try:
        email = check_email(entry.get("email") if isinstance(entry.get("email"), str) else "")
    except ApiError:
        return None
    return (str(entry["id"]), email, entry) if email else None


def import_page(ctx, entries, counts):
    rows = [row for row in map(wanted, entries) if row is not None]
    counts["skipped"] += len(entries) - len(rows)
    if not rows:
        return
    linked = {d.value for d in UserDetail.select(UserDetail.value).where(
        (UserDetail.slug == WP_ID) & UserDetail.value.in_([wp_id for wp_id, _, _ in rows]))}
    by_email = {u.email: u.id for u in User.select(User.id, User.email).where(
        User.email.in_([email for _, email, _ in rows]))}
    has_wp_id = {d.user_id for d in UserDetail.select(UserDetail.user).where(
        (UserDetail.slug == WP_ID) & UserDetail.user.in_(list(by_email.values()) or [0]))}
    details, created, seen = [], [], set()
    for wp_id, email, entry in rows:
        if wp_id in linked or email in seen:
            counts["skipped"] += 1
            continue
        seen.add(email)
        user_id = by_email.get(email)
        if user_id is not None:
            if user_id not in has_wp_id:
                details.append({"user": user_id, "slug": WP_ID, "name": "WordPress ID", "value": wp_id})
                counts["linked"] += 1
            else:
                counts["skipped"] += 1
            continue
        user = User.create(**profile(ctx, entry, email))
        created.append(user)
        details.append({"user": user.id, "slug": WP_ID, "name": "WordPress ID", "value": wp_id})
    if details:
        UserDetail.insert_many(details).execute()
    if created:
        reindex([u.id for u in created])
        for user in created:
            ctx.hook.sbcore_on_user_created(ctx=ctx, user=user)
    counts["created"] += len(created)


def profile(ctx, entry, email):
    first = str(entry.get("first_name") or "").strip()
    last = str(entry.get("last_name") or "").strip()
    if not first and not last:
        first = str(entry.get("name") or entry.get("username") or email.split("@")[0]).strip()
    avatars = entry.get("avatar_urls") if isinstance(entry.get("avatar_urls"), dict) else {}
    avatar = str(avatars.get("96") or "")
    return {"first_name": first[:191], "last_name": last[:191], "email": email, "password": "",
            "profile_image": avatar[:512] if avatar.startswith("https://") else default_profile_image(ctx.config),
            "user_type": "user", "token": new_token()}


functions = FunctionSet()


@functions("wp-synch", transaction=False, aliases=("wp-sync",))
def wp_synch(ctx):
    synchronize(ctx)
    return True
