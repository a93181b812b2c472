"""Every function's answer over /include/api.php holds the union shape of
``tests/reference/wire_shapes.json`` (keys and JSON types): the reference's example and
what a Support Board 3.8 server answers."""

import json
import os
import re

import pytest

from wire_scenario import CALLS, call_sb, prepare

with open(os.path.join(os.path.dirname(__file__), "reference", "wire_shapes.json"),
          encoding="utf-8") as _handle:
    WIRE = json.load(_handle)
SHAPES, EXPECTED = WIRE["shapes"], WIRE["functions"]
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
SCALARS = {
    "str": lambda v: isinstance(v, str),
    "str(num)": lambda v: isinstance(v, str) and v.lstrip("-").isdigit(),
    "str(dt)": lambda v: isinstance(v, str) and bool(DATETIME.match(v)),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "any": lambda v: True,
}


def mismatch(value, spec, path="response"):
    """The first way ``value`` differs from ``spec``, or None."""
    if isinstance(spec, str):
        if spec.startswith("$"):
            return mismatch(value, SHAPES[spec[1:]], path)
        if any(SCALARS[kind](value) for kind in spec.split("|")):
            return None
        return f"{path}: expected {spec}, got {value!r}"[:300]
    if isinstance(spec, list):
        if not isinstance(value, list):
            return f"{path}: expected an array, got {value!r}"[:300]
        for index, item in enumerate(value if spec else []):
            found = mismatch(item, spec[0], f"{path}[{index}]")
            if found:
                return found
        return None
    if "any_of" in spec:
        found = [mismatch(value, option, path) for option in spec["any_of"]]
        return None if None in found else found[0]
    if "tuple" in spec:
        if not isinstance(value, list) or len(value) != len(spec["tuple"]):
            return f"{path}: expected {len(spec['tuple'])} items, got {value!r}"[:300]
        for index, (item, option) in enumerate(zip(value, spec["tuple"])):
            found = mismatch(item, option, f"{path}[{index}]")
            if found:
                return found
        return None
    if not isinstance(value, dict):
        return f"{path}: expected an object, got {value!r}"[:300]
    if "*" in spec:
        for key, item in value.items():
            found = mismatch(item, spec["*"], f"{path}.{key}")
            if found:
                return found
        return None
    keys = dict(SHAPES[spec["$extends"]]) if "$extends" in spec else {}
    keys.update((k, v) for k, v in spec.items() if k != "$extends")
    missing = sorted(set(keys) - set(value))
    if missing:
        return f"{path}: lacks {missing}"
    for key, option in keys.items():
        found = mismatch(value[key], option, f"{path}.{key}")
        if found:
            return found
    return None


_answers = {}


@pytest.fixture
def answers(request):
    """The scenario's answers, run once for the module (the first test that needs them
    runs every call, in order, on its own database)."""
    if not _answers:
        api = request.getfixturevalue("api")
        values = prepare(api)
        for function, arguments in CALLS.items():
            result = call_sb(api, function, arguments, values)
            _answers[function] = (result.status_code, result.json)
    return _answers


def test_every_expected_function_is_called():
    assert set(EXPECTED) == set(CALLS)


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_answer_holds_the_union_shape(answers, function):
    status, body = answers[function]
    assert status == 200 and list(body) == ["success", "response"], (function, body)
    assert body["success"] is True, body
    assert mismatch(body["response"], EXPECTED[function]) is None, \
        mismatch(body["response"], EXPECTED[function])


def test_the_checker_sees_a_difference():
    assert mismatch({"id": 1}, {"id": "str(num)"}) is not None
    assert mismatch({"id": "1"}, {"id": "str(num)", "x": "str"}) == "response: lacks ['x']"
    assert mismatch([{"id": "a"}], [{"id": "str(num)"}]) is not None
    assert mismatch("", {"any_of": ["str", {"id": "str(num)"}]}) is None
