"""Notifications: who hears about a message they are not there to read, and through
which channel.

- A user (not an agent, not the bot) writes and no agent is online: the agents that
  ``notifications-agents`` names are notified (the assigned agent; without one the
  conversation department's agents; without a department every agent).
- An agent replies and the conversation's user is offline: the user is notified
  (``notifications-user``).

``sbcore_on_message_sent`` only writes rows (``sb_notifications``, one per recipient and
channel) in the caller's transaction; the worker sends them after commit through
``CHANNELS``, the one table keyed by channel name. A channel knows whether it is set up,
a recipient's address, and how to deliver one row: email (when SMTP is set), SMS to
those with a ``phone`` detail (``notifications-sms``, when SMS is active) and push to
agents (``notifications-push``, when push notifications are active)."""

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from . import conversations as C
from . import db as dbmod
from . import mail, push, sms
from . import users as U
from .errors import ApiError
from .db import utcnow
from .hooks import hookimpl
from .models import Notification, User
from .models.notifications import FAILED, PENDING, SENT
from .models.users import AGENT_TYPES
from .settings import Setting, invalid
from .worker import OWNER, Job, claim_due

log = logging.getLogger("sbcore.notifications")
AGENT_CHOICES = ("assigned", "all", "off")
RETRY_FOR = 24 * 3600
LEASE = 120.0
BATCH = 50


class DeliveryError(Exception):
    """A channel could not deliver; ``permanent`` ones are not retried."""

    def __init__(self, text, permanent=False):
        super().__init__(text)
        self.permanent = permanent


# --- the channels ---


def email_address(user):
    return user.email or None


def deliver_email(ctx, recipient_id, data):
    """Send one notification email; answers the email-sent webhook's data."""
    if not mail.configured(ctx):
        raise DeliveryError("email is not configured (smtp-host is empty)")
    settings = mail.smtp_settings(ctx)
    subject, reply_to = data["subject"], None
    if data.get("conversation_id"):
        token = mail.reply_token(ctx.secret_key, data["conversation_id"])
        subject = f"{subject} [#{token}]"
        if settings["reply_address"]:
            reply_to = mail.reply_to_address(settings["reply_address"], token)
    html, plain = mail.render("email", subject=subject, heading=data.get("heading", ""),
                              message=data["message"], attachments=data.get("attachments", []),
                              footer=data.get("footer", ""))
    try:
        mail.deliver(ctx.config, settings,
                     mail.compose(settings, data["to"], subject, html, plain, reply_to))
    except mail.MailError as error:
        raise DeliveryError(str(error), permanent=error.permanent)
    return "email-sent", sent_data(recipient_id, data["message"], data.get("attachments", []))


def sent_data(recipient_id, message, attachments):
    """The ``data`` of the email-sent webhook."""
    return {"recipient_id": None if recipient_id is None else str(recipient_id),
            "message": message, "attachments": attachments}


@dataclass(frozen=True)
class Channel:
    name: str
    ready: Callable        # ready(ctx) -> bool: the channel is set up
    address: Callable      # address(user) -> the user's address on it, or None
    deliver: Callable      # deliver(ctx, recipient_id, data) -> (webhook, data) or None; raises


def sms_ready(ctx):
    return ctx.settings.get("notifications-sms") and sms.is_active(ctx)


def phone_address(user):
    return U.detail_value(user.id, "phone") or None


def text_of(data):
    names = ", ".join(item[0] for item in data.get("attachments") or [] if item)
    return data["message"].strip() or names or data["subject"]


def service_failure(error):
    """An ApiError of a service as a DeliveryError. Worth retrying: the service could not
    be reached, failed (5xx) or asked to slow down (429); a refusal (other 4xx) or a bad
    setting (400) is not."""
    remote = error.remote_status
    transient = error.status == 502 and (remote is None or remote >= 500 or remote == 429)
    return DeliveryError(f"{error.code}: {error.message}", permanent=not transient)


def deliver_sms(ctx, recipient_id, data):
    """Text the recipient through Twilio, in the user or agent template; send_sms fires
    sms-sent itself."""
    try:
        sms.send_sms(ctx, data["to"], text_of(data), template=data.get("template", True),
                     conversation_id=data.get("conversation_id"))
    except ApiError as error:
        raise service_failure(error)


def push_ready(ctx):
    return ctx.settings.get("notifications-push") and push.is_active(ctx)


def agent_id_address(user):
    """Push goes to agents' devices, which log in to the push service with their id."""
    return str(user.id) if user.user_type in AGENT_TYPES else None


def deliver_push(ctx, recipient_id, data):
    url = f"{ctx.config.public_url}/?conversation={data['conversation_id']}" \
        if data.get("conversation_id") else ""
    try:
        answer = push.send_push(ctx, [data["to"]], data["subject"][:100], text_of(data)[:1000], url)
    except ApiError as error:
        raise service_failure(error)
    if answer is False:  # switched off since the row was queued: nothing went out
        raise DeliveryError("push notifications are off", permanent=True)
    if isinstance(answer, dict) and "id" in answer and not answer["id"]:
        # OneSignal answers an empty id when no device of the recipient is reachable
        raise DeliveryError(f"onesignal reached no device: {answer.get('errors') or 'no subscribers'}",
                            permanent=True)


CHANNELS = {
    "email": Channel("email", mail.configured, email_address, deliver_email),
    "sms": Channel("sms", sms_ready, phone_address, deliver_sms),
    "push": Channel("push", push_ready, agent_id_address, deliver_push),
}


# --- settings ---


def check_agents(value):
    if value not in AGENT_CHOICES:
        raise invalid("notifications-agents", f"one of {', '.join(AGENT_CHOICES)}.")
    return value


@hookimpl
def sbcore_register_settings():
    return [
        Setting("notifications-agents", "select", "assigned",
                "Who hears of a user's message while no agent is online: assigned (the assigned "
                "agent, else the department's agents, else every agent), all (every agent), off.",
                check_agents),
        Setting("notifications-user", "checkbox", True,
                "Tell a user who is offline about an agent's reply."),
        Setting("notifications-sms", "checkbox", False,
                "Also text the same people (those with a phone detail) when SMS is active."),
        Setting("notifications-push", "checkbox", False,
                "Also send agents a push notification when push notifications are active."),
    ]


# --- writing (inside the caller's transaction) ---


def queued_channels(ctx):
    """The channels notified during this call, for send-message's ``notifications``."""
    return sorted(getattr(ctx, "_notifications", None) or ())


def suppress(ctx):
    """The call sends its own emails (direct-message with a subject): no notifications."""
    ctx._notifications_suppressed = True


def queue(ctx, channel, recipients, data):
    """Write one row per recipient (a User, or an address string with no user) that has
    an address on ``channel``; answers how many."""
    rows, now = [], time.time()
    for recipient in recipients:
        address = recipient if isinstance(recipient, str) else CHANNELS[channel].address(recipient)
        if not address:
            continue
        rows.append({"channel": channel, "recipient": None if isinstance(recipient, str) else recipient.id,
                     "data": json.dumps({**data, "to": address}, separators=(",", ":")),
                     "created": utcnow(), "created_ts": now, "status": PENDING, "next_attempt": now})
    if rows:
        Notification.insert_many(rows).execute()
        ctx.events_emitted += len(rows)  # wakes the worker after commit
        if getattr(ctx, "_notifications", None) is None:
            ctx._notifications = set()
        ctx._notifications.add(channel)
    return len(rows)


def full_name(user):
    return f"{user.first_name} {user.last_name}".strip() or "User"


def agents_to_notify(ctx, conversation, sender):
    choice = ctx.settings.get("notifications-agents")
    if choice == "off":
        return []
    agents = User.select().where(User.user_type.in_(AGENT_TYPES) & (User.id != sender.id))
    if choice == "assigned":
        if conversation.agent_id:
            return list(agents.where(User.id == conversation.agent_id))
        if conversation.department is not None:
            in_department = list(agents.where(User.department == conversation.department))
            if in_department:
                return in_department
    return list(agents)


def any_agent_online(ctx):
    window = ctx.settings.get("presence-online-seconds")
    return User.select(User.id).where(User.user_type.in_(AGENT_TYPES)
                                      & ctx.presence.online_filter(window)).exists()


@hookimpl
def sbcore_on_message_sent(ctx, message, conversation):
    if getattr(ctx, "_notifications_suppressed", False):
        return
    channels = [name for name, channel in CHANNELS.items() if channel.ready(ctx)]
    if not channels:
        return
    sender = User.get_or_none(User.id == message.user_id)
    if sender is None or sender.user_type == "bot":
        return
    attachments = C.attachment_list(message.attachments)
    if sender.user_type in AGENT_TYPES:
        if conversation.user_id == sender.id or not ctx.settings.get("notifications-user"):
            return
        if ctx.presence.is_online(conversation.user_id, ctx.settings.get("presence-online-seconds")):
            return
        recipients = [User.get_by_id(conversation.user_id)]
        subject = f"New reply from {full_name(sender)}"
    else:
        if any_agent_online(ctx):
            return
        recipients = agents_to_notify(ctx, conversation, sender)
        subject = f"New message from {full_name(sender)}"
    data = {"subject": subject, "heading": subject, "message": message.message,
            "attachments": attachments, "conversation_id": conversation.id,
            "footer": "Reply to this email to answer in the conversation."}
    for channel in channels:
        queue(ctx, channel, recipients, data)


@hookimpl
def sbcore_register_jobs():
    return [Job("notifications-prune", 24 * 3600, prune)]


def prune(ctx):
    """Sent and failed notifications (they hold addresses) are kept as long as webhook
    events (``webhooks-retention-days``)."""
    cutoff = utcnow() - timedelta(days=ctx.settings.get("webhooks-retention-days"))
    return Notification.delete().where((Notification.created < cutoff)
                                       & (Notification.status != PENDING)).execute()


# --- delivery (in the worker, after commit) ---


def claim(now, owner=OWNER, limit=BATCH):
    return claim_due(Notification, now, owner, limit, LEASE)


def deliver_pending(core, owner=OWNER, limit=BATCH):
    """Send every due notification once; answers (sent, failed attempts). Each send is
    outside any transaction; its result (and its webhook) is written after it."""
    from .webhooks import backoff
    with dbmod.connection():
        rows = claim(time.time(), owner, limit)
    sent = failed = 0
    for row in rows:
        ctx = core.context()
        channel = CHANNELS.get(row.channel)
        error, event = None, None
        try:
            with dbmod.connection():
                if channel is None:
                    raise DeliveryError(f"no channel {row.channel!r}", permanent=True)
                event = channel.deliver(ctx, row.recipient_id, json.loads(row.data))
        except DeliveryError as problem:
            error = problem
        except Exception as problem:  # one broken row never stops the others
            log.exception("notification %s failed", row.id)
            error = DeliveryError(f"{type(problem).__name__}: {problem}")
        attempts = row.attempts + 1

        def record():
            if error is None:
                Notification.update(status=SENT, attempts=attempts, sent=utcnow(), lease_until=0,
                                    last_error="").where(Notification.id == row.id).execute()
                if event:
                    ctx.emit(*event)
                return
            give_up = error.permanent or time.time() - row.created_ts >= RETRY_FOR
            Notification.update(status=FAILED if give_up else PENDING, attempts=attempts, lease_until=0,
                                next_attempt=time.time() + backoff(attempts),
                                last_error=str(error)[:1000]).where(Notification.id == row.id).execute()
        with dbmod.connection():
            dbmod.in_transaction_retrying(core.database, record)
        if error is None:
            sent += 1
        else:
            failed += 1
            log.warning("%s notification %s attempt %d failed: %s", row.channel, row.id, attempts, error)
    if sent:
        core.outbox_signal.set()  # the webhooks written above go out now
    return sent, failed
