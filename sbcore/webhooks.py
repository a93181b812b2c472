"""Webhooks that are never lost: an outbox row per event, written in the transaction of
the change; delivery after commit, signed, retried with backoff for at least 24 hours;
a pull feed (``get-events``) for clients that cannot receive webhooks.

Emitting an event is one line at its trigger: ``ctx.emit("sms-sent", data)``."""

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from . import conversations as C
from . import db as dbmod
from . import outbound
from . import users as U
from .db import utcnow
from .errors import invalid_argument
from .hooks import hookimpl
from .models.events import DELIVERED, FAILED, PENDING, SKIPPED, Event
from .registry import FunctionSet
from .settings import Setting
from .worker import OWNER, Job, claim_due

log = logging.getLogger("sbcore.webhooks")

EVENTS = ("conversation-status-updated", "dialogflow-message", "email-sent", "login",
          "message-deleted", "message-sent", "new-conversation-created",
          "new-conversation-received", "new-email-address", "new-messages", "registration",
          "rich-message", "slack-message-sent", "sms-sent", "user-deleted")
# Written only when they will be sent: new-messages follows every poll that finds
# messages, too many rows to keep for the pull feed when no webhook wants them.
DELIVERY_ONLY = ("new-messages",)
SETTING = "webhooks"
FEED = "webhooks-feed"
DEFAULT_SETTING = {"webhooks-active": False, "webhooks-url": "", "webhooks-key": "",
                   "webhooks-allowed": ""}
TIMEOUT = 10.0
RETRY_FOR = 24 * 3600       # keep retrying at least this long after the event
MAX_BACKOFF = 3600.0
PROBE_EVERY = 60.0          # while the receiver is down, the oldest event retries this often
LEASE = 60.0
BATCH = 100
SENDERS = 4
USER_AGENT = "sbcore-webhooks/1"

functions = FunctionSet()


# --- settings, functions, jobs, commands ---


@hookimpl
def sbcore_register_settings():
    return [Setting(SETTING, "multi-input", dict(DEFAULT_SETTING),
                    "Webhooks: webhooks-active, webhooks-url, webhooks-key (signing secret), "
                    "webhooks-allowed (comma-separated event names, empty for all)."),
            Setting("webhooks-retention-days", "number", 30,
                    "Delivered, skipped and failed events are kept this many days (the pull feed).",
                    bounds=(1, 3_650)),
            Setting(FEED, "checkbox", False,
                    "Keep every event for the get-events pull feed, also those that webhooks do "
                    "not send (off: only the events sent are written).")]


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_register_jobs():
    return [Job("events-prune", 24 * 3600, prune)]


@hookimpl
def sbcore_register_commands():
    def configure(parser):
        parser.add_argument("action", choices=("list", "replay"))
        parser.add_argument("id", nargs="?", type=int, help="the event to replay")
        parser.add_argument("--failed", action="store_true", help="only failed events / all failed ones")
        parser.add_argument("--limit", type=int, default=50)
    return [("webhooks", "list webhook events, or replay one or all failed", configure, cli)]


def config_of(ctx):
    value = ctx.settings.get(SETTING) or {}
    return {**DEFAULT_SETTING, **value}


def wanted(settings, name):
    if not settings["webhooks-active"] or not settings["webhooks-url"]:
        return False
    allowed = [n.strip() for n in str(settings["webhooks-allowed"] or "").split(",") if n.strip()]
    return not allowed or name in allowed


# --- writing events (inside the caller's transaction) ---


def call_settings(ctx):
    """The webhooks setting and the feed switch, read once per call."""
    if getattr(ctx, "_webhook_settings", None) is None:
        ctx._webhook_settings = {**config_of(ctx), FEED: bool(ctx.settings.get(FEED))}
    return ctx._webhook_settings


def will_send(ctx, name):
    """Whether webhooks are set up to send ``name``."""
    return wanted(call_settings(ctx), name)


def record(ctx, name, items):
    """Write one event row per item of ``items`` (one INSERT); the worker delivers them
    after commit. An event that no webhook sends is written (as ``skipped``) only while
    the pull feed (``webhooks-feed``) keeps events."""
    if name not in EVENTS:
        raise ValueError(f"unknown webhook event {name!r}")
    if not items:
        return
    status = PENDING if will_send(ctx, name) else SKIPPED
    if status == SKIPPED and (name in DELIVERY_ONLY or not call_settings(ctx)[FEED]):
        return  # no webhook sends it and no pull feed keeps it: no row
    now = time.time()
    Event.insert_many([{"name": name, "data": json.dumps(data, separators=(",", ":")),
                        "delivery_id": f"msg_{secrets.token_hex(16)}", "created": utcnow(),
                        "created_ts": now, "status": status, "next_attempt": now}
                       for data in items]).execute()
    ctx.events_emitted += len(items)


def message_sent_data(message, conversation):
    """Support Board 3.8's data, in its key order and types: ``message_id`` and the status
    computed by the message are numbers, ids as a form sends them are strings."""
    return {"user_id": str(message.user_id), "message_id": message.id, "message": message.message,
            "attachments": C.attachment_list(message.attachments),
            "conversation_user_id": str(conversation.user_id),
            "conversation_id": str(conversation.id),
            "conversation_status_code": conversation.status_code,
            "conversation_source": conversation.source or ""}


def conversation_data(conversation_id):
    """The ``data`` of new-conversation-created and -received: messages and details."""
    from .models import Conversation, User
    conversation = Conversation.get_by_id(conversation_id)
    user = User.get_by_id(conversation.user_id)
    # the details of the new-conversation answer (a new conversation has no notes yet)
    details = C.details(conversation, user, [])
    messages = C.messages_of(conversation.id)
    return {"messages": messages, "details": details}, user


@hookimpl
def sbcore_on_message_sent(ctx, message, conversation):
    ctx.emit("message-sent", message_sent_data(message, conversation))


@hookimpl
def sbcore_on_message_deleted(ctx, message):
    ctx.emit("message-deleted", str(message.id))


@hookimpl
def sbcore_on_conversation_created(ctx, conversation):
    """Rendered when the call ends, so that the messages sent with it are in the body."""
    conversation_id = conversation.id

    def render():
        data, user = conversation_data(conversation_id)
        ctx.emit("new-conversation-created", data)
        first = data["messages"][0] if data["messages"] else None
        if first is not None and first["user_id"] != str(user.id):
            ctx.emit("new-conversation-received", data)  # the user receives a conversation
    ctx.defer(render)


@hookimpl
def sbcore_on_conversation_updated(ctx, conversation, changes):
    if "status_code" in changes:
        status = changes["status_code"]
        # 3.8 echoes a status given by the caller as a form sends it (a string) and sends
        # the status that a message computed as a number, with its conversation id
        by_message = getattr(ctx, "status_from_message", False)
        ctx.emit("conversation-status-updated", {
            "conversation_id": conversation.id if by_message else str(conversation.id),
            "status_code": int(status) if by_message else str(status)})


@hookimpl
def sbcore_on_login(ctx, user):
    details = U.login_row(user)
    details.update(url=ctx.config.public_url, password="", conversation_id="false")
    ctx.emit("login", {"details": details})


@hookimpl
def sbcore_on_users_deleted(ctx, user_ids):
    ctx.emit_many("user-deleted", [str(user_id) for user_id in user_ids])


def new_messages_data(conversation_id, rows):
    """The ``data`` of new-messages: the conversation row and the messages received."""
    from .models import Conversation
    query = C.list_query(with_user=False).where(Conversation.id == conversation_id)
    details = C.list_rows(query)[0]
    for key in ("conversation_id", "conversation_user_id", "conversation_status_code",
                "conversation_creation_time"):
        details.pop(key)
    conversation = Conversation.get_by_id(conversation_id)
    details.update(id=str(conversation.id), user_id=str(conversation.user_id),
                   creation_time=dbmod.format_datetime(conversation.creation_time),
                   status_code=str(conversation.status_code))
    messages = []
    for row in rows:
        try:
            payload = json.loads(row["payload"]) if row["payload"] else {}
        except ValueError:
            payload = {}
        messages.append({"details": {
            "message": row["message"], "attachments": row["attachments"], "payload": payload,
            "status_code": row["status_code"], "id": row["id"], "profile_image": row["profile_image"],
            "first_name": row["first_name"], "last_name": row["last_name"], "user_id": row["user_id"],
            "user_type": row["user_type"], "full_name": f"{row['first_name']} {row['last_name']}".strip(),
            "creation_time": row["creation_time"]}})
    return {"details": details, "messages": messages}


# --- the pull feed ---


def body(ctx, event, key=None):
    value = {"function": event.name}  # Support Board 3.8's key order
    if key is not None:
        value["key"] = key
    value["data"] = json.loads(event.data)
    value["sender-url"] = ctx.config.public_url
    return value


@functions("get-events")
def get_events(ctx, after: str = "", limit: int = 100):
    """sbcore extension: the webhook bodies (without key) after a cursor, oldest first."""
    if limit < 1 or limit > 1000:
        raise invalid_argument("limit", "from 1 to 1000.")
    cursor = 0
    if str(after).strip():
        cursor = str(after).strip()
        if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
            raise invalid_argument("after", "a cursor from a previous get-events answer.")
        cursor = int(after)
    events = list(Event.select().where(Event.id > cursor).order_by(Event.id).limit(limit))
    return {"events": [body(ctx, e) for e in events],
            "next": str(events[-1].id if events else cursor)}


# --- delivery (in the worker, after commit) ---


def signed_request(key, delivery_id, raw, timestamp):
    key_bytes = key.encode("utf-8")
    signature = hmac.new(key_bytes, raw, hashlib.sha256).hexdigest()
    standard = base64.b64encode(hmac.new(
        key_bytes, f"{delivery_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
            "X-SB-Signature": f"sha256={signature}", "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{standard}"}


def backoff(attempts):
    """Seconds before retry number ``attempts`` (1, 2, 4 … one hour), with jitter."""
    return min(2.0 ** (attempts - 1), MAX_BACKOFF) * random.uniform(0.5, 1.0)


def claim(now, owner=OWNER, limit=BATCH):
    """Lease up to ``limit`` due events to this worker; another worker skips them."""
    return claim_due(Event, now, owner, limit, LEASE)


def send(config, settings, event, sender_url, session):
    """POST one event; return None on a 2xx answer, else the error."""
    key = settings["webhooks-key"] or ""
    # Support Board 3.8's key order: function, key, data, sender-url
    raw = json.dumps({"function": event.name, "key": key, "data": json.loads(event.data),
                      "sender-url": sender_url}, separators=(",", ":")).encode("utf-8")
    headers = signed_request(key, event.delivery_id, raw, int(time.time()))
    headers.update({"X-SB-Event": event.name, "X-SB-Delivery": event.delivery_id})
    try:
        response = outbound.request(config, "POST", settings["webhooks-url"], data=raw,
                                    headers=headers, timeout=TIMEOUT, session=session)
    except outbound.OutboundRefused as error:
        return f"refused: {error}"
    except requests.RequestException as error:
        return f"{type(error).__name__}: {error}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"


def ordered_chains(events):
    """The events of one conversation in the order they were written (one after the
    other, as Support Board 3.8 posts conversation-status-updated before message-sent);
    other events each on their own, so that the chains go out in parallel."""
    chains = {}
    for event in sorted(events, key=lambda e: e.id):
        try:
            data = json.loads(event.data)
        except ValueError:
            data = None
        conversation = data.get("conversation_id") if isinstance(data, dict) else None
        key = ("conversation", str(conversation)) if conversation not in (None, "") else ("event", event.id)
        chains.setdefault(key, []).append(event)
    return list(chains.values())


def deliver_pending(core, owner=OWNER, limit=BATCH):
    """Send every due event once; return (delivered, failed attempts)."""
    ctx = core.context()
    with dbmod.connection():
        settings = config_of(ctx)
        events = claim(time.time(), owner, limit)
    if not events:
        return 0, 0
    session = outbound.new_session(core.config)

    def send_chain(chain):
        return [send(core.config, settings, e, core.config.public_url, session) for e in chain]
    chains = ordered_chains(events)
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        sent = dict(zip((id(e) for chain in chains for e in chain),
                        (error for errors in pool.map(send_chain, chains) for error in errors)))
    errors = [sent[id(e)] for e in events]
    delivered = failed = 0
    with dbmod.connection():
        for event, error in zip(events, errors):
            attempts = event.attempts + 1
            if error is None:
                delivered += 1
                Event.update(status=DELIVERED, attempts=attempts, delivered=utcnow(), lease_until=0,
                             last_error="").where(Event.id == event.id).execute()
                continue
            failed += 1
            now = time.time()
            parked = now - event.created_ts >= RETRY_FOR
            Event.update(status=FAILED if parked else PENDING, attempts=attempts, lease_until=0,
                         next_attempt=now + backoff(attempts), last_error=error[:1000]).where(
                Event.id == event.id).execute()
            log.warning("webhook %s (%s) attempt %d failed: %s%s", event.delivery_id, event.name,
                        attempts, error, " (parked as failed)" if parked else "")
        recover(delivered, failed)
    return delivered, failed


def recover(delivered, failed):
    """After an outage the backlog goes out within a minute of the receiver's return: the
    oldest pending event probes every PROBE_EVERY seconds, and a success makes every
    event that waits out a backoff due at once."""
    now = time.time()
    if delivered:
        Event.update(next_attempt=now).where((Event.status == PENDING) & (Event.attempts > 0)
                                             & (Event.next_attempt > now)).execute()
    elif failed:
        oldest = Event.select(Event.id).where(Event.status == PENDING).order_by(Event.id).first()
        if oldest is not None:
            Event.update(next_attempt=now + PROBE_EVERY).where(
                (Event.id == oldest.id) & (Event.next_attempt > now + PROBE_EVERY)).execute()


def replay(event_ids=None, failed=False):
    """Send events again (all failed ones with ``failed``); return how many."""
    query = Event.update(status=PENDING, next_attempt=time.time(), lease_until=0,
                         created_ts=time.time())
    if failed:
        query = query.where(Event.status == FAILED)
    else:
        query = query.where(Event.id.in_(list(event_ids or [])))
    return query.execute()


def prune(ctx):
    from datetime import timedelta
    cutoff = utcnow() - timedelta(days=ctx.settings.get("webhooks-retention-days"))
    return Event.delete().where((Event.created < cutoff) & (Event.status != PENDING)).execute()


def cli(core, args):
    with dbmod.connection():
        if args.action == "replay":
            if not args.failed and args.id is None:
                print("give an event ID or --failed")
                return 2
            count = replay([args.id] if args.id is not None else None, failed=args.failed)
            print(f"{count} event(s) queued again")
            core.outbox_signal.set()
            return 0 if count else 1
        query = Event.select().order_by(Event.id.desc()).limit(args.limit)
        if args.failed:
            query = query.where(Event.status == FAILED)
        print(f"{'id':>8}  {'status':<9}  {'attempts':>8}  {'created':<19}  {'event':<27}  last error")
        for event in query:
            print(f"{event.id:>8}  {event.status:<9}  {event.attempts:>8}  "
                  f"{dbmod.format_datetime(event.created):<19}  {event.name:<27}  {event.last_error[:60]}")
    return 0
