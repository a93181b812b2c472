"""The writer side of realtime: which changes become stream events, written as rows in
the change's transaction and published once it has committed; the stream tickets; the
job that prunes old events.

Kinds: ``message`` (a message row, the shape of get-new-messages), ``message-updated``,
``message-deleted``, ``typing``, ``status`` (a conversation's status), ``assignment``
(agent or department; agents only), ``conversation`` (a new one; agents only),
``presence`` (a visitor online or offline; agents only)."""

import hashlib
import json
import secrets
import time

from .. import conversations as C
from ..db import Prepared
from ..hooks import hookimpl
from ..models import Message, User
from ..models.realtime import AUDIENCE_AGENTS, AUDIENCE_ALL, StreamEvent, StreamTicket
from ..worker import Job

KEEP_SECONDS = 24 * 3600
TICKET_SECONDS = 60


INSERT_EVENT = Prepared(lambda created_ts, kind, audience, user_id, conversation_id, data:
                        StreamEvent.insert(created_ts=created_ts, kind=kind, audience=audience,
                                           user_id=user_id, conversation_id=conversation_id,
                                           data=data))


def record(ctx, kind, data, user_id=None, conversation_id=None, audience=AUDIENCE_ALL):
    """Write one stream event in the current transaction; ``Core.run`` publishes a
    call's events in one message once its transaction has committed (domain code run
    outside a call leaves them to the hubs' read of the table)."""
    text = json.dumps(data, separators=(",", ":"))
    event = {"kind": kind, "audience": audience, "user_id": user_id,
             "conversation_id": conversation_id, "data": text}
    if type(user_id) is int and type(conversation_id) is int:  # noqa: E721 (most events)
        event["id"] = INSERT_EVENT.insert(time.time(), kind, audience, user_id, conversation_id, text)
    else:
        event["id"] = StreamEvent.insert(created_ts=time.time(), kind=kind, audience=audience,
                                         user_id=user_id, conversation_id=conversation_id,
                                         data=text).execute()
    ctx.stream_events.append(event)
    return event


def conversation_owner(conversation):
    return conversation.user_id


# --- the changes that become events ---


@hookimpl
def sbcore_on_message_sent(ctx, message, conversation):
    # the author came with the message (add_message passes the sender): no read back
    record(ctx, "message", C.message_row(message, message.user),
           conversation_owner(conversation), conversation.id)


@hookimpl
def sbcore_on_message_updated(ctx, message):
    rows = C.message_rows(Message.select().where(Message.id == message.id))
    if rows:
        owner = C.get_conversation(message.conversation_id)
        record(ctx, "message-updated", rows[0], owner.user_id if owner else None,
               message.conversation_id)


@hookimpl
def sbcore_on_message_deleted(ctx, message):
    owner = C.get_conversation(message.conversation_id)
    record(ctx, "message-deleted", {"id": str(message.id),
                                    "conversation_id": str(message.conversation_id)},
           owner.user_id if owner else None, message.conversation_id)


@hookimpl
def sbcore_on_conversation_created(ctx, conversation):
    record(ctx, "conversation", {"conversation_id": str(conversation.id),
                                 "user_id": str(conversation.user_id)},
           conversation.user_id, conversation.id, audience=AUDIENCE_AGENTS)


@hookimpl
def sbcore_on_conversation_updated(ctx, conversation, changes):
    base = {"conversation_id": str(conversation.id)}
    if "status_code" in changes:
        record(ctx, "status", {**base, "status_code": str(changes["status_code"])},
               conversation.user_id, conversation.id)
    assigned = {key: C.text(changes[key]) for key in ("agent_id", "department") if key in changes}
    if assigned:
        record(ctx, "assignment", {**base, **assigned}, conversation.user_id, conversation.id,
               audience=AUDIENCE_AGENTS)


def typing(ctx, user_id, conversation_id, seconds):
    """``user_id`` types in ``conversation_id`` for the next ``seconds``."""
    conversation = C.get_conversation(conversation_id)
    user = User.get_or_none(User.id == user_id)
    if conversation is None or user is None:
        return
    record(ctx, "typing", {"conversation_id": str(conversation_id), "user_id": str(user_id),
                           "first_name": user.first_name, "last_name": user.last_name,
                           "user_type": user.user_type, "seconds": seconds},
           conversation.user_id, conversation_id)


def presence(ctx, user_id, online):
    """A visitor came online or left (for the agents)."""
    record(ctx, "presence", {"user_id": str(user_id), "online": bool(online)}, user_id,
           audience=AUDIENCE_AGENTS)


# --- stream tickets ---


def ticket_hash(ticket):
    return hashlib.sha256(ticket.encode("utf-8")).hexdigest()


def issue_ticket(user_id, now=None):
    """A single-use ticket that opens one stream of ``user_id`` within TICKET_SECONDS."""
    now = time.time() if now is None else now
    ticket = secrets.token_urlsafe(32)
    StreamTicket.delete().where(StreamTicket.expires <= now).execute()
    StreamTicket.create(ticket_hash=ticket_hash(ticket), user_id=user_id,
                        expires=now + TICKET_SECONDS)
    return {"ticket": ticket, "expires_in": TICKET_SECONDS}


def redeem_ticket(ticket, now=None):
    """The user id of ``ticket``, or None; a ticket opens one stream only (the row goes
    as it is used, so two hosts racing for it cannot both win)."""
    if not isinstance(ticket, str) or not 20 <= len(ticket) <= 100:
        return None
    now = time.time() if now is None else now
    digest = ticket_hash(ticket)
    row = StreamTicket.get_or_none((StreamTicket.ticket_hash == digest)
                                   & (StreamTicket.expires > now))
    if row is None:
        return None
    taken = StreamTicket.delete().where((StreamTicket.ticket_hash == digest)
                                        & (StreamTicket.expires > now)).execute()
    return row.user_id if taken == 1 else None


# --- housekeeping ---


def prune(ctx):
    now = time.time()
    StreamEvent.delete().where(StreamEvent.created_ts < now - KEEP_SECONDS).execute()
    StreamTicket.delete().where(StreamTicket.expires <= now).execute()


@hookimpl
def sbcore_register_jobs():
    return [Job("realtime-prune", 3600, prune)]
