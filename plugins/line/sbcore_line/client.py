"""The LINE Messaging API: push messages, user profiles and message content, through
the core's outbound helper. Content is served from its own host (api-data.line.me);
SB_URL_LINE, when set, stands in for both hosts (their paths do not overlap)."""

from sbcore import outbound

SERVICE = "line"
DEFAULT_URL = "https://api.line.me"
DEFAULT_DATA_URL = "https://api-data.line.me"


def line_error(response):
    """LINE's error body, ``{"message": …, "details": [{"message", "property"}]}``, as one
    sentence."""
    try:
        body = response.json()
        message = body.get("message")
        details = [f"{d.get('property')}: {d.get('message')}" if d.get("property") else str(d.get("message"))
                   for d in body.get("details") or [] if isinstance(d, dict)]
    except (ValueError, AttributeError):
        return None
    return f"{message} ({'; '.join(details)})" if message and details else message


class MessagingApi:
    """One LINE channel, by its channel access token."""

    def __init__(self, core, token):
        self.core = core
        self.token = token
        self.base = outbound.service_url(core, SERVICE, "line-url")
        self.data_base = outbound.service_url(core, SERVICE, "line-data-url")

    def auth_headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method, url, **kwargs):
        return outbound.service_json(self.core.config, method, url, SERVICE, error_message=line_error,
                                     headers=self.auth_headers(), **kwargs)

    def push(self, to, messages):
        """``POST /v2/bot/message/push`` (at most five messages): answers
        ``{"sentMessages": [{"id", "quoteToken"}]}``."""
        return self.call("POST", f"{self.base}/v2/bot/message/push", json={"to": to, "messages": messages})

    def profile(self, user_id):
        """``GET /v2/bot/profile/{userId}``: ``{"displayName", "userId", "language", "pictureUrl", …}``."""
        return self.call("GET", f"{self.base}/v2/bot/profile/{user_id}")

    def content_url(self, message_id):
        """Where the content of a user's image, video, audio or file message is downloaded."""
        return f"{self.data_base}/v2/bot/message/{message_id}/content"
