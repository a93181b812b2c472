"""Google Cloud Translation: google-translate and google-language-detection-update-user.

Both call Google holding no database transaction; the detected language is then
written in a short one of its own. Credentials: the setting ``google-api-key``, or an
OAuth 2.0 access token given as the call's ``token`` (free when the admin token comes
as ``Authorization: Bearer``)."""

import re

from sbcore import AGENT, ApiError, FunctionSet
from sbcore import db as dbmod
from sbcore import users as U
from sbcore.errors import invalid_argument
from sbcore.settings import Setting, invalid

from .client import DEFAULT_URL, MAX_SEGMENTS, Translation

functions = FunctionSet()

# A header value: printable ASCII without spaces (no way to smuggle a header in).
CREDENTIAL = re.compile(r"^[!-~]{1,4096}$")
# ISO-639 with an optional script or region, as Google's language codes are (en, zh-TW, mni-Mtei).
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
# Support Board's codes where they differ from Google's: "For Traditional Chinese use zt,
# for Simplified Chinese use zh".
TO_GOOGLE = {"zt": "zh-TW", "zh": "zh-CN"}
FROM_GOOGLE = {"zh-tw": "zt", "zh-hant": "zt", "zh-cn": "zh", "zh-hans": "zh"}
DETECT_CHARACTERS = 2000  # enough text to tell a language; the rest is not sent
UNDETERMINED = "und"


def check_key(value):
    if value.strip() and not CREDENTIAL.match(value.strip()):
        raise invalid("google-api-key", "an API key is printable characters without spaces.")
    return value.strip()


SETTINGS = [
    Setting("google-url", "text", DEFAULT_URL,
            "The Cloud Translation API's base URL (SB_URL_GOOGLE overrides)."),
    Setting("google-api-key", "password", "",
            "An API key of a Google Cloud project with the Cloud Translation API enabled, sent as "
            "X-goog-api-key. Without it google-translate and google-language-detection-update-user answer "
            "google-not-active, unless the call gives an OAuth access token as `token`.", check_key),
]


# --- credentials and codes ---


def translation(ctx, token):
    """The client for this call: the access token given, else the API key setting."""
    token = (token or "").strip()
    if token.lower() == "false":
        token = ""
    if token:
        if not CREDENTIAL.match(token):
            raise invalid_argument("token", "an OAuth 2.0 access token is printable characters without spaces.")
        return Translation(ctx.core, access_token=token), token
    key = (ctx.settings.get("google-api-key") or "").strip()
    if not key:
        raise ApiError("google-not-active", "Google Translation is not configured: set the setting "
                       "'google-api-key', or give an OAuth access token as 'token' (with the admin token in "
                       "'Authorization: Bearer').", 400)
    return Translation(ctx.core, api_key=key), False


def google_code(language_code):
    """Google's code for a language code of the reference (``zt`` → ``zh-TW``)."""
    code = str(language_code).strip()
    if not LANGUAGE.match(code):
        raise invalid_argument("language_code", f"'{language_code}' is not a language code.")
    return TO_GOOGLE.get(code.lower(), code)


def user_code(google_language):
    """The user's ``language`` detail for a language Google detected: Support Board's
    two-letter codes (``zh-TW`` → ``zt``, ``pt-BR`` → ``pt``)."""
    code = google_language.strip().lower()
    return FROM_GOOGLE.get(code, code.split("-", 1)[0])


def translate(ctx, strings, language_code):
    """``sbcore_translate``: the translations of ``strings`` with the API key, None
    without one (nobody's access token is at hand outside a call)."""
    key = (ctx.settings.get("google-api-key") or "").strip()
    if not key:
        return None
    strings = [str(item) for item in strings]
    if not strings:
        return []
    client = Translation(ctx.core, api_key=key)
    return [text for start in range(0, len(strings), MAX_SEGMENTS)
            for text in client.translate(strings[start:start + MAX_SEGMENTS], google_code(language_code))]


# --- the functions ---


@functions("google-translate", role=AGENT, transaction=False)  # a network call: no transaction held
def google_translate(ctx, strings: list, language_code: str, token: str = ""):
    if len(strings) > MAX_SEGMENTS:
        raise invalid_argument("strings", f"at most {MAX_SEGMENTS} strings at once.")
    texts = []
    for item in strings:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise invalid_argument("strings", "expected an array of strings.")
        texts.append(str(item))
    target = google_code(language_code)
    client, access_token = translation(ctx, token)
    if not texts:
        return [[], access_token]
    return [client.translate(texts, target), access_token]


@functions("google-language-detection-update-user", transaction=False,
           aliases=("google-translate-detection-update-user",))
def google_language_detection_update_user(ctx, string: str, user_id: int, token: str = ""):
    if not string.strip():
        raise invalid_argument("string", "the text is empty.")
    U.require_user(user_id)
    client, _ = translation(ctx, token)
    detected = client.detect(string.strip()[:DETECT_CHARACTERS])
    if detected.lower() == UNDETERMINED or not LANGUAGE.match(detected):
        return False  # Google cannot tell: the user's language stays as it was

    def assign():
        user = U.require_user(user_id)  # still there after the call
        U.set_details(user.id, [("language", user_code(detected), "Language")])
        U.reindex([user.id])
        ctx.hook.sbcore_on_user_updated(ctx=ctx, user=user)
        return True
    return dbmod.in_transaction_retrying(ctx.core.database, assign)
