"""``sbcore new-plugin NAME``: the skeleton of a plugin that installs, registers a function
and a setting, and passes its own test (the plugin guide, docs/plugins.md, walks through it)."""

import os
import re

NAME = re.compile(r"^[a-z][a-z0-9]{1,30}$")


def files(name):
    """``{relative path: text}`` of the skeleton of plugin ``name``."""
    package = f"sbcore_{name}"
    return {
        "setup.cfg": f"""[metadata]
name = sbcore-{name}
version = 0.1.0
description = The {name} plugin for sbcore
long_description = file: README.md
long_description_content_type = text/markdown
license = MIT
classifiers =
    Framework :: Pytest
    Programming Language :: Python :: 3

[options]
packages = find:
python_requires = >=3.11
install_requires =
    sbcore

[options.packages.find]
include = {package}, {package}.*

[options.entry_points]
sbcore =
    {name} = {package}.plugin

[tool:pytest]
addopts = -p sbcore.testing
""",
        "pyproject.toml": """[build-system]
requires = ["setuptools>=64", "wheel"]
build-backend = "setuptools.build_meta"
""",
        "README.md": f"""# sbcore-{name}

The {name} plugin for sbcore: `pip install -e .` next to sbcore, restart the server
(pending migrations are applied at start), and `POST /api/{name}-hello` answers.
`pytest` runs its tests with the fixtures of `sbcore.testing`.
""",
        f"{package}/__init__.py": "",
        f"{package}/plugin.py": f'''"""The {name} plugin's hook implementations (the logic is in functions.py)."""

from sbcore import hookimpl

from . import functions as F

sbcore_register_functions = F.functions.hook()   # every @functions(...) of functions.py


@hookimpl
def sbcore_register_settings():
    return F.SETTINGS
''',
        f"{package}/functions.py": f'''"""The {name} plugin's functions and settings."""

from sbcore import AGENT, ApiError, FunctionSet
from sbcore.settings import Setting

functions = FunctionSet()

SETTINGS = [
    Setting("{name}-greeting", "text", "Hello", "The word {name}-hello greets with."),
]


@functions("{name}-hello", role=AGENT)
def hello(ctx, name: str, times: int = 1):
    """Greet ``name`` with the {name}-greeting setting, ``times`` times."""
    if not 1 <= times <= 10:
        raise ApiError("invalid-argument", "The argument 'times' is from 1 to 10.", 400)
    greeting = ctx.settings.get("{name}-greeting")
    return " ".join([f"{{greeting}}, {{name}}!"] * times)
''',
        f"tests/test_{name}.py": f'''"""The {name} plugin, with the fixtures of sbcore.testing (``-p sbcore.testing`` in
setup.cfg, or ``pytest_plugins = ["sbcore.testing"]`` in a top conftest.py)."""

import pytest

from {package} import plugin

pytestmark = pytest.mark.sbcore(plugins=[plugin], settings={{"{name}-greeting": "Hi"}})


def test_hello_greets_with_the_setting(sbcore_api):
    assert sbcore_api.ok("{name}-hello", name="Ann", times=2) == "Hi, Ann! Hi, Ann!"


def test_bad_input_is_a_clear_error(sbcore_api):
    result = sbcore_api.call("{name}-hello", name="Ann", times=99)
    assert result.status == 400 and result.json["response"] == "invalid-argument"
''',
    }


def write(name, directory):
    """Write the skeleton of plugin ``name`` into ``directory`` (which must not exist)."""
    if not NAME.match(name):
        raise ValueError("a plugin name is 2 to 31 lower-case letters and digits, starting with a letter")
    if os.path.exists(directory):
        raise FileExistsError(f"{directory} exists already")
    written = []
    for relative, text in files(name).items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    return written
