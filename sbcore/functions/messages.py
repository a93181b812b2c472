"""Messages: sending, editing, deleting, polling, transcripts and bot messages."""

import csv
import io
import json
from datetime import timedelta

from peewee import fn

from .. import channels
from .. import conversations as C
from .. import mail, notifications
from .. import uploads
from .. import users as U
from ..db import format_datetime, utcnow
from ..errors import ApiError, invalid_argument
from ..hooks import hookimpl
from ..models import BotMessageSent, Conversation, Message, ReportRow, User
from ..registry import AGENT, FunctionSet, IdList, Json
from ..search import search_backend
from ..settings import Setting
from .files import safe_cell
from .users import ensure_bot, parse_since
from ..registry import Attachments

functions = FunctionSet()
BOT_MESSAGES = ("welcome", "follow_up", "offline")
BOT_MESSAGE_DEFAULT = {"active": False, "title": "", "message": ""}
BOT_MESSAGE_EVERY = timedelta(days=10)


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_register_settings():
    return [
        Setting("transcript-type", "select", "csv", "The file type of transcripts: csv or txt."),
        Setting("welcome-message", "multi-input", dict(BOT_MESSAGE_DEFAULT),
                "The bot's welcome message: {active, title, message}."),
        Setting("follow-up-message", "multi-input", dict(BOT_MESSAGE_DEFAULT),
                "The bot's follow-up message: {active, title, message}."),
        Setting("offline-message", "multi-input", dict(BOT_MESSAGE_DEFAULT),
                "The bot's message when no agent is online: {active, title, message}."),
        Setting("translate-replies", "checkbox", False,
                "Send agents' and the bot's replies in messaging-platform conversations in the user's "
                "language (detail language, else browser_language) through a translation plugin "
                "(sbcore_translate, e.g. google); the translation is kept in the message's payload."),
    ]


@hookimpl
def sbcore_channel_send(ctx, conversation, message, attachments):
    """The core's own channel: tickets (``tk``), whose messages stay in the conversation."""
    if conversation.source == "tk":
        return True
    return None


def send(ctx, user_id, conversation_id, message, attachments, payload, status):
    sender = U.require_user(user_id)
    conversation = C.require_conversation(conversation_id, lock=True)
    stored_attachments = C.check_attachments(attachments)
    if not message.strip() and not stored_attachments:
        raise ApiError("empty-message", "A message needs text or attachments.")
    sent = C.add_message(ctx, sender, conversation, message, stored_attachments,
                         C.check_payload(payload), status)
    channels.send_after_commit(ctx, sender, conversation, sent)  # a platform's conversation
    return sent


@functions("send-message", role=AGENT)
def send_message(ctx, user_id: int, conversation_id: int, message: str = "",
                 attachments: Attachments | None = None, conversation_status_code: str | int | None = None,
                 payload: dict | None = None, queue: bool = False, recipient_id: int | None = None):
    sent = send(ctx, user_id, conversation_id, message, attachments, payload, conversation_status_code)
    # the union of 3.8's answer (id, human_takeover_active) and the reference's
    # (status, message-id)
    return {"id": sent.id, "queue": False, "human_takeover_active": False,
            "notifications": notifications.queued_channels(ctx), "message": sent.message,
            "status": "success", "message-id": sent.id}


@functions("update-message", role=AGENT)
def update_message(ctx, message_id: int, message: str | None = None,
                   attachments: Attachments | None = None, payload: dict | None = None):
    row = C.require_message(message_id)
    changes = {}
    if message is not None:
        changes["message"] = message
    if attachments is not None:
        changes["attachments"] = C.check_attachments(attachments)
    if payload is not None:
        changes["payload"] = C.check_payload(payload)
    C.edit_message(ctx, row, **changes)
    return True


@functions("delete-message", role=AGENT)
def delete_message(ctx, message_id: int):
    row = C.require_message(message_id)
    Message.delete().where(Message.id == row.id).execute()
    search_backend().delete("messages", [row.id])
    C.refresh_last_message(row.conversation_id)
    ctx.hook.sbcore_on_message_deleted(ctx=ctx, message=row)
    return True


@functions("delete-attachments")
def delete_attachments(ctx, conversation_id: int | bool = False, message_id: int | bool = False):
    if message_id is not False:
        query = Message.select().where(Message.id == C.require_message(message_id).id)
    elif conversation_id is not False:
        query = Message.select().where(Message.conversation == C.require_conversation(conversation_id).id)
    else:
        raise ApiError("missing-argument", "delete-attachments takes a conversation_id or a message_id.")
    messages = list(query.where(Message.attachments != ""))
    urls = [url for m in messages for url in C.attachment_urls(m.attachments)]
    if messages:
        Message.update(attachments="").where(Message.id.in_([m.id for m in messages])).execute()
        for m in messages:
            m.attachments = ""
            C.index_message(m)
    uploads.release(ctx, message_ids=[m.id for m in messages], urls=urls)
    return True


@functions("update-messages-status", role=AGENT)
def update_messages_status(ctx, message_ids: IdList, user_id: int | None = None):
    Message.update(status_code=2).where(Message.id.in_(list(message_ids) or [0])).execute()
    return True


@functions("get-new-messages", role=AGENT, read=True)
def get_new_messages(ctx, conversation_id: int, datetime: str, user_id: int | None = None):
    since = parse_since(datetime)
    if user_id is not None and not Conversation.select().where(
            (Conversation.id == conversation_id) & (Conversation.user == user_id)).exists():
        return []
    if isinstance(since, int):
        rows = C.messages_of(conversation_id, after=since)
    else:
        rows = C.message_rows(Message.select().where(
            (Message.conversation == conversation_id) & (Message.creation_time > since))
            .limit(C.ONE_QUERY_LIMIT))
    from ..webhooks import new_messages_data, will_send
    if rows and will_send(ctx, "new-messages"):  # see webhooks.DELIVERY_ONLY
        ctx.emit("new-messages", new_messages_data(conversation_id, rows))
    return rows


@functions("get-last-message", role=AGENT, read=True)
def get_last_message(ctx, conversation_id: int, exclude_message: str | bool = False,
                     user_id: int | bool = False):
    query = Message.select().where(Message.conversation == conversation_id)
    if exclude_message is not False:
        query = query.where(Message.message != exclude_message)
    if user_id is not False:
        query = query.where(Message.user == user_id)
    last = query.order_by(Message.id.desc()).first()
    if last is None:
        return ""  # Support Board 3.8's answer for a conversation without messages
    # 3.8's whole row, every value a string
    return {"id": str(last.id), "user_id": str(last.user_id), "message": last.message,
            "creation_time": format_datetime(last.creation_time),
            "status_code": str(last.status_code), "attachments": last.attachments,
            "payload": last.payload, "conversation_id": str(last.conversation_id)}


@functions("transcript", role=AGENT)
def transcript(ctx, conversation_id: int, type: str | bool = False):
    sb_transcript = ctx.settings.get("transcript") or {}  # Support Board 3.8's setting
    sb_kind = sb_transcript.get("transcript-type") if isinstance(sb_transcript, dict) else ""
    kind = type or (sb_kind if sb_kind in ("csv", "txt") else "") or ctx.settings.get("transcript-type")
    if kind not in ("csv", "txt"):
        raise invalid_argument("type", "csv, txt or false.")
    conversation = C.get_conversation(conversation_id)
    if conversation is None:
        return False
    rows = C.messages_of(conversation.id)
    handle = io.StringIO(newline="")
    if kind == "csv":
        writer = csv.writer(handle)
        writer.writerow(["id", "user_id", "name", "user_type", "creation_time", "message",
                         "attachments"])
        for row in rows:
            names = " ".join(a[1] for a in C.attachment_list(row["attachments"]) if len(a) > 1)
            writer.writerow([safe_cell(v) for v in (
                row["id"], row["user_id"], f"{row['first_name']} {row['last_name']}".strip(),
                row["user_type"], row["creation_time"], row["message"], names)])
    else:
        handle.write(f"Conversation #{conversation.id} {conversation.title}\n\n")
        for row in rows:
            name = f"{row['first_name']} {row['last_name']}".strip()
            handle.write(f"[{row['creation_time']}] {name}: {row['message']}\n")
            for attachment in C.attachment_list(row["attachments"]):
                if len(attachment) > 1:
                    handle.write(f"    attachment: {attachment[0]} {attachment[1]}\n")
    key = uploads.store(ctx.core, "transcripts", f"-conversation-{conversation.id}.{kind}",
                        handle.getvalue().encode("utf-8"), ctx.caller_id)
    return ctx.upload_url(key)


@functions("direct-message", role=AGENT)
def direct_message(ctx, user_ids: IdList, message: str, subject: str | bool = False):
    if subject:
        mail.require_configured(ctx, "direct-message with a subject (it also sends an email)")
        notifications.suppress(ctx)  # the direct email replaces the reply notification
    if not message.strip():
        raise ApiError("empty-message", "A message needs text.")
    ids = list(dict.fromkeys(user_ids))
    users = {u.id: u for u in User.select().where(User.id.in_(ids or [0]))}
    missing = [i for i in ids if i not in users]
    if missing:
        raise ApiError("user-not-found", f"No user has the ID {missing[0]}.", 404)
    sender = U.require_user(ctx.caller_id) if ctx.caller_id else ensure_bot(ctx)
    latest = dict(Conversation.select(Conversation.user, fn.MAX(Conversation.id))
                  .where(Conversation.user.in_(ids or [0]) & (Conversation.status_code != 4))
                  .group_by(Conversation.user).tuples())
    existing = {c.id: c for c in Conversation.select().where(Conversation.id.in_(list(latest.values()) or [0]))}
    emailed = []
    for user_id in ids:
        conversation = existing.get(latest.get(user_id)) or C.create_conversation(ctx, user_id)
        C.add_message(ctx, sender, conversation, message)
        if subject and notifications.queue(ctx, "email", [users[user_id]], {
                "subject": subject, "heading": "", "message": message, "attachments": [],
                "conversation_id": conversation.id}):
            emailed.append(user_id)
    ReportRow.insert_many([{"name": "direct-messages", "value": str(user_id)} for user_id in ids]
                          + [{"name": "direct-emails", "value": str(user_id)} for user_id in emailed]).execute()
    return True


# No transaction: it only reads, and the channel's send is a network call.
@functions("messaging-platforms-send-message", role=AGENT, transaction=False)
def messaging_platforms_send_message(ctx, conversation_id: int, message: str = "",
                                     attachments: Attachments | None = None, user: Json = None,
                                     source: Json = None):
    conversation = C.require_conversation(conversation_id)
    if isinstance(source, dict) and source.get("source"):
        conversation.source = C.check_source(source["source"])
        for key in ("chat_id", "page_id"):  # Telegram's chat and Messenger's page
            if source.get(key) not in (None, ""):
                conversation.extra = str(source[key])
    elif isinstance(source, str) and source:
        conversation.source = C.check_source(source)
    C.check_attachments(attachments)
    if not conversation.source:
        return False  # a web chat: the message is already where the user reads it
    if conversation.source in ("em", "tk"):  # a ticket's user is answered by email, as Support Board does
        return send_by_email(ctx, conversation, message, C.attachment_list(C.check_attachments(attachments)))
    result = channels.channel_send(ctx, conversation, message, attachments or [])
    if result is None:
        raise ApiError("channel-not-available", f"No installed plugin sends messages to the source "
                       f"'{conversation.source}'.", 400)
    return True


def send_by_email(ctx, conversation, message, attachments):
    """An email conversation's message goes to its user by email, after commit."""
    mail.require_configured(ctx, "A conversation whose source is email")
    user = User.get_by_id(conversation.user_id)
    if not user.email:
        raise ApiError("user-email-not-found", f"The user {user.id} has no email address.", 400)
    notifications.queue(ctx, "email", [user], {
        "subject": conversation.title or "New message", "heading": "", "message": message,
        "attachments": attachments, "conversation_id": conversation.id})
    return True


# Support Board 3.8's settings of the same bot messages: (setting, prefix of its sub-fields)
SB_BOT_MESSAGES = {"welcome": ("welcome-message", "welcome"), "follow_up": ("follow-message", "follow"),
                   "offline": ("chat-timetable", "chat-timetable")}


def bot_message_settings(ctx, name):
    """sbcore's ``{active, title, message}`` of a bot message; when it is off, Support
    Board 3.8's setting of the same message (``welcome-active``, ``welcome-msg`` …)."""
    settings = ctx.settings.get(name.replace("_", "-") + "-message")
    if settings.get("active") and str(settings.get("message", "")).strip():
        return settings
    setting_id, prefix = SB_BOT_MESSAGES[name]
    theirs = ctx.settings.get(setting_id) or {}
    if not isinstance(theirs, dict) or not theirs.get(f"{prefix}-active"):
        return settings
    return {"active": True, "title": theirs.get(f"{prefix}-title", ""),
            "message": theirs.get(f"{prefix}-msg", "")}


@functions("execute-bot-message")
def execute_bot_message(ctx, name: str, conversation_id: int, last_user_message: str | bool = False,
                        check: bool = True):
    if name not in BOT_MESSAGES:
        raise invalid_argument("name", f"one of {', '.join(BOT_MESSAGES)}.")
    conversation = C.require_conversation(conversation_id)
    settings = bot_message_settings(ctx, name)
    if not settings.get("active") or not str(settings.get("message", "")).strip():
        return False
    record = BotMessageSent.get_or_none((BotMessageSent.user == conversation.user_id)
                                        & (BotMessageSent.name == name))
    if check and record is not None and record.sent > utcnow() - BOT_MESSAGE_EVERY:
        return False
    sent = C.add_message(ctx, ensure_bot(ctx), conversation, settings["message"],
                         payload=json.dumps({"bot_message": name}))
    if record is None:
        BotMessageSent.create(user=conversation.user_id, name=name, sent=utcnow())
    else:
        BotMessageSent.update(sent=utcnow()).where(BotMessageSent.id == record.id).execute()
    return {"message": sent.message, "attachments": [], "id": sent.id,
            "settings": {"active": True, "title": settings.get("title", ""),
                         "message": settings["message"]}}

