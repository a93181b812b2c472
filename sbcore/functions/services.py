"""Outside services: send-sms (Twilio), push-notification (Pusher Beams, OneSignal),
pusher-trigger (Pusher Channels), aws-s3 (S3 and compatible stores) and newsletter
(Mailchimp, Brevo, SendGrid, MailerLite). Each calls its service outside any database
transaction; the clients live in ``sbcore.clients``."""

import os
import re
from urllib.parse import unquote

from .. import conversations as C
from .. import push, sms, uploads
from .. import users as U
from ..clients import channels, newsletter as newsletters, s3
from ..errors import ApiError, invalid_argument, user_not_found
from ..hooks import hookimpl
from ..models import User
from ..outbound import service_url
from ..registry import FunctionSet, Json
from ..settings import Setting, options_of
from ..registry import Attachments

functions = FunctionSet()
sbcore_register_functions = functions.hook()

PUSHER = {"pusher-active": False, "pusher-id": "", "pusher-key": "", "pusher-secret": "", "pusher-cluster": ""}
AMAZON_S3 = {"amazon-s3-active": False, "amazon-s3-access-key": "", "amazon-s3-secret-access-key": "",
             "amazon-s3-bucket-name": "", "amazon-s3-region": ""}
NEWSLETTER = {"newsletter-active": False, "newsletter-service": "mailchimp", "newsletter-key": "",
              "newsletter-list-id": ""}


@hookimpl
def sbcore_register_settings():
    return [
        *sms.SETTINGS,
        *push.SETTINGS,
        Setting("pusher", "multi-input", PUSHER,
                "Pusher Channels: pusher-active, pusher-id (app id), pusher-key, pusher-secret, pusher-cluster.",
                options_of("pusher", PUSHER)),
        Setting("pusher-url", "text", channels.DEFAULT_URL,
                "Pusher Channels' API base URL; {cluster} is the cluster (SB_URL_PUSHER overrides)."),
        Setting("amazon-s3", "multi-input", AMAZON_S3,
                "Amazon S3: amazon-s3-active, amazon-s3-access-key, amazon-s3-secret-access-key, "
                "amazon-s3-bucket-name, amazon-s3-region.", options_of("amazon-s3", AMAZON_S3)),
        Setting("amazon-s3-url", "text", s3.DEFAULT_URL,
                "The S3 endpoint; {region} is the region; another store's endpoint (MinIO, R2 …) is "
                "addressed path-style (SB_URL_S3 overrides)."),
        Setting("newsletter", "multi-input", NEWSLETTER,
                "Newsletter: newsletter-active, newsletter-service (mailchimp, brevo, sendgrid, mailerlite), "
                "newsletter-key (API key), newsletter-list-id (audience, list or group id).",
                options_of("newsletter", NEWSLETTER, {"newsletter-service": tuple(newsletters.SERVICES)})),
        *[Setting(f"newsletter-{name}-url", "text", url,
                  f"The {name} API base URL (SB_URL_NEWSLETTER overrides the chosen service's)."
                  + (" {dc} is the API key's data centre." if "{dc}" in url else ""))
          for name, (url, _) in newsletters.SERVICES.items()],
    ]


HOST_PART = re.compile(r"^[A-Za-z0-9-]{1,63}$")  # a cluster, region or instance id put into a host name


def active_options(ctx, setting_id, required, host_parts=()):
    """The options of ``setting_id`` when on and complete; ApiError <setting_id>-not-active
    or -not-configured (400) otherwise. Secrets are never part of the message."""
    options = ctx.settings.options(setting_id)
    if not options[f"{setting_id}-active"]:
        raise ApiError(f"{setting_id}-not-active", f"{setting_id} is off: turn on {setting_id}-active in "
                       f"the setting {setting_id}.", 400)
    missing = [f"{setting_id}-{key}" for key in required if not options[f"{setting_id}-{key}"].strip()]
    if missing:
        raise ApiError(f"{setting_id}-not-configured", f"{setting_id} needs {', '.join(missing)} in the "
                       f"setting {setting_id}.", 400)
    options = {key: value.strip() if isinstance(value, str) else value for key, value in options.items()}
    for key in host_parts:
        if not HOST_PART.match(options[f"{setting_id}-{key}"]):
            raise ApiError(f"{setting_id}-not-configured", f"{setting_id}-{key} takes letters, digits and "
                           "'-' only.", 400)
    return options


# --- send-sms ---

@functions("send-sms", transaction=False)
def send_sms(ctx, message: str, to: str, template: bool = True, conversation_id: int | None = None,
             attachments: Attachments | bool = False):
    if conversation_id is not None:
        C.require_conversation(conversation_id)
    return sms.send_sms(ctx, to, message, template=template, conversation_id=conversation_id,
                        attachments=attachments or None)


# --- push-notification ---

DEPARTMENT = re.compile(r"^department-([0-9]{1,9})$")
USER_ID = re.compile(r"^[0-9]{1,9}$")


def push_recipients(interests):
    """User ids from ``interests``: a user id, a list of them, ``agents`` / ``all-agents``
    (every agent and admin) or ``department-<id>`` (that department's agents)."""
    agents = User.user_type.in_(U.agent_types())
    if isinstance(interests, str) and interests.strip() in ("agents", "all-agents"):
        return [row.id for row in User.select(User.id).where(agents).order_by(User.id)]
    found = DEPARTMENT.match(interests.strip()) if isinstance(interests, str) else None
    if found:
        return [row.id for row in User.select(User.id).where(agents & (User.department == int(found.group(1))))
                .order_by(User.id)]
    items = interests if isinstance(interests, list) else [interests]
    if len(items) > push.beams.MAX_USERS:
        raise invalid_argument("interests", f"at most {push.beams.MAX_USERS} users.")
    ids = []
    for item in items:
        if isinstance(item, bool) or not USER_ID.match(str(item).strip() if isinstance(item, (int, str)) else ""):
            raise invalid_argument("interests", "a user id, a list of user ids, agents, all-agents or department-<id>.")
        ids.append(int(str(item).strip()))
    ids = list(dict.fromkeys(ids))
    existing = {row.id for row in User.select(User.id).where(User.id.in_(ids or [0]))}
    for user_id in ids:
        if user_id not in existing:
            raise user_not_found(user_id)
    return ids


@functions("push-notification", transaction=False)
def push_notification(ctx, title: str, message: str, interests: Json, conversation_id: int | None = None,
                      icon: str = ""):
    if not push.is_active(ctx):
        return False
    user_ids = push_recipients(interests)
    if not user_ids:
        raise ApiError("no-recipients", "No agent matches the interests.", 400)
    url = ""
    if conversation_id is not None:
        C.require_conversation(conversation_id)
        url = f"{ctx.config.public_url}/?conversation={conversation_id}"
    return push.send_push(ctx, user_ids, title, message, url, icon=icon)


# --- pusher-trigger ---

CHANNEL = re.compile(r"^[-a-zA-Z0-9_=@,.;]{1,164}$")


@functions("pusher-trigger", transaction=False)
def pusher_trigger(ctx, channel: str, event: str, data: Json = None):
    options = active_options(ctx, "pusher", ("id", "key", "secret", "cluster"), ("cluster",))
    if not CHANNEL.match(channel):
        raise invalid_argument("channel", "1 to 164 letters, digits and - _ = @ , . ;")
    if channel.startswith("private-encrypted-"):
        raise invalid_argument("channel", "encrypted channels are not supported.")
    if not event.strip() or len(event) > 200:
        raise invalid_argument("event", "1 to 200 characters.")
    client = channels.client(ctx.config, service_url(ctx, "pusher", "pusher-url"), options["pusher-id"],
                             options["pusher-key"], options["pusher-secret"], options["pusher-cluster"])
    return channels.trigger(client, channel, event, {} if data is None else data)


# --- aws-s3 ---

def local_file(ctx, file_path):
    """The stored file behind ``file_path`` (its key, one of its /uploads/ URLs, or,
    with the local folder as storage, its absolute path inside it): answers its key
    and the open file (a sbcore.storage.Blob the caller closes)."""
    if not isinstance(file_path, str) or not file_path.strip():
        raise invalid_argument("file_path", "the path of a file in the uploads folder.")
    text, key = file_path.strip(), None
    prefix = f"{ctx.config.public_url}/uploads/"
    storage = ctx.storage
    if text.startswith(prefix):
        key = unquote(text[len(prefix):])
    elif text.lower().startswith(("http://", "https://")):
        key = None
    elif os.path.isabs(text):
        root = getattr(storage, "root", None)
        key = os.path.relpath(text, root).replace(os.sep, "/") if root else None
    else:
        key = text
    try:
        if key is None:
            raise uploads.UnsafePath(text)
        key = uploads.check_key(key)
        return key, storage.open(key)
    except (uploads.UnsafePath, ValueError):
        raise ApiError("invalid-file-path", "file_path must be a file in the uploads folder.", 400)
    except (FileNotFoundError, IsADirectoryError):
        raise ApiError("file-not-found", "There is no such file in the uploads folder.", 404)


@functions("aws-s3", transaction=False)
def aws_s3(ctx, file_path: str, action: str = "PUT"):
    action = action.strip().upper()
    if action not in ("PUT", "DELETE"):
        raise invalid_argument("action", "PUT or DELETE.")
    try:
        options = active_options(ctx, "amazon-s3", ("access-key", "secret-access-key", "bucket-name",
                                                    "region"), ("region",))
    except ApiError as error:
        if error.code == "amazon-s3-not-active":
            return False  # as Support Board 3.8 answers when S3 is off
        raise
    if action == "PUT":
        key, blob = local_file(ctx, file_path)
    try:
        bucket = s3.Bucket(ctx.config, service_url(ctx, "s3", "amazon-s3-url"), options["amazon-s3-region"],
                           options["amazon-s3-bucket-name"], options["amazon-s3-access-key"],
                           options["amazon-s3-secret-access-key"])
    except BaseException:
        if action == "PUT":
            blob.stream.close()
        raise
    if action == "PUT":
        return bucket.put(key, blob)
    key = bucket.key_of(file_path.strip())
    if key is None:
        raise invalid_argument("file_path", f"a URL of the bucket's files ({bucket.url('')}…).")
    return bucket.delete(key)


# --- newsletter ---

@functions("newsletter", transaction=False)
def newsletter(ctx, email: str, first_name: str = "", last_name: str = ""):
    address = U.check_email(email)
    if address is None:
        raise invalid_argument("email", "the subscriber's email address.")
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > 191:
            raise invalid_argument(name, "at most 191 characters.")
    try:
        options = active_options(ctx, "newsletter", ("key",))
    except ApiError as error:
        if error.code == "newsletter-not-active":
            return False  # as Support Board 3.8 answers when no service is on
        raise
    service = options["newsletter-service"]
    subscribe = newsletters.SERVICES[service][1]
    return subscribe(ctx.config, service_url(ctx, "newsletter", f"newsletter-{service}-url"),
                     options["newsletter-key"], options["newsletter-list-id"], address,
                     first_name.strip(), last_name.strip())
