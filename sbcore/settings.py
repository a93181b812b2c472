"""The settings registry: every setting with its type and default. Plugins add
theirs through ``sbcore_register_settings``. Stored values are JSON in
``sb_settings``; a value of the wrong type is refused."""

import json
from dataclasses import dataclass

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

    def check(self, value):
        expected = TYPES[self.type]
        if isinstance(value, bool) and expected != bool:
            ok = False
        else:
            ok = isinstance(value, expected)
        if not ok:
            raise ApiError("invalid-setting-value",
                           f"The setting '{self.id}' takes a value of type {self.type}.", 400)
        return value


CORE_SETTINGS = [
    Setting("presence-online-seconds", "number", 30,
            "A user is online when active within this many seconds."),
    Setting("presence-typing-seconds", "number", 5,
            "A typing indicator expires this many seconds after the last set-typing."),
    Setting("login-cookie-days", "number", 30,
            "A login cookie from login or update-login expires after this many days."),
]


@hookimpl
def sbcore_register_settings():
    return CORE_SETTINGS


class SettingsStore:
    """Reads and writes setting values against the registry's types and defaults."""

    def __init__(self, specs):
        self.specs = {spec.id: spec for spec in specs}

    def get(self, name, default=None):
        row = SettingRow.get_or_none(SettingRow.name == name)
        if row is not None:
            return json.loads(row.value)
        spec = self.specs.get(name)
        return spec.default if spec else default

    def set(self, name, value):
        spec = self.specs.get(name)
        if spec is not None:
            spec.check(value)
        encoded = json.dumps(value)
        updated = SettingRow.update(value=encoded).where(SettingRow.name == name).execute()
        if not updated:
            SettingRow.create(name=name, value=encoded)
