"""The HTTP client: ``Client(base_url, token).call("get-user", user_id=1)``.

The same calls and the same errors as the in-process client (``sbcore.connect(url)``):
a failure raises :class:`sbcore.ApiError` with the server's ``code``, ``message`` and
HTTP ``status``, so user code takes either. One ``requests`` session (connections kept),
a timeout on every request, and retries on 502/503 for reads only (a write that may have
happened is never sent twice)."""

import time

import requests

from .errors import ApiError

# Functions that only read: a 502/503 (a restarting server, a proxy) is retried for them.
READ_PREFIXES = ("get-", "search-", "count-", "is-")
RETRY_STATUSES = (502, 503)


def is_read(function):
    return function.startswith(READ_PREFIXES)


class Client:
    """A client of one sbcore server, authenticated by an admin's token."""

    def __init__(self, base_url, token, timeout=(5, 60), retries=2, backoff=0.5, session=None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout  # (connect, read) seconds
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers.setdefault("User-Agent", "sbcore-client")

    def call(self, function, /, **arguments):
        """Run ``function`` with ``arguments`` (native Python values, sent as JSON) and
        return its answer; raise ApiError as ``core.call`` does."""
        url = f"{self.base_url}/api/{function}"
        attempts = 1 + (self.retries if is_read(function) else 0)
        for attempt in range(attempts):
            try:
                response = self.session.post(url, json=arguments, timeout=self.timeout)
            except requests.Timeout as error:
                raise ApiError("timeout", f"sbcore at {self.base_url} did not answer in time: {error}",
                               504) from error
            except requests.RequestException as error:
                raise ApiError("connection-failed", f"sbcore at {self.base_url} could not be "
                               f"reached: {error}", 503) from error
            if response.status_code in RETRY_STATUSES and attempt < attempts - 1:
                time.sleep(self.backoff * (2 ** attempt))
                continue
            return self.answer(response)

    def answer(self, response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "success" not in body:
            raise ApiError("bad-answer", f"sbcore at {self.base_url} answered HTTP "
                           f"{response.status_code} without the API's envelope.",
                           response.status_code if response.status_code >= 400 else 502)
        if body["success"] is True:
            return body.get("response")
        raise ApiError(str(body.get("response")), str(body.get("message", "")), response.status_code)

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
