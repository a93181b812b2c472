"""The Cloud Translation API, Basic edition (v2): ``translate`` and ``detect``, through
the core's outbound helper. An API key travels in the ``X-goog-api-key`` header (never
in the URL, so never in a log line or an error message), an OAuth access token as
``Authorization: Bearer``."""

from sbcore import ApiError, outbound

SERVICE = "google"
DEFAULT_URL = "https://translation.googleapis.com"
PATH = "/language/translate/v2"
MAX_SEGMENTS = 128  # "The maximum number of strings is 128" (translate, v2)


def google_error(response):
    """Google's error sentence from ``{"error": {"code", "message", "status", "errors": […]}}``,
    with the status (``INVALID_ARGUMENT`` …) when there is one."""
    error = response.json()["error"]
    message = error.get("message") or next(
        (e.get("message") for e in error.get("errors") or [] if isinstance(e, dict) and e.get("message")), None)
    if not message:
        return None
    return f"{message} ({error['status']})" if error.get("status") else message


def unexpected(what):
    return ApiError("google-error", f"google answered an unexpected body: {what}.", 502)


class Translation:
    """One caller's credentials: an API key or an access token."""

    def __init__(self, core, api_key="", access_token=""):
        self.core = core
        self.base = outbound.service_url(core, SERVICE, "google-url")
        if access_token:
            self.headers = {"Authorization": f"Bearer {access_token}"}
        else:
            self.headers = {"X-goog-api-key": api_key}

    def post(self, path, body):
        """POST a JSON body; Google's ``data`` object."""
        response = outbound.call_service(self.core.config, "POST", f"{self.base}{PATH}{path}", SERVICE,
                                         error_message=google_error, json=body, headers=self.headers)
        answer = outbound.json_body(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            raise unexpected("no data object")
        return answer["data"]

    def translate(self, strings, target):
        """The translated texts of ``strings``, in order. ``format: text``: the input is
        plain text, so the output is too (no HTML entities, no markup made up)."""
        data = self.post("", {"q": list(strings), "target": target, "format": "text"})
        translations = data.get("translations")
        if not isinstance(translations, list) or len(translations) != len(strings):
            raise unexpected(f"{len(strings)} translations expected")
        texts = [item.get("translatedText") if isinstance(item, dict) else None for item in translations]
        if any(not isinstance(text, str) for text in texts):
            raise unexpected("a translation without translatedText")
        return texts

    def detect(self, text):
        """The language Google detects in ``text`` (``und`` when it cannot tell)."""
        data = self.post("/detect", {"q": [text]})
        detections = data.get("detections")
        try:
            language = detections[0][0]["language"]
        except (TypeError, IndexError, KeyError):
            raise unexpected("no detection") from None
        if not isinstance(language, str) or not language:
            raise unexpected("no detected language")
        return language
