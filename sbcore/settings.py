"""The settings registry: every setting with its type and default. Plugins add
theirs through ``sbcore_register_settings``. Stored values are JSON in
``sb_settings``; a value of the wrong type is refused."""

import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Callable, Optional

from .db import Prepared
from .errors import ApiError
from .hooks import hookimpl
from .models import Setting as SettingRow

TYPES = {
    "text": str, "textarea": str, "password": str, "color": str, "select": str,
    "upload": str, "number": (int, float), "checkbox": bool,
    "multi-input": dict, "repeater": list, "json": (dict, list),
}


@dataclass(frozen=True)
class Setting:
    id: str
    type: str
    default: object
    doc: str = ""
    validate: Optional[Callable] = None  # validate(value) -> value, raising ApiError
    # a number setting's smallest and largest values (NUMBER_BOUNDS when not given)
    bounds: Optional[tuple] = None

    def check(self, value):
        expected = TYPES[self.type]
        if isinstance(value, bool) and expected != bool:
            ok = False
        else:
            ok = isinstance(value, expected)
        if not ok:
            raise ApiError("invalid-setting-value",
                           f"The setting '{self.id}' takes a value of type {self.type}.", 400)
        if self.type == "number":
            low, high = self.bounds or NUMBER_BOUNDS
            if not math.isfinite(value) or not low <= value <= high:
                raise invalid(self.id, f"a number from {low} to {high}.")
        return self.validate(value) if self.validate else value


# numbers a setting of type number takes unless it declares its own bounds
NUMBER_BOUNDS = (0, 1_000_000_000)


def invalid(setting_id, why):
    return ApiError("invalid-setting-value", f"The setting '{setting_id}' is invalid: {why}", 400)


COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|rgba?\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*"
                    r"(,\s*(0|1|0?\.\d+)\s*)?\))$")


def check_colour(value, setting_id="colour"):
    if not isinstance(value, str) or not COLOUR.match(value.strip()):
        raise invalid(setting_id, f"'{value}' is not a hex (#rrggbb) or rgb(r, g, b) colour.")
    return value.strip()


def list_of_records(setting_id, keys, required):
    """A validator: a list of objects with only ``keys``, the ``required`` ones non-empty
    strings or numbers."""
    def validate(value):
        for item in value:
            if not isinstance(item, dict) or set(item) - set(keys):
                raise invalid(setting_id, f"each item is an object with {', '.join(keys)}.")
            for key in keys:
                if key in item and not isinstance(item[key], (str, int, float)):
                    raise invalid(setting_id, f"'{key}' must be text.")
                if key in required and str(item.get(key, "")).strip() == "":
                    raise invalid(setting_id, f"'{key}' is required.")
        return value
    return validate


def options_of(setting_id, default, choices=None):
    """A validator for a multi-input setting: only the keys of ``default``, each of the
    default's type; ``choices`` maps a key to its allowed values."""
    def validate(value):
        unknown = sorted(set(value) - set(default))
        if unknown:
            raise invalid(setting_id, f"unknown key '{unknown[0]}' (keys: {', '.join(default)}).")
        for key, item in value.items():
            kind = bool if isinstance(default[key], bool) else str
            if isinstance(item, bool) != (kind is bool) or not isinstance(item, kind):
                raise invalid(setting_id, f"'{key}' takes {'true or false' if kind is bool else 'text'}.")
            if choices and key in choices and item not in choices[key]:
                raise invalid(setting_id, f"'{key}' is one of {', '.join(choices[key])}.")
        return value
    return validate


def check_departments(value):
    list_of_records("departments", ("department-id", "department-name", "department-color",
                                    "department-image"), ("department-id", "department-name"))(value)
    ids = [str(item["department-id"]) for item in value]
    if len(ids) != len(set(ids)) or not all(i.isascii() and i.isdigit() for i in ids):
        raise invalid("departments", "department ids are distinct whole numbers.")
    return value


CORE_SETTINGS = [
    Setting("presence-online-seconds", "number", 30,
            "A user is online when active within this many seconds.", bounds=(0.1, 86_400)),
    Setting("presence-typing-seconds", "number", 5,
            "A typing indicator expires this many seconds after the last set-typing.",
            bounds=(0.1, 3_600)),
    Setting("login-cookie-days", "number", 30,
            "A login cookie from login or update-login expires after this many days.",
            bounds=(1, 3_650)),
    Setting("departments", "repeater", [],
            'Departments: [{"department-id", "department-name", "department-color", '
            '"department-image"}].', check_departments),
    Setting("saved-replies", "repeater", [], 'Saved replies: [{"reply-name", "reply-text"}].',
            list_of_records("saved-replies", ("reply-name", "reply-text"), ("reply-name",))),
    Setting("color-1", "color", "#028be5", "The chat's main colour (hex or rgb).",
            lambda v: check_colour(v, "color-1")),
    Setting("color-2", "color", "#02659f", "The chat's second colour (hex or rgb).",
            lambda v: check_colour(v, "color-2")),
    Setting("color-3", "color", "#f5f7fa", "The chat's third colour (hex or rgb).",
            lambda v: check_colour(v, "color-3")),
]


@hookimpl
def sbcore_register_settings():
    return CORE_SETTINGS


EXTERNAL_PREFIX = "external:"
SETTING_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,120}$")


# The stamp of the stored settings: a row of its own, given a new random value by every
# write in the writer's transaction, so that a process (on any host) that sees the stamp it
# cached knows its copy is current, and a rolled-back write leaves the old stamp.
STAMP = "sbcore:settings-stamp"


def stamp_select(*columns):
    """The stamp's row (no row before the first save): ``columns``, or its value."""
    return SettingRow.select(*(columns or (SettingRow.value,))).where(SettingRow.name == STAMP)


READ_STAMP = Prepared(lambda: stamp_select().limit(1))


class Reader:
    """Reading setting values from ``self.current()``: the stored JSON texts by name."""

    def get(self, name, default=None):
        text = self.current().get(name)
        if text is not None:
            return json.loads(text)  # a fresh object each time: callers may change it
        spec = self.specs.get(name)
        return spec.default if spec else default

    def options(self, name):
        """A multi-input setting's stored keys over its registered defaults."""
        spec = self.specs[name]
        stored = self.get(name)
        return {**spec.default, **(stored if isinstance(stored, dict) else {})}

    def all(self):
        """``{id: [value, type]}`` for every registered setting."""
        return {sid: [self.get(sid), spec.type] for sid, spec in sorted(self.specs.items())}


class SettingsStore(Reader):
    """Reads and writes setting values against the registry's types and defaults.

    Values are served from a per-process copy of the stored settings (external ones
    excepted), checked against the stamp in the database: one primary-key read per
    ``get`` here, once per call through a :class:`SettingsView` (``ctx.settings``)."""

    def __init__(self, specs):
        self.specs = {spec.id: spec for spec in specs}
        self._cached = (None, {})  # (stamp, {name: JSON text}), swapped whole

    def view(self, stamp=None):
        """The settings as one call sees them: the stamp checked at its first read, or
        ``stamp`` when the caller read it already (with the admin-token check)."""
        return SettingsView(self, stamp)

    def current(self, stamp=None):
        if stamp is None:
            row = READ_STAMP.execute().fetchone()
            stamp = row[0] if row else ""
        stamp = stamp or ""
        cached_stamp, values = self._cached
        if stamp != cached_stamp:
            values = {name: value for name, value in SettingRow.select(
                SettingRow.name, SettingRow.value).where(
                ~SettingRow.name.startswith(EXTERNAL_PREFIX)).tuples() if name != STAMP}
            self._cached = (stamp, values)
        return values

    def bump(self):
        """A new stamp, in the current transaction: every process reloads its copy."""
        stamp = secrets.token_hex(16)
        if not SettingRow.update(value=stamp).where(SettingRow.name == STAMP).execute():
            SettingRow.create(name=STAMP, value=stamp)

    def set(self, name, value):
        spec = self.specs.get(name)
        if spec is not None:
            value = spec.check(value)
        self._write(name, value)

    def _write(self, name, value):
        encoded = json.dumps(value)
        updated = SettingRow.update(value=encoded).where(SettingRow.name == name).execute()
        if not updated:
            SettingRow.create(name=name, value=encoded)
        if not name.startswith(EXTERNAL_PREFIX):
            self.bump()

    def unpack(self, name, value):
        """A value given bare or as the ``[value, type]`` pair of get-settings, checked."""
        spec = self.specs.get(name)
        if spec is None:
            raise ApiError("unknown-setting", f"There is no setting '{name}'.", 400)
        if isinstance(value, list) and len(value) == 2 and value[1] == spec.type and (
                spec.type != "repeater" or isinstance(value[0], list)):
            value = value[0]
        return spec.check(value)

    def merge(self, values):
        """Save the given settings (checked first, all or none); others keep their values."""
        if not isinstance(values, dict):
            raise ApiError("invalid-argument", "settings must be an object of setting ids.", 400)
        checked = {name: self.unpack(name, value) for name, value in values.items()}
        for name, value in checked.items():
            self._write(name, value)
        return checked

    @staticmethod
    def check_external_name(name):
        if not isinstance(name, str) or not SETTING_ID.match(name):
            raise ApiError("invalid-argument", f"'{name}' is not a setting name (a-z, 0-9, - and _).", 400)
        return EXTERNAL_PREFIX + name

    def get_external(self, name, default=False):
        row = SettingRow.get_or_none(SettingRow.name == self.check_external_name(name))
        return default if row is None else json.loads(row.value)

    def set_external(self, name, value):
        self._write(self.check_external_name(name), value)

    def externals(self):
        return {row.name[len(EXTERNAL_PREFIX):]: json.loads(row.value) for row in
                SettingRow.select().where(SettingRow.name.startswith(EXTERNAL_PREFIX))}


class SettingsView(Reader):
    """``ctx.settings``: the store's values, its stamp checked once per call (at the first
    read, so a call that reads no setting pays nothing); a write through the view is
    seen by the view's next read. Everything else is the store's."""

    def __init__(self, store, stamp=None):
        self._store = store
        self._stamp = stamp
        self._values = None

    @property
    def specs(self):
        return self._store.specs

    def current(self):
        if self._values is None:
            self._values = self._store.current(self._stamp)
        return self._values

    def set(self, name, value):
        self._values = self._stamp = None
        self._store.set(name, value)

    def merge(self, values):
        self._values = self._stamp = None
        return self._store.merge(values)

    def __getattr__(self, name):
        return getattr(self._store, name)
