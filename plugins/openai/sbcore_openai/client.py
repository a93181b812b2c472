"""The OpenAI HTTP API, through the core's outbound helper: ``{base}/v1/<path>`` with
``Authorization: Bearer <key>``. The base URL is the setting ``open-ai-url``
(``SB_URL_OPENAI`` overrides), so that a self-hosted compatible server or a test fake
can stand in."""

from sbcore import ApiError, outbound

SERVICE = "openai"
DEFAULT_URL = "https://api.openai.com"
TIMEOUT = 60.0  # a long answer takes a while to generate


def api_error(response):
    """OpenAI's error sentence: ``{"error": {"message", "type", "param", "code"}}``."""
    error = response.json().get("error")
    if isinstance(error, dict):
        return error.get("message")
    return error if isinstance(error, str) else None


class OpenAI:
    def __init__(self, ctx, key):
        self.ctx = ctx
        self.key = key
        self.base = outbound.service_url(ctx, SERVICE, "open-ai-url")

    def call(self, method, path, **kwargs):
        """``method {base}/v1/{path}``; the answer's JSON. A refusal is a 502 with
        OpenAI's own sentence; the key never appears in a message."""
        headers = {"Authorization": f"Bearer {self.key}"}
        try:
            response = outbound.call_service(self.ctx.config, method, f"{self.base}/v1/{path}", SERVICE,
                                             error_message=api_error, headers=headers, timeout=TIMEOUT,
                                             **kwargs)
        except ApiError as error:
            raise ApiError(error.code, error.message.replace(self.key, "<key>"), error.status) from None
        body = outbound.json_body(response)
        if body is None:
            raise ApiError("openai-error", f"OpenAI answered {response.status_code} without JSON.", 502)
        return body

    def chat(self, body):
        """``POST /v1/chat/completions``: the completion object."""
        return self.call("POST", "chat/completions", json=body)
