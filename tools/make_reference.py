"""Write the project's copy of the reference facts its tests need, once, from the
function reference (``shared/reference`` beside the checkout by default).

    python tools/make_reference.py [REFERENCE_DIR]

Tests never read the reference itself: they read ``tests/reference/functions.json``
(every function: name, description, arguments, notes and its example answers as JSON
values) and ``tests/reference/webhooks.json`` (every webhook: its example body).
``sbcore/web/reference_docs.json`` is the part the OpenAPI document shows (each
function's description, its arguments' sentences, its example answer).
Run it again only when the reference changes, and commit what it writes."""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "reference"


def parse_example(text):
    """The reference's example as a JSON value: ``...`` elisions dropped; None when it is
    prose ("true or false", "[ coupon code, discount value ]")."""
    text = re.sub(r",\s*\.\.\.\s*(?=[\]\}])", "", text)
    text = re.sub(r"\.\.\.", "", text)
    try:
        return json.loads(text)
    except ValueError:
        return None


def functions(folder):
    entries = json.loads((folder / "functions.json").read_text(encoding="utf-8"))
    names = [line.strip() for line in (folder / "functions.txt").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    assert sorted(e["name"] for e in entries) == sorted(names), "functions.json and functions.txt disagree"
    result = []
    for entry in entries:
        parsed = [parse_example(text) for text in entry["examples"]]
        result.append({"name": entry["name"], "description": entry["description"],
                       "arguments": entry["arguments"], "notes": entry["notes"],
                       "examples": [value for value in parsed if value is not None],
                       "prose_examples": [text for text, value in zip(entry["examples"], parsed)
                                          if value is None]})
    return result


def webhooks(folder):
    names = [line.strip() for line in (folder / "webhooks.txt").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    bodies = {}
    for line in (folder / "support-board-web-api.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r'\{ "function": "([a-z0-9-]+)"', line)
        if match and match.group(1) in names and match.group(1) not in bodies:
            bodies[match.group(1)] = json.loads(line.replace("\\/", "/"))
    missing = sorted(set(names) - set(bodies))
    assert not missing, f"no example body for the webhooks {missing}"
    return {name: bodies[name] for name in names}


def docs(entries):
    """What /openapi.json and /docs show of the reference, by function name."""
    result = {}
    for entry in entries:
        example = entry["examples"][0] if entry["examples"] else None
        if isinstance(example, dict) and "success" in example and "response" in example:
            example = example["response"]
        result[entry["name"]] = {
            "description": entry["description"],
            "arguments": {a["name"]: a["doc"] for a in entry["arguments"] if a["name"] != "token"},
            **({"example": example} if example is not None else {})}
    return result


def main(argv):
    folder = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared" / "reference"
    if not (folder / "functions.json").is_file():
        sys.exit(f"{folder}: not a reference folder (functions.json missing); give its path")
    OUT.mkdir(parents=True, exist_ok=True)
    entries = functions(folder)
    for path, value in ((OUT / "functions.json", entries), (OUT / "webhooks.json", webhooks(folder)),
                        (ROOT / "sbcore" / "web" / "reference_docs.json", docs(entries))):
        path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv)
