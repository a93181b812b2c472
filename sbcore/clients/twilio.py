"""Twilio's Messages resource (REST API 2010-04-01): send one SMS or MMS.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP basic
auth with the Account SID and auth token; 201 answers the Message as JSON, an error answers
``{"code", "message", "more_info", "status"}``."""

from urllib.parse import quote

from .. import outbound
from ..errors import ApiError

DEFAULT_URL = "https://api.twilio.com"


def describe(response):
    body = outbound.json_body(response)
    if isinstance(body, dict) and body.get("message"):
        code = f" (error {body['code']})" if body.get("code") else ""
        return f"{body['message']}{code}"
    return None


def create_message(config, base_url, account_sid, auth_token, to, body, sender, media_urls=()):
    """Send ``body`` to ``to`` from ``sender`` (a phone number, or a Messaging Service SID
    ``MG…``); answers Twilio's Message as a dict. ApiError ``twilio-error`` (502) when
    Twilio refuses or cannot be reached."""
    fields = [("To", to), ("Body", body)]
    fields.append(("MessagingServiceSid" if sender.startswith("MG") else "From", sender))
    fields.extend(("MediaUrl", url) for url in media_urls)
    url = f"{base_url}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Messages.json"
    response = outbound.call_service(config, "POST", url, "twilio", error_message=describe, data=fields,
                                     auth=(account_sid, auth_token))
    message = outbound.json_body(response)
    if not isinstance(message, dict):
        raise ApiError("twilio-error", "twilio answered without a Message.", 502)
    return message
