"""Consistency checker for the shipped translation catalogs.

The folder holds ``strings.json`` (the English source strings, as
``{"front": [...], "admin": [...]}``) and one ``<code>.json`` catalog per
language, shaped ``{"name": ..., "front": {english: translation}, "admin": {...}}``.

``check(folder)`` returns a list of human-readable problems (empty when all is
well). Run as a script to check the folder this file lives in (or the folder
given as the first argument): it prints ``ok`` and exits 0, or prints one
problem per line and exits 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter

SOURCE_FILE = "strings.json"
SECTIONS = ("front", "admin")
CATALOG_KEYS = {"name", *SECTIONS}

# Catalogs that must ship with the project (code -> English name).
LANGUAGES = {
    "ar": "Arabic",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "ja": "Japanese",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ru": "Russian",
    "tr": "Turkish",
    "zh": "Chinese",
}

PLACEHOLDER_RE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def placeholders(text: str) -> Counter:
    """Multiset of ``{placeholder}`` tokens found in ``text``."""
    return Counter(PLACEHOLDER_RE.findall(text))


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"duplicate key {key!r}")
        result[key] = value
    return result


def _load(path: str, problems: list[str]):
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        problems.append(f"{name}: invalid JSON: {exc}")
    except json.JSONDecodeError as exc:
        problems.append(f"{name}: invalid JSON: {exc}")
    except UnicodeDecodeError as exc:
        problems.append(f"{name}: not valid UTF-8: {exc}")
    except OSError as exc:
        problems.append(f"{name}: cannot read: {exc}")
    return None


def _check_source(source, problems: list[str]) -> dict[str, list[str]] | None:
    if not isinstance(source, dict):
        problems.append(f"{SOURCE_FILE}: top level must be an object")
        return None
    ok = True
    for key in sorted(set(source) - set(SECTIONS)):
        problems.append(f"{SOURCE_FILE}: unexpected key {key!r}")
    result: dict[str, list[str]] = {}
    for section in SECTIONS:
        strings = source.get(section)
        if not isinstance(strings, list):
            problems.append(f"{SOURCE_FILE}: {section!r} must be a list of strings")
            ok = False
            continue
        seen: set[str] = set()
        for item in strings:
            if not isinstance(item, str) or not item.strip():
                problems.append(f"{SOURCE_FILE}: {section}: empty or non-string entry {item!r}")
                continue
            if item in seen:
                problems.append(f"{SOURCE_FILE}: {section}: duplicate string {item!r}")
            seen.add(item)
        result[section] = [s for s in strings if isinstance(s, str) and s.strip()]
    return result if ok else None


def _check_catalog(name: str, catalog, source: dict[str, list[str]], problems: list[str]) -> None:
    if not isinstance(catalog, dict):
        problems.append(f"{name}: top level must be an object")
        return
    for key in sorted(set(catalog) - CATALOG_KEYS):
        problems.append(f"{name}: unexpected top-level key {key!r}")
    lang_name = catalog.get("name")
    if not isinstance(lang_name, str) or not lang_name.strip():
        problems.append(f"{name}: missing or empty 'name'")
    code = name[: -len(".json")]
    expected_name = LANGUAGES.get(code)
    if expected_name and isinstance(lang_name, str) and lang_name.strip() and lang_name != expected_name:
        problems.append(f"{name}: 'name' is {lang_name!r}, expected {expected_name!r}")

    for section in SECTIONS:
        entries = catalog.get(section)
        if not isinstance(entries, dict):
            problems.append(f"{name}: {section!r} must be an object")
            continue
        expected = source[section]
        expected_set = set(expected)
        for key in expected:
            if key not in entries:
                problems.append(f"{name}: {section}: missing key {key!r}")
        for key in entries:
            if key not in expected_set:
                problems.append(f"{name}: {section}: extra key {key!r}")
        for key, value in entries.items():
            if key not in expected_set:
                continue
            if not isinstance(value, str):
                problems.append(f"{name}: {section}: value for {key!r} is not a string")
                continue
            if not value.strip():
                problems.append(f"{name}: {section}: empty value for {key!r}")
                continue
            want, got = placeholders(key), placeholders(value)
            if want != got:
                problems.append(
                    f"{name}: {section}: placeholders not preserved for {key!r}: "
                    f"expected {sorted(want.elements())}, got {sorted(got.elements())}"
                )
            if key.endswith("...") and not value.endswith("..."):
                problems.append(f"{name}: {section}: trailing '...' not preserved for {key!r}")


def check(folder: str) -> list[str]:
    """Return the problems found in the catalogs of ``folder`` (empty if none)."""
    problems: list[str] = []
    if not os.path.isdir(folder):
        return [f"{folder}: not a directory"]

    raw = _load(os.path.join(folder, SOURCE_FILE), problems)
    if raw is None:
        return problems
    source = _check_source(raw, problems)
    if source is None:
        return problems

    present = sorted(
        f for f in os.listdir(folder)
        if f.endswith(".json") and f != SOURCE_FILE and os.path.isfile(os.path.join(folder, f))
    )
    for code in sorted(LANGUAGES):
        if f"{code}.json" not in present:
            problems.append(f"{code}.json: missing catalog for {LANGUAGES[code]}")

    for name in present:
        catalog = _load(os.path.join(folder, name), problems)
        if catalog is None:
            continue
        _check_catalog(name, catalog, source, problems)
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = argv[0] if argv else os.path.dirname(os.path.abspath(__file__))
    problems = check(folder)
    if problems:
        for problem in problems:
            print(problem)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
