"""Reports: each computed in SQL over a date range in the caller's timezone.

Dates are grouped by the local day: timestamps (stored in UTC) are shifted by the
timezone's offset at the start of the range, then cut to a date by each database's
own function. Durations are computed in SQL in seconds."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peewee import SQL, NodeList

from . import db as dbmod
from .errors import invalid_argument

MAX_DAYS = 366 * 3


@dataclass(frozen=True)
class Range:
    start: date          # first local day
    end: date            # last local day
    offset: int          # seconds east of UTC
    utc_start: datetime  # naive UTC bounds, end exclusive
    utc_end: datetime

    def days(self):
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


# reports cover days of these years: a range at the calendar's ends (year 1 or 9999)
# would step past what a date can hold when it is shifted by a time zone
FIRST_YEAR, LAST_YEAR = 1970, 9000


def parse_day(name, value):
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(str(value).strip(), fmt).date()
        except ValueError:
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise invalid_argument(name, f"a date from {FIRST_YEAR} to {LAST_YEAR}.")
        return day
    raise invalid_argument(name, "a date as dd/mm/yyyy or yyyy-mm-dd.")


def date_range(date_start, date_end, timezone):
    try:
        zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise invalid_argument("timezone", f"'{timezone}' is not a time zone such as Europe/London.")
    today = datetime.now(zone).date()
    end = parse_day("date_end", date_end) if date_end else today
    start = parse_day("date_start", date_start) if date_start else end - timedelta(days=29)
    if start > end:
        raise invalid_argument("date_start", "the start is after the end.")
    if (end - start).days > MAX_DAYS:
        raise invalid_argument("date_start", f"a report covers at most {MAX_DAYS} days.")
    offset = int(datetime.combine(start, datetime.min.time(), zone).utcoffset().total_seconds())
    shift = timedelta(seconds=offset)
    return Range(start, end, offset, datetime.combine(start, datetime.min.time()) - shift,
                 datetime.combine(end + timedelta(days=1), datetime.min.time()) - shift)


def local_day(column, offset):
    """SQL: the local date of a UTC timestamp column (read it back with ``day_key``)."""
    kind = dbmod.kind()
    seconds = int(offset)
    if kind == "sqlite":
        return NodeList((SQL("date("), column, SQL(f", '{seconds:+d} seconds')")), glue="")
    if kind == "mysql":
        return NodeList((SQL("DATE(DATE_ADD("), column, SQL(f", INTERVAL {seconds} SECOND))")), glue="")
    return NodeList((SQL("CAST(("), column, SQL(f" + interval '{seconds} seconds') AS DATE)")), glue="")


def day_key(value):
    """'YYYY-MM-DD' from what the database answered for ``local_day`` (text or a date)."""
    return str(value)[:10]


def seconds_between(earlier, later):
    """SQL: the seconds from ``earlier`` to ``later`` (timestamp columns or expressions)."""
    kind = dbmod.kind()
    if kind == "sqlite":
        return NodeList((SQL("((julianday("), later, SQL(") - julianday("), earlier, SQL(")) * 86400.0)")),
                        glue="")
    if kind == "mysql":
        return NodeList((SQL("TIMESTAMPDIFF(SECOND, "), earlier, SQL(", "), later, SQL(")")), glue="")
    return NodeList((SQL("EXTRACT(EPOCH FROM ("), later, SQL(" - "), earlier, SQL("))")), glue="")


def day_label(day):
    return day.strftime("%d/%m/%Y")


def daily(span, counts):
    """``{"dd/mm/yyyy": [n]}`` for every day of the range (0 where nothing happened)."""
    return {day_label(day): [int(counts.get(day.isoformat(), 0))] for day in span.days()}


def report(title, description, data, table, chart_type="line", label_type=1, inverse=True):
    return {"title": title, "description": description, "data": data, "table": table,
            "table-inverse": inverse, "table_inverse": inverse, "label_type": label_type,
            "chart_type": chart_type, "average": average_of(data), "average_label": ""}


def average_of(data):
    """Support Board 3.8's ``average``: the mean of the first value of each row, rounded."""
    values = [row[0] for row in (data.values() if isinstance(data, dict) else [])
              if isinstance(row, list) and row and isinstance(row[0], (int, float))
              and not isinstance(row[0], bool)]
    return round(sum(values) / len(values)) if values else 0
