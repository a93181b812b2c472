"""Push notifications to agents' devices through the service the settings choose:
Pusher Beams (users authenticated with their sbcore user id) or OneSignal (devices
logged in with the sbcore user id as External ID). ``send_push`` is what
push-notification and the notification flow call."""

import re

from .clients import beams, onesignal
from .errors import ApiError, invalid_argument
from .outbound import service_url
from .settings import Setting, options_of

PROVIDERS = ("pusher", "onesignal")
DEFAULTS = {"push-notifications-active": False, "push-notifications-provider": "pusher",
            "push-notifications-id": "", "push-notifications-key": ""}
SETTINGS = [
    Setting("push-notifications", "multi-input", DEFAULTS,
            "Push notifications: push-notifications-active, push-notifications-provider (pusher for "
            "Pusher Beams, or onesignal), push-notifications-id (the Beams instance id or the OneSignal "
            "app id), push-notifications-key (the Beams secret key or the OneSignal REST API key).",
            options_of("push-notifications", DEFAULTS, {"push-notifications-provider": PROVIDERS})),
    Setting("push-notifications-pusher-url", "text", beams.DEFAULT_URL,
            "Pusher Beams' base URL; {instance} is the instance id (SB_URL_PUSHER_BEAMS overrides)."),
    Setting("push-notifications-onesignal-url", "text", onesignal.DEFAULT_URL,
            "OneSignal's API base URL (SB_URL_ONESIGNAL overrides)."),
]
INSTANCE = re.compile(r"^[A-Za-z0-9-]{1,64}$")  # goes into Beams' host name
MAX_TITLE = 255
MAX_MESSAGE = 2000


def is_active(ctx):
    return bool(ctx.settings.options("push-notifications")["push-notifications-active"])


def configuration(ctx):
    options = ctx.settings.options("push-notifications")
    missing = [key for key in ("push-notifications-id", "push-notifications-key") if not options[key].strip()]
    if missing:
        raise ApiError("push-notifications-not-configured",
                       f"Push notifications need {', '.join(missing)} in the setting push-notifications.", 400)
    return options


def check_text(name, value, limit):
    if not isinstance(value, str) or not value.strip():
        raise invalid_argument(name, "text is required.")
    if len(value) > limit:
        raise invalid_argument(name, f"at most {limit} characters.")
    return value.strip()


def send_push(ctx, user_ids, title, message, url, icon=""):
    """Notify the devices of ``user_ids`` (at most 1,000); ``url`` opens on a click.

    Answers the service's response (Beams ``{"publishId"}``, OneSignal ``{"id",
    "external_id", "errors"}``), or False when push notifications are off.
    ApiError: push-notifications-not-configured, invalid-argument (400);
    pusher-beams-error / onesignal-error (502). Makes the network call itself."""
    if not is_active(ctx):
        return False
    options = configuration(ctx)
    users = [str(user_id) for user_id in dict.fromkeys(user_ids or [])]
    if not users:
        raise invalid_argument("user_ids", "at least one user.")
    if len(users) > beams.MAX_USERS:
        raise invalid_argument("user_ids", f"at most {beams.MAX_USERS} users a notification.")
    title = check_text("title", title, MAX_TITLE)
    message = check_text("message", message, MAX_MESSAGE)
    for name, link in (("url", url), ("icon", icon)):
        if link and (not isinstance(link, str) or not link.lower().startswith(("http://", "https://"))):
            raise invalid_argument(name, "an http(s) link.")
    app_id, key = options["push-notifications-id"].strip(), options["push-notifications-key"].strip()
    if not INSTANCE.match(app_id):
        raise ApiError("push-notifications-not-configured", "push-notifications-id takes letters, digits and "
                       "'-' only.", 400)
    if options["push-notifications-provider"] == "onesignal":
        return onesignal.create_notification(ctx.config, service_url(ctx, "onesignal", "push-notifications-onesignal-url"),
                                             app_id, key, users, title, message, url or "", icon or "")
    return beams.publish_to_users(ctx.config, service_url(ctx, "pusher_beams", "push-notifications-pusher-url"),
                                  app_id, key, users, title, message, url or "", icon or "")
