"""The project's own copy of the reference facts (tests/reference, written by
tools/make_reference.py): complete, and the only place tests take them from."""

import os
import re

from sbcore.testing import reference_example, reference_function_names, reference_functions, \
    reference_webhook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_copy_holds_every_function_and_webhook():
    names = reference_function_names()
    assert len(names) == len(set(names)) == 164
    assert reference_functions()["get-user"]["arguments"][1]["name"] == "user_id"
    assert reference_example("get-user")["first_name"] == "John"
    for name in ("message-sent", "registration", "user-deleted", "sms-sent", "login"):
        assert reference_webhook(name)["function"] == name


def test_no_test_reads_the_reference_beside_the_checkout():
    """make test passes on a clone with nothing beside it."""
    # "..", a slash or backslash, then "shared": a path to the folder beside the checkout
    pattern = re.compile(r"shared[/\\\"', ]+reference|SB_REFERENCE_DIR|\.\.[/\\]shared")
    offenders = []
    for folder in [os.path.join(ROOT, "tests"), os.path.join(ROOT, "sbcore"),
                   *[os.path.join(ROOT, "plugins", p) for p in os.listdir(os.path.join(ROOT, "plugins"))]]:
        for base, _, files in os.walk(folder):
            for name in files:
                if name.endswith(".py") and name != "test_reference_data.py":
                    with open(os.path.join(base, name), encoding="utf-8") as handle:
                        if pattern.search(handle.read()):
                            offenders.append(os.path.join(base, name))
    assert not offenders, offenders
