"""The Viber REST bot API, through the core's outbound helper. Viber answers HTTP 200
even when it refuses: ``{"status": <non-zero>, "status_message": …}`` is an error too."""

from sbcore import ApiError, outbound

SERVICE = "viber"
DEFAULT_URL = "https://chatapi.viber.com"


def viber_error(response):
    try:
        body = response.json()
        return f"{body.get('status_message')} (status {body.get('status')})" if "status" in body else None
    except (ValueError, AttributeError):
        return None


class BotApi:
    """One Viber bot, by its authentication token."""

    def __init__(self, core, token):
        self.core = core
        self.token = token
        self.base = outbound.service_url(core, SERVICE, "viber-url")

    def call(self, name, body):
        """``POST /pa/<name>`` with ``X-Viber-Auth-Token``: the answer, or ApiError 502
        ``viber-error`` when its ``status`` is not 0."""
        response = outbound.call_service(self.core.config, "POST", f"{self.base}/pa/{name}", SERVICE,
                                         error_message=viber_error, json=body,
                                         headers={"X-Viber-Auth-Token": self.token})
        answer = outbound.json_body(response)
        if not isinstance(answer, dict) or answer.get("status") != 0:
            said = viber_error(response) or response.text[:300]
            raise ApiError("viber-error", f"viber answered: {said}", 502)
        return answer

    def send(self, body):
        """``send_message``: ``{"status": 0, "status_message": "ok", "message_token", …}``."""
        return self.call("send_message", body)

    def set_webhook(self, url, event_types):
        return self.call("set_webhook", {"url": url, "event_types": event_types, "send_name": True,
                                         "send_photo": False})
