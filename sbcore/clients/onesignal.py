"""OneSignal's Create Message API: a push notification to users by External ID.

``POST {base}/notifications`` with ``Authorization: Key <REST API key>`` and a JSON body
``{"app_id", "target_channel": "push", "include_aliases": {"external_id": […]}, "headings",
"contents"}``; answers ``{"id", "external_id", "errors"}`` (``id`` is empty and ``errors``
says why when nobody was reachable), an error ``{"errors": […]}``."""

from .. import outbound
from ..errors import ApiError

DEFAULT_URL = "https://api.onesignal.com"


def describe(response):
    body = outbound.json_body(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join(e if isinstance(e, str) else str(e) for e in errors)
    if isinstance(errors, dict) and errors:
        return str(errors)
    return None


def create_notification(config, base_url, app_id, rest_api_key, users, title, message, url="", icon=""):
    body = {"app_id": app_id, "target_channel": "push",
            "include_aliases": {"external_id": list(users)},
            "headings": {"en": title}, "contents": {"en": message}}
    if url:
        body["url"] = url
    if icon:
        body["chrome_web_icon"] = body["firefox_icon"] = body["large_icon"] = icon
    response = outbound.call_service(config, "POST", f"{base_url}/notifications", "onesignal",
                                     error_message=describe, json=body,
                                     headers={"Authorization": f"Key {rest_api_key}",
                                              "Accept": "application/json"})
    answer = outbound.json_body(response)
    if not isinstance(answer, dict):
        raise ApiError("onesignal-error", "onesignal answered without a notification.", 502)
    return answer
