"""The Business Messages API: messages to a conversation, with an OAuth access token of
the agent's service account (google-auth signs the JWT and exchanges it at the key's
token_uri)."""

import json

from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account

from sbcore import ApiError, outbound

SERVICE = "gbm"
DEFAULT_URL = "https://businessmessages.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/businessmessages"]


def google_error(response):
    """Google's error body: ``{"error": {"code", "message", "status"}}``."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None
    return f"{error.get('message')} ({error.get('status')})" if error.get("status") else error.get("message")


def access_token(config, service_account_json):
    """A fresh access token for the service account (its token_uri passes the outbound
    guard first); ApiError ``gbm-error`` when Google refuses the key."""
    try:
        info = json.loads(service_account_json)
        outbound.check_url(config, info.get("token_uri"))
        credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        with outbound.new_session(config, redirects=False) as session:
            credentials.refresh(AuthRequest(session))
    except outbound.OutboundRefused as error:
        raise ApiError("url-not-allowed", f"The service account's token_uri is refused: {error}", 400)
    except (ValueError, KeyError, TypeError) as error:
        raise ApiError("gbm-not-active", f"The setting 'gbm-service-account' is not a service account key: "
                       f"{type(error).__name__}.", 400)
    except GoogleAuthError as error:
        raise ApiError("gbm-error", f"Google refused the service account: {error}", 502)
    return credentials.token


class BusinessMessages:
    def __init__(self, core, token):
        self.core = core
        self.token = token
        self.base = outbound.service_url(core, SERVICE, "gbm-url")

    def send(self, conversation_id, body):
        """``POST /v1/conversations/{conversationId}/messages``: the message created."""
        url = f"{self.base}/v1/conversations/{conversation_id}/messages"
        response = outbound.call_service(self.core.config, "POST", url, SERVICE, error_message=google_error, json=body,
                                         headers={"Authorization": f"Bearer {self.token}"})
        return outbound.json_body(response) or {}
