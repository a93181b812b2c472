"""Support Board's stored values as sbcore keeps them, and the import's report."""

import hashlib
import html
from datetime import date, datetime

def unescape(value):
    """Support Board's stored text (``&lt;`` ``&gt;`` ``&amp;`` …) as it was written."""
    return html.unescape(value) if isinstance(value, str) and "&" in value else (value or "")


def as_datetime(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None  # NULL or a zero date ('0000-00-00 …' comes back as text)


def as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def fingerprint(value):
    return hashlib.sha256((value or "").encode("utf-8")).hexdigest()


def unpack_setting(value):
    """A Support Board setting ``[value, type]`` (multi-input values ``{sub: [value, type]}``,
    repeater items the same) as sbcore keeps it: the bare value."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        value = value[0]
    if isinstance(value, dict):
        return {key: unpack_setting(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unpack_setting(item) for item in value]
    return value


def coerce(value, kind):
    """Support Board keeps numbers and booleans as text at times: "14", "true"."""
    if kind == "number" and isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if kind == "checkbox" and isinstance(value, str):
        return {"true": True, "false": False, "": False, "1": True, "0": False}.get(value.lower(), value)
    return value


class Report:
    """Counts per table, every skipped row and every row imported with a change."""

    def __init__(self):
        self.counts = {}
        self.skipped = []   # (table, source id, reason)
        self.changed = []   # (table, source id, what changed)
        self.not_carried = []

    def count(self, table, n=1):
        self.counts[table] = self.counts.get(table, 0) + n

    def skip(self, table, source_id, reason):
        self.skipped.append((table, str(source_id), reason))
        self.counts.setdefault(table, 0)

    def change(self, table, source_id, what):
        self.changed.append((table, str(source_id), what))

    def lines(self, dry_run):
        verb = "would import" if dry_run else "imported"
        out = [f"{verb}:"]
        for table, n in self.counts.items():
            skipped = sum(1 for t, _, _ in self.skipped if t == table)
            out.append(f"  {table:<22} {n:>9}" + (f"   skipped {skipped}" if skipped else ""))
        if self.skipped:
            out.append(f"skipped rows ({len(self.skipped)}):")
            out += [f"  {t} {i}: {why}" for t, i, why in self.skipped]
        if self.changed:
            out.append(f"imported with a change ({len(self.changed)}):")
            out += [f"  {t} {i}: {why}" for t, i, why in self.changed]
        if self.not_carried:
            out.append("not carried over:")
            out += [f"  {line}" for line in self.not_carried]
        return out


def parse_time(value):
    if isinstance(value, str):
        try:
            return datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
    return None


