"""Translations: read the catalogs, save them (with a backup), translate a string."""

import json
from datetime import datetime, timezone

from .. import translations as T
from .. import uploads
from ..errors import ApiError, invalid_argument
from ..registry import AGENT, FunctionSet

functions = FunctionSet()


sbcore_register_functions = functions.hook()


def check_code(language_code):
    code = str(language_code).strip().lower()
    if not T.LANGUAGE_CODE.match(code):
        raise invalid_argument("language_code", f"'{language_code}' is not a language code.")
    return code


@functions("get-translation", role=AGENT)
def get_translation(ctx, language_code: str):
    found = T.catalog(ctx.config, check_code(language_code))
    return found if found is not None else False


@functions("get-translations", role=AGENT)
def get_translations(ctx):
    return T.all_catalogs(ctx.config)


@functions("save-translations")
def save_translations(ctx, translations: dict):
    try:
        T.check(translations)
    except ValueError as error:
        raise ApiError("invalid-translations", f"The translations are not valid: {error}.", 400)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    uploads.store(ctx.core, "backups", f"-translations-{stamp}.json",
                  json.dumps(T.all_catalogs(ctx.config), ensure_ascii=False).encode("utf-8"), ctx.caller_id)
    T.save(ctx.config, translations)
    return True


@functions("translate-string", role=AGENT)
def translate_string(ctx, string: str, language_code: str | bool = False):
    if language_code is False or language_code in ("", "false"):
        return string
    return T.translate(ctx.config, string, check_code(language_code))
