"""Support Board 3.8's settings catalogue: its 140 setting ids with their types and
sub-fields (``sbcore/data/support_board_settings.json``, copied from what a 3.8.7 server
lists), known to get-settings and save-settings beside sbcore's own settings.

An id that sbcore registers itself keeps sbcore's type and checks; a multi-input of both
also takes 3.8's extra sub-fields. The others are stored as given, after a type check."""

import dataclasses
import json
import os

from .settings import Setting, invalid

CATALOGUE_FILE = os.path.join(os.path.dirname(__file__), "data", "support_board_settings.json")

# 3.8's field types -> the JSON kinds a value may have
SCALAR = {
    "checkbox": (bool,), "text": (str,), "textarea": (str,), "password": (str,),
    "select": (str,), "color": (str,), "upload-image": (str,), "select-images": (str,),
    "button": (str,), "input-button": (str,), "number": (int, float, str),
}
# 3.8's top-level types -> sbcore's setting types (the type get-settings shows)
STORED_TYPE = {"upload-image": "upload", "select-images": "select", "button": "text",
               "input-button": "text", "timetable": "json"}
DEFAULT = {"checkbox": False, "multi-input": {}, "repeater": [], "timetable": []}


def catalogue():
    """``[item]``: every setting of the catalogue, ``{"id", "type", "fields"?, "section"}``."""
    with open(CATALOGUE_FILE, encoding="utf-8") as handle:
        document = json.load(handle)
    return [dict(item, section=section) for section, items in document["sections"].items()
            for item in items]


def unpair(value, kind=None):
    """A value given as get-settings' ``[value, type]`` pair, or bare."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str) and \
            (kind is None or value[1] == kind) and value[1] in SCALAR:
        return value[0]
    return value


def check_scalar(setting_id, kind, value):
    allowed = SCALAR.get(kind, (str,))
    if isinstance(value, bool) and bool not in allowed:
        raise invalid(setting_id, f"takes a value of type {kind}.")
    if not isinstance(value, allowed):
        raise invalid(setting_id, f"takes a value of type {kind}.")
    if kind == "number" and isinstance(value, str) and value.strip() and \
            not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        raise invalid(setting_id, "takes a number.")
    return value


def sub_fields_validator(item, own=None):
    """A multi-input's check: 3.8's sub-fields by their types (pairs unwrapped); other
    keys go to sbcore's own check ``own`` when the id is sbcore's too, else are refused."""
    fields = {field["id"]: field["type"] for field in item.get("fields", [])}

    def validate(value):
        value = {key: unpair(sub) for key, sub in value.items()}
        theirs = {}
        for key in list(value):
            if key in fields and (own is None or key not in own.default):
                theirs[key] = check_scalar(f"{item['id']}.{key}", fields[key], value.pop(key))
        if own is not None:
            checked = own.validate(value) if own.validate else value
            return {**checked, **theirs}
        if value:
            raise invalid(item["id"], f"unknown key '{sorted(value)[0]}' "
                                      f"(keys: {', '.join(fields)}).")
        return theirs
    return validate


def repeater_validator(setting_id):
    def validate(value):
        if not all(isinstance(row, dict) for row in value):
            raise invalid(setting_id, "each item is an object.")
        return value
    return validate


def spec_of(item):
    """sbcore's Setting for a catalogue id that sbcore does not register itself."""
    kind, setting_id = item["type"], item["id"]
    doc = f"Support Board 3.8 setting ({item['section']}); stored for 3.8 clients."
    if kind == "multi-input":
        return Setting(setting_id, "multi-input", {}, doc, sub_fields_validator(item))
    if kind == "repeater":
        return Setting(setting_id, "repeater", [], doc, repeater_validator(setting_id))
    if kind == "timetable":
        return Setting(setting_id, "json", [], doc)
    stored = STORED_TYPE.get(kind, kind)
    return Setting(setting_id, stored, DEFAULT.get(kind, ""), doc,
                   lambda value, k=kind, s=setting_id: check_scalar(s, k, value))


def with_catalogue(specs):
    """sbcore's setting specs plus every catalogue id sbcore lacks; a multi-input that both
    have also takes 3.8's sub-fields."""
    by_id = {spec.id: spec for spec in specs}
    for item in catalogue():
        own = by_id.get(item["id"])
        if own is None:
            by_id[item["id"]] = spec_of(item)
        elif own.type == "multi-input" and item["type"] == "multi-input":
            by_id[item["id"]] = dataclasses.replace(own, validate=sub_fields_validator(item, own))
    return list(by_id.values())
