"""The Telegram Bot API: sending messages and fetching files, through the core's
outbound helper. The bot's token is part of every URL, so it is taken out of any
error message."""

from sbcore import ApiError, outbound

SERVICE = "telegram"
DEFAULT_URL = "https://api.telegram.org"


def bot_error(response):
    """The Bot API's error sentence: ``{"ok": false, "error_code": 400, "description": …}``."""
    try:
        return response.json().get("description")
    except (ValueError, AttributeError):
        return None


class BotApi:
    """One bot, by its token (``<bot id>:<secret part>``)."""

    def __init__(self, core, token):
        self.core = core
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.base = outbound.service_url(core, SERVICE, "telegram-url")

    def call(self, method, url, answer=outbound.call_service, **kwargs):
        """``answer`` is ``outbound.call_service`` (the response) or
        ``outbound.service_json`` (its JSON object)."""
        try:
            return answer(self.core.config, method, url, SERVICE, error_message=bot_error, **kwargs)
        except ApiError as error:
            raise ApiError(error.code, error.message.replace(self.token, "<token>"), error.status) from None

    def method(self, name, body):
        """``POST /bot<token>/<name>`` with a JSON body: the Bot API's whole answer
        (``{"ok": true, "result": …}``)."""
        return self.call("POST", f"{self.base}/bot{self.token}/{name}", answer=outbound.service_json, json=body)

    def file_url(self, file_id):
        """``getFile``, then the file's download URL (valid for an hour)."""
        result = self.method("getFile", {"file_id": file_id}).get("result") or {}
        if not result.get("file_path"):
            raise ApiError("telegram-error", "Telegram answered no file_path for the file.", 502)
        return f"{self.base}/file/bot{self.token}/{result['file_path']}", result["file_path"]
