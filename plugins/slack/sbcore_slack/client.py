"""Slack's Web API (https://docs.slack.dev/reference/methods), through the core's
outbound helper (the private-address guard, timeouts, a failure as a 502).

Every method is ``{base}/{method}`` with the bot token in ``Authorization: Bearer``;
writes are POSTed as JSON, reads are GETs with query parameters. Slack answers HTTP 200
with ``{"ok": false, "error": "channel_not_found"}`` when it refuses: that is a 502
``slack-error`` too, naming Slack's error (``SlackError.error`` keeps the code so that
callers can act on ``not_in_channel``, ``is_archived`` …). The token never appears in
a message: it is not part of any URL.

The official SDK's ``WebClient`` talks through urllib, around the core's guard and
error mapping, so the calls are made with requests here; the SDK is used for what it
does best, the request signature check (``slack_sdk.signature``)."""

import json

from sbcore import ApiError, outbound

SERVICE = "slack"
DEFAULT_URL = "https://slack.com/api/"
PAGE = 200  # Slack recommends no more than 200 items a page


class SlackError(ApiError):
    """Slack answered ``ok: false``: ``error`` is its code."""

    def __init__(self, method, body):
        self.error = str(body.get("error") or "unknown_error")
        super().__init__("slack-error", f"Slack answered {method}: {describe(body)}", 502, remote_status=200)


def describe(body):
    """Slack's error code, with the scope it needs for ``missing_scope``."""
    error = str(body.get("error") or "unknown_error")
    return f"{error} (needed: {body['needed']})" if body.get("needed") else error


def error_of(response):
    """The error code of a non-2xx answer (``{"ok": false, "error": "ratelimited"}``)."""
    body = outbound.json_body(response)
    return describe(body) if isinstance(body, dict) and body.get("error") else None


class WebApi:
    """The Web API with one bot token."""

    def __init__(self, ctx, token):
        self.config = ctx.config
        self.token = token
        self.base = outbound.service_url(ctx, SERVICE, "slack-url")

    def call(self, method, read=False, **fields):
        """One method: Slack's whole answer when ``ok``; SlackError when not, ApiError
        ``slack-error`` (502) when Slack answers another status or cannot be reached."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if read:
            kwargs = {"params": fields}
        else:
            headers["Content-Type"] = "application/json; charset=utf-8"
            kwargs = {"data": json.dumps(fields).encode()}
        response = outbound.call_service(self.config, "GET" if read else "POST", f"{self.base}/{method}",
                                         SERVICE, error_message=error_of, headers=headers, **kwargs)
        body = outbound.json_body(response)
        if not isinstance(body, dict):
            raise ApiError("slack-error", f"Slack answered {method} without a JSON object.", 502,
                           remote_status=response.status_code)
        if body.get("ok") is not True:
            raise SlackError(method, body)
        return body

    def pages(self, method, key, **fields):
        """Every item of a cursor-paginated list (``response_metadata.next_cursor``)."""
        items, cursor = [], ""
        while True:
            arguments = dict(fields, limit=PAGE)
            if cursor:
                arguments["cursor"] = cursor
            body = self.call(method, read=True, **arguments)
            items.extend(body.get(key) or [])
            cursor = (body.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return items

    # --- the methods sbcore uses ---

    def post_message(self, channel, text, username=None, icon_url=None):
        """chat.postMessage; answers ``{"ok", "channel", "ts", "message"}``."""
        fields = {"channel": channel, "text": text}
        if username:
            fields["username"] = username
        if icon_url:
            fields["icon_url"] = icon_url
        return self.call("chat.postMessage", **fields)

    def create_channel(self, name):
        """conversations.create (a public channel); answers the channel object."""
        return self.call("conversations.create", name=name)["channel"]

    def join(self, channel):
        return self.call("conversations.join", channel=channel)

    def archive(self, channel):
        return self.call("conversations.archive", channel=channel)

    def channels(self, exclude_archived=False):
        """conversations.list, every page."""
        return self.pages("conversations.list", "channels", exclude_archived=str(exclude_archived).lower())

    def users(self):
        """users.list, every page."""
        return self.pages("users.list", "members")

    def user_info(self, user):
        return self.call("users.info", read=True, user=user)["user"]

    def presence(self, user):
        """users.getPresence: ``active`` or ``away``."""
        return self.call("users.getPresence", read=True, user=user).get("presence")
