"""Pusher Beams' Publish API: a push notification to authenticated users.

``POST {base}/publish_api/v1/instances/{instance}/publishes/users`` with
``Authorization: Bearer <secret key>`` and a JSON body ``{"users": […], "web"|"fcm"|"apns": …}``;
answers ``{"publishId": …}``, an error ``{"error", "description"}``."""

from urllib.parse import quote

from .. import outbound
from ..errors import ApiError

DEFAULT_URL = "https://{instance}.pushnotifications.pusher.com"
MAX_USERS = 1000


def describe(response):
    body = outbound.json_body(response)
    if isinstance(body, dict) and (body.get("error") or body.get("description")):
        return ": ".join(str(body[k]) for k in ("error", "description") if body.get(k))
    return None


def publish_to_users(config, base_url, instance_id, secret_key, users, title, message, url="", icon=""):
    """Publish one notification to ``users`` (user ids as text) on web, Android and iOS."""
    web = {"title": title, "body": message}
    if url:
        web["deep_link"] = url
    if icon:
        web["icon"] = icon
    data = {"url": url} if url else {}
    body = {"users": list(users), "web": {"notification": web},
            "fcm": {"notification": {"title": title, "body": message}, "data": data},
            "apns": {"aps": {"alert": {"title": title, "body": message}}, "data": data}}
    target = (f"{base_url.replace('{instance}', instance_id)}/publish_api/v1/instances/"
              f"{quote(instance_id, safe='')}/publishes/users")
    response = outbound.call_service(config, "POST", target, "pusher-beams", error_message=describe, json=body,
                                     headers={"Authorization": f"Bearer {secret_key}"})
    answer = outbound.json_body(response)
    if not isinstance(answer, dict) or "publishId" not in answer:
        raise ApiError("pusher-beams-error", "pusher-beams answered without a publishId.", 502)
    return answer
