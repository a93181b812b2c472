"""Settings: read, save (merging), export and import; departments and saved replies."""

import json

import requests

from .. import outbound, uploads
from ..errors import ApiError
from ..hooks import hookimpl
from ..registry import AGENT, FunctionSet, Json
from ..settings import SETTING_ID, Setting

functions = FunctionSet()
EXPORT_FORMAT = "sbcore-settings/1"


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_register_settings():
    return [Setting("import-max-bytes", "number", 5_000_000,
                    "import-settings refuses files larger than this many bytes.")]


def check_id(setting):
    if not SETTING_ID.match(setting):
        raise ApiError("invalid-argument", f"'{setting}' is not a setting id.", 400)
    return setting


@functions("get-setting")
def get_setting(ctx, setting: str):
    if check_id(setting) not in ctx.settings.specs:
        return False
    return ctx.settings.get(setting)


@functions("get-multi-setting")
def get_multi_setting(ctx, id: str, sub_id: str, default: Json = False):
    value = ctx.settings.get(check_id(id)) if id in ctx.settings.specs else None
    if isinstance(value, dict) and sub_id in value:
        return value[sub_id]
    return default


@functions("get-external-setting", spellings={"name": ("setting",)})
def get_external_setting(ctx, name: str, default: Json = False):
    return ctx.settings.get_external(name, default)


@functions("save-external-setting")
def save_external_setting(ctx, name: str, value: Json):
    ctx.settings.set_external(name, value)
    return True


@functions("get-settings")
def get_settings(ctx):
    return ctx.settings.all()


@functions("save-settings")
def save_settings(ctx, settings: dict, external_settings: dict | None = None,
                  external_settings_translations: dict | None = None):
    ctx.settings.merge(settings)
    for name, value in (external_settings or {}).items():
        ctx.settings.set_external(name, value)
    if external_settings_translations:
        for name in external_settings_translations:
            ctx.settings.check_external_name(name)
        current = ctx.settings.get_external("external-settings-translations", {})
        current.update(external_settings_translations)
        ctx.settings.set_external("external-settings-translations", current)
    return True


@functions("export-settings")
def export_settings(ctx):
    document = {"format": EXPORT_FORMAT, "settings": ctx.settings.all(),
                "external_settings": ctx.settings.externals()}
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    return ctx.upload_url(uploads.store(ctx.core, "exports", "-settings.json", data, ctx.caller_id))


def read_capped(ctx, file_url, limit):
    """The bytes behind ``file_url``: a file of our storage (one of its /uploads/ URLs),
    or an http(s) URL through the outbound guard, refusing anything over ``limit`` bytes."""
    key = uploads.key_of_url(ctx.config, file_url)
    if key is not None:
        try:
            data = ctx.storage.read(key, limit + 1)
        except (OSError, uploads.UnsafePath):
            raise ApiError("file-not-found", "The settings file is not in the uploads folder.", 404)
    else:
        try:
            response = outbound.request(ctx.config, "GET", file_url, stream=True)
        except outbound.OutboundRefused as error:
            raise ApiError("url-not-allowed", str(error), 400)
        except requests.RequestException as error:
            raise ApiError("import-failed", f"The settings file could not be fetched: {error}", 502)
        with response:
            if response.status_code != 200:
                raise ApiError("import-failed", f"The settings URL answered {response.status_code}.", 502)
            data = b""
            for chunk in response.iter_content(65536):
                data += chunk
                if len(data) > limit:
                    break
    if len(data) > limit:
        raise ApiError("file-too-large", f"The settings file is larger than {limit} bytes.", 400)
    return data


@functions("import-settings")
def import_settings(ctx, file_url: str):
    data = read_capped(ctx, file_url, int(ctx.settings.get("import-max-bytes")))
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError("invalid-settings-file", "The file is not a JSON settings export.", 400)
    if not isinstance(document, dict) or not isinstance(document.get("settings"), dict):
        raise ApiError("invalid-settings-file", "The file is not a settings export (no 'settings').", 400)
    known = {k: v for k, v in document["settings"].items() if k in ctx.settings.specs}
    ctx.settings.merge(known)
    externals = document.get("external_settings") or {}
    if not isinstance(externals, dict):
        raise ApiError("invalid-settings-file", "'external_settings' must be an object.", 400)
    for name, value in externals.items():
        ctx.settings.set_external(name, value)
    return True


@functions("get-departments", role=AGENT)
def get_departments(ctx):
    return {str(d["department-id"]): {"name": d.get("department-name", ""),
                                      "color": d.get("department-color", ""),
                                      "image": d.get("department-image", "")}
            for d in ctx.settings.get("departments")} or []  # 3.8: [] when there are none


@functions("saved-replies", role=AGENT)
def saved_replies(ctx):
    return ctx.settings.get("saved-replies") or False  # 3.8: false when none are saved
