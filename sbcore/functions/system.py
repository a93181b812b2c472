"""Versions, updates and apps (plugins): get-versions, updates-available, update,
app-get-key, app-activation."""

import importlib.metadata as metadata
import re
import subprocess
import sys

from packaging.version import InvalidVersion, Version

from .. import outbound
from ..errors import ApiError, invalid_argument
from ..hooks import hookimpl
from ..registry import FunctionSet
from ..settings import Setting

functions = FunctionSet()
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
PIP_TIMEOUT = 600


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_register_settings():
    return [
        Setting("allow-remote-update", "checkbox", False,
                "Let update and app-activation run pip to install or upgrade packages."),
        Setting("package-index-url", "text", "https://pypi.org/pypi",
                "The package index's JSON API that updates-available asks (SB_URL_PYPI overrides)."),
    ]


def installed():
    """``{"sb": version, "<app>": version}``: sbcore and every distribution with a
    plugin in the ``sbcore`` entry-point group."""
    versions = {"sb": metadata.version("sbcore")}
    for dist in metadata.distributions():
        for entry in dist.entry_points:
            if entry.group == "sbcore":
                versions[entry.name] = dist.version
    return versions


def distributions():
    """``{"<dist name>": version}`` for sbcore and its installed plugins."""
    names = {"sbcore": metadata.version("sbcore")}
    for dist in metadata.distributions():
        if any(e.group == "sbcore" for e in dist.entry_points):
            names[dist.metadata["Name"]] = dist.version
    return names


@functions("get-versions")
def get_versions(ctx):
    return installed()


def index_url(ctx):
    return outbound.service_url(ctx, "pypi", "package-index-url")


def newer(current, latest):
    try:
        return Version(latest) > Version(current)
    except InvalidVersion:
        return False


@functions("updates-available", transaction=False)  # asks the package index: no transaction held
def updates_available(ctx):
    for name, version in distributions().items():
        response = outbound.call_service(ctx.config, "GET", f"{index_url(ctx)}/{name}/json", "package-index")
        try:
            latest = response.json()["info"]["version"]
        except (ValueError, KeyError, TypeError):
            raise ApiError("package-index-error", f"The package index answered no version for {name}.", 502)
        if newer(version, latest):
            return True
    return False


def pip(ctx, *arguments):
    if not ctx.settings.get("allow-remote-update"):
        raise ApiError("update-disabled", "Remote updates are off (setting allow-remote-update).", 403)
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    if result.returncode != 0:
        raise ApiError("update-failed", f"pip failed: {result.stderr.strip()[-500:]}", 502)
    return "success"


@functions("update", transaction=False)  # pip runs up to 10 minutes: no transaction held
def update(ctx):
    return pip(ctx, "--upgrade", *sorted(distributions()))


def check_app(app_name):
    if not APP_NAME.match(app_name):
        raise invalid_argument("app_name", "lower-case letters, digits and '-', 2 to 32 characters.")
    return app_name


@functions("app-get-key")
def app_get_key(ctx, app_name: str):
    # "" when the app has no key, as Support Board 3.8 answers
    return ctx.settings.get_external(f"app-key-{check_app(app_name)}", False) or ""


@functions("app-activation", transaction=False)  # may run pip first
def app_activation(ctx, app_name: str, key: str):
    check_app(app_name)
    if not key.strip() or len(key) > 256:
        raise invalid_argument("key", "the licence key (at most 256 characters).")
    if app_name not in installed():
        pip(ctx, f"sbcore-{app_name}")  # update-disabled unless remote updates are allowed
    ctx.settings.set_external(f"app-key-{app_name}", key.strip())
    return "success"
