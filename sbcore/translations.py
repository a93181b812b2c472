"""Translation catalogs: shipped with the package (``sbcore/languages/<code>.json``) and
overridden by saved ones in the data folder (``<SB_DATA_DIR>/languages/<code>.json``),
never written into the installed package."""

import json
import os
import re
import tempfile

LANGUAGE_CODE = re.compile(r"^[a-z]{2}(-[a-z]{2,4})?$")
SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "languages")
# Support Board 3.8's areas of a language (the reference shows front and admin)
SECTIONS = ("front", "admin", "admin/js", "admin/settings")


def saved_dir(config):
    return os.path.join(config.data_dir, "languages")


def _codes(folder):
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    return {n[:-5] for n in names if n.endswith(".json") and LANGUAGE_CODE.match(n[:-5])}


def codes(config):
    return sorted(_codes(SHIPPED) | _codes(saved_dir(config)) | {"en"})


def english():
    """English, the source language: every string translates to itself."""
    strings = _read(os.path.join(SHIPPED, "strings.json")) or {}
    return {"name": "English", **{section: {s: s for s in strings.get(section, [])}
                                  for section in SECTIONS}}


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def catalog(config, code):
    """``{"name", "front", "admin"}`` of a language (saved over shipped), or None."""
    if not LANGUAGE_CODE.match(code or ""):
        return None
    shipped = english() if code == "en" else _read(os.path.join(SHIPPED, f"{code}.json"))
    saved = _read(os.path.join(saved_dir(config), f"{code}.json"))
    if shipped is None and saved is None:
        return None
    result = {"name": (saved or shipped or {}).get("name", code)}
    result.update((section, {}) for section in SECTIONS)
    for source in (shipped, saved):
        for section in SECTIONS:
            result[section].update((source or {}).get(section, {}))
    return result


def all_catalogs(config):
    return {code: catalog(config, code) for code in codes(config)}


def translate(config, text, code):
    if not code or code == "en":
        return text
    found = catalog(config, code)
    value = (found or {}).get("front", {}).get(text)
    return value if value else text


def check(translations):
    """Raise ValueError unless ``{code: {"name"?, "front": {str: str}, "admin": {str: str}}}``."""
    if not isinstance(translations, dict):
        raise ValueError("translations is an object of language codes")
    for code, value in translations.items():
        if not LANGUAGE_CODE.match(code):
            raise ValueError(f"'{code}' is not a language code")
        if not isinstance(value, dict) or set(value) - {"name", *SECTIONS}:
            raise ValueError(f"'{code}' must be an object with name, {', '.join(SECTIONS)}")
        if "name" in value and not isinstance(value["name"], str):
            raise ValueError(f"the name of '{code}' must be text")
        for section in SECTIONS:
            strings = value.get(section, {})
            if not isinstance(strings, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in strings.items()):
                raise ValueError(f"'{code}.{section}' must map strings to strings")


def save(config, translations):
    """Write each language to the data folder, atomically."""
    folder = saved_dir(config)
    os.makedirs(folder, exist_ok=True)
    for code, value in translations.items():
        current = catalog(config, code) or {"name": code}
        document = {"name": value.get("name", current["name"])}
        document.update((section, value.get(section, current.get(section, {})))
                        for section in SECTIONS)
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, suffix=".tmp",
                                             delete=False)
        with handle:
            json.dump(document, handle, ensure_ascii=False, indent=1)
        os.replace(handle.name, os.path.join(folder, f"{code}.json"))
