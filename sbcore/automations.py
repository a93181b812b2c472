"""Automation conditions. Server-side conditions are evaluated here, against the clock
and (when one is given) a user; client-side ones go back to the widget.

A condition is ``[type, criteria, value]``:

- server-side: ``datetime`` (``is-between`` "dd/mm/yyyy - dd/mm/yyyy", ``is-exactly``,
  ``is-before``, ``is-after`` "dd/mm/yyyy", UTC days), ``repeat`` (``every-day``,
  ``every-week``, ``every-month``, ``every-year``: sent once a period), ``user_type``
  (``is-visitor``, ``is-lead``, ``is-user``, ``is-not-visitor``, ``is-not-lead``,
  ``is-not-user``), ``languages``, ``countries``, ``cities`` (comma-separated values),
  ``returning_visitor`` (``first-time-visitor`` or ``returning-visitor``), ``detail``
  (a custom user detail: criteria is its slug, value the value it must have);
- client-side: ``include_urls``, ``exclude_urls``, ``referring``, ``time_on_page``,
  ``website``."""

from datetime import datetime, timezone

from .errors import invalid_argument

SERVER = ("datetime", "repeat", "user_type", "languages", "countries", "cities",
          "returning_visitor", "detail")
CLIENT = ("include_urls", "exclude_urls", "referring", "time_on_page", "website")
USER_BOUND = ("user_type", "languages", "countries", "cities", "returning_visitor", "detail")
REPEATS = {"every-day": "%Y-%m-%d", "every-week": "%G-W%V", "every-month": "%Y-%m", "every-year": "%Y"}
NEVER, LATER, HOLDS = "never", "later", "holds"


def check(conditions, where="conditions"):
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list):
        raise invalid_argument(where, "a list of [type, criteria, value].")
    for condition in conditions:
        if (not isinstance(condition, list) or not 1 <= len(condition) <= 3
                or not all(isinstance(part, str) for part in condition)):
            raise invalid_argument(where, "each condition is [type, criteria, value] of strings.")
        if condition[0] not in SERVER + CLIENT:
            raise invalid_argument(where, f"'{condition[0]}' is not a condition type.")
    return conditions


def day(text):
    return datetime.strptime(text.strip(), "%d/%m/%Y").date()


def judge_datetime(criteria, value, today):
    try:
        if criteria == "is-between":
            parts = value.split(" - ")
            if len(parts) != 2:
                return NEVER
            start, end = day(parts[0]), day(parts[1])
            return HOLDS if start <= today <= end else (LATER if today < start else NEVER)
        moment = day(value)
    except ValueError:
        return NEVER
    if criteria == "is-exactly":
        return HOLDS if today == moment else (LATER if today < moment else NEVER)
    if criteria == "is-before":
        return HOLDS if today < moment else NEVER
    if criteria == "is-after":
        return HOLDS if today > moment else LATER
    return NEVER


def listed(value):
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def judge_user(condition, user, details, has_history):
    kind, criteria = condition[0], condition[1] if len(condition) > 1 else ""
    value = condition[2] if len(condition) > 2 else ""
    if kind == "user_type":
        negate = criteria.startswith("is-not-")
        wanted = criteria.removeprefix("is-not-" if negate else "is-")
        return (user.user_type != wanted) if negate else (user.user_type == wanted)
    if kind == "languages":
        return details.get("language", "").lower() in listed(value or criteria)
    if kind == "countries":
        return bool({details.get("country", "").lower(), details.get("country_code", "").lower()}
                    & listed(value or criteria))
    if kind == "cities":
        return details.get("city", "").lower() in listed(value or criteria)
    if kind == "returning_visitor":
        return has_history if criteria == "returning-visitor" else not has_history
    if kind == "detail":
        return details.get(criteria, "") == value
    return False


def evaluate(conditions, user=None, details=None, has_history=False, now=None):
    """``(pending, repeat_id)``, or None when a server-side condition can never hold
    (for this user, when one is given). ``pending`` are the client-side conditions and the
    server-side ones that can only be decided later or for a user."""
    now = now or datetime.now(timezone.utc)
    pending, repeat_id = [], ""
    for condition in conditions or []:
        kind = condition[0]
        if kind in CLIENT:
            pending.append(condition)
        elif kind == "datetime":
            verdict = judge_datetime(condition[1], condition[2] if len(condition) > 2 else "", now.date())
            if verdict == NEVER:
                return None
            if verdict == LATER:
                pending.append(condition)
        elif kind == "repeat":
            pattern = REPEATS.get(condition[1] if len(condition) > 1 else "")
            if pattern is None:
                return None
            repeat_id = now.strftime(pattern)
        elif kind in USER_BOUND:
            if user is None:
                pending.append(condition)
            elif not judge_user(condition, user, details or {}, has_history):
                return None
    return pending, repeat_id
