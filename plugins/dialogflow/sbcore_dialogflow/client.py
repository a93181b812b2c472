"""Dialogflow ES, v2 REST API (``{base}/v2/projects/{project}/agent/…``), through the
core's outbound helper, with OAuth 2.0 access tokens from the official ``google-auth``
library: a service account's key (``service_account.Credentials``, a signed JWT
exchanged at the token endpoint) or an OAuth client's refresh token
(``google.oauth2.credentials.Credentials``). Both base URLs are settings
(``SB_URL_DIALOGFLOW`` and ``SB_URL_GOOGLE_OAUTH`` override them)."""

import json
import time
from datetime import timezone

import requests
from google.auth import exceptions as google_errors
from google.auth.transport.requests import Request
from google.oauth2 import credentials as oauth_credentials
from google.oauth2 import service_account

from sbcore import ApiError, outbound

SERVICE = "dialogflow"
DEFAULT_URL = "https://dialogflow.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/dialogflow"]
TOKEN_CACHE = "dialogflow-token"  # external setting: [token, expiry (unix time), credentials' id]
TOKEN_MARGIN = 120  # a cached token is renewed this many seconds before it expires


def google_error(response):
    """The sentence of a Google API error body: ``{"error": {"code", "message", "status"}}``."""
    error = response.json().get("error")
    if isinstance(error, dict):
        return error.get("message")
    return error if isinstance(error, str) else None


class GuardedSession(requests.Session):
    """A requests session for google-auth's transport that applies the outbound guard
    (no private addresses unless allowed, no redirects)."""

    def __init__(self, config):
        super().__init__()
        self.sb_config = config

    def request(self, method, url, *args, **kwargs):
        outbound.check_url(self.sb_config, url)
        kwargs["allow_redirects"] = False
        kwargs.setdefault("timeout", outbound.DEFAULT_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


def credentials_of(settings, token_url):
    """google-auth credentials from the settings, their token endpoint ``token_url``."""
    account = settings.get("dialogflow-service-account")
    if account:
        return service_account.Credentials.from_service_account_info({**account, "token_uri": token_url},
                                                                     scopes=SCOPES)
    return oauth_credentials.Credentials(None, refresh_token=settings["dialogflow-refresh-token"],
                                         client_id=settings["dialogflow-client-id"],
                                         client_secret=settings["dialogflow-client-secret"],
                                         token_uri=token_url, scopes=SCOPES)


def new_token(ctx, settings):
    """A fresh access token (network; no transaction may be open) and its expiry
    (unix time)."""
    token_url = ctx.config.url_overrides.get("google_oauth") or ctx.settings.get("dialogflow-token-url") \
        or DEFAULT_TOKEN_URL
    try:
        credentials = credentials_of(settings, token_url)
    except (ValueError, KeyError) as error:
        raise ApiError("dialogflow-not-active", f"The Dialogflow service account key is not usable: {error}", 400)
    try:
        credentials.refresh(Request(GuardedSession(ctx.config)))
    except outbound.OutboundRefused as error:
        raise ApiError("url-not-allowed", str(error), 400)
    except google_errors.RefreshError as error:
        said = error.args[0] if error.args else str(error)
        raise ApiError("dialogflow-error", f"Google refused the Dialogflow credentials: {said}", 502)
    except google_errors.TransportError as error:
        raise ApiError("dialogflow-error", f"Google's token endpoint could not be reached: {error}", 502)
    expiry = time.time() + 3600
    if credentials.expiry is not None:  # google-auth's expiry is a naive UTC datetime
        expiry = credentials.expiry.replace(tzinfo=timezone.utc).timestamp()
    return credentials.token, expiry


def access_token(ctx, settings, fresh=False):
    """The cached access token while it is valid, else a new one (then cached)."""
    identity = credentials_identity(settings)
    if not fresh:
        cached = ctx.settings.get_external(TOKEN_CACHE, None)
        if (isinstance(cached, list) and len(cached) == 3 and cached[2] == identity
                and time.time() < float(cached[1]) - TOKEN_MARGIN):
            return cached[0]
    token, expiry = new_token(ctx, settings)
    with ctx.core.database.atomic():
        ctx.settings.set_external(TOKEN_CACHE, [token, expiry, identity])
    return token


def credentials_identity(settings):
    """Changes with the credentials, so that a cached token of others is not used."""
    account = settings.get("dialogflow-service-account")
    if account:
        return f"sa:{account.get('client_email')}:{account.get('private_key_id')}"
    return f"rt:{settings['dialogflow-client-id']}"


class Dialogflow:
    """One agent (project); ``token`` is a caller's access token, else one is made."""

    def __init__(self, ctx, settings, token=None):
        self.ctx = ctx
        self.settings = settings
        self.project = settings["dialogflow-project-id"]
        self.base = outbound.service_url(ctx, SERVICE, "dialogflow-url")
        self.token = token or None
        self.fresh = False

    @property
    def agent_url(self):
        return f"{self.base}/v2/projects/{self.project}/agent"

    def current_token(self):
        if self.token is None:
            self.token = access_token(self.ctx, self.settings)
        return self.token

    def call(self, method, path, **kwargs):
        """``method {agent_url}{path}``: the answer's JSON. An expired or revoked token
        (401) is replaced by a fresh one once."""
        try:
            return self.send(method, path, **kwargs)
        except ApiError as error:
            if getattr(error, "remote_status", None) != 401 or self.fresh:
                raise
        self.token, self.fresh = access_token(self.ctx, self.settings, fresh=True), True
        return self.send(method, path, **kwargs)

    def send(self, method, path, **kwargs):
        token = self.current_token()
        try:
            response = outbound.call_service(self.ctx.config, method, f"{self.agent_url}{path}", SERVICE,
                                             error_message=google_error,
                                             headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except ApiError as error:
            raise ApiError(error.code, error.message.replace(token, "<token>"), error.status,
                           remote_status=getattr(error, "remote_status", None)) from None
        body = outbound.json_body(response)
        return {} if body is None else body


def parse_service_account(text):
    """The service account's key (the JSON file Google gives) as a dict, or None."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or not text.strip():
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None
