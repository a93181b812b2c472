"""The conversations domain: shapes, the inbox query, sending and search."""

import json
import logging
from datetime import timedelta

from peewee import JOIN, SQL, fn

from . import db as dbmod
from . import uploads
from .db import utcnow
from .errors import ApiError, invalid_argument, not_found
from .models import Conversation, ConversationAgent, Message, User
from .models.conversations import STATUS_CODES, box_of
from .models.users import AGENT_TYPES
from .search import normalise, search_backend, words

log = logging.getLogger("sbcore.conversations")
HUMAN_TAKEOVER_PAYLOAD = '{"human-takeover": true}'  # the mark of a conversation handed to the agents
HUMAN_TAKEOVER_DAYS = 10  # a chatbot stays quiet this long after it

SOURCES = ("em", "tk", "wa", "fb", "ig", "tw", "wc", "tx", "gb", "tg", "ln", "vb")
PAGE_SIZE = 100
SEARCH_CANDIDATES = 500  # newest matches per index that search-conversations ranks (bench: 2,000 cost 33 ms, 500 cost 22 ms in-process over 1M messages)
ONE_QUERY_LIMIT = 1000  # "new since" answers at most this many rows per call


def text(value):
    return None if value is None else str(value)


# --- validation ---


def check_status(status_code, allow_all=False):
    if allow_all and str(status_code).lower() == "all":
        return "all"
    try:
        code = int(status_code)
    except (TypeError, ValueError):
        code = None
    if code not in STATUS_CODES:
        raise ApiError("invalid-status-code", f"'{status_code}' is not a status code: use 0 (live), "
                       "1 (waiting for the user), 2 (waiting for an agent), 3 (archive) or 4 (trash).")
    return code


def check_source(source):
    if source in (None, "", False):
        return None
    if source not in SOURCES:
        raise invalid_argument("source", f"'{source}' is not one of {', '.join(SOURCES)}.")
    return source


def check_attachments(attachments):
    """``[["name", "https://…"], …]`` as stored JSON text ("" for none)."""
    if attachments in (None, "", False):
        return ""
    if not isinstance(attachments, list):
        raise invalid_argument("attachments", 'expected [["name", "link"], …].')
    for item in attachments:
        if (not isinstance(item, list) or len(item) < 2 or not all(isinstance(x, str) for x in item[:2])
                or not item[1].lower().startswith(("http://", "https://"))):
            raise invalid_argument("attachments", 'each attachment is ["name", "http(s) link"].')
    return json.dumps([item[:2] for item in attachments]) if attachments else ""


def check_payload(payload):
    if payload in (None, "", False):
        return ""
    if not isinstance(payload, dict):
        raise invalid_argument("payload", "expected a JSON object.")
    return json.dumps(payload)


def attachment_list(stored):
    try:
        value = json.loads(stored) if stored else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def attachment_urls(stored):
    return [item[1] for item in attachment_list(stored) if isinstance(item, list) and len(item) > 1]


# --- reads ---


CONVERSATION = dbmod.Prepared(lambda conversation_id: Conversation.select().where(
    Conversation.id == conversation_id).limit(1))
CONVERSATION_LOCKED = dbmod.Prepared(lambda conversation_id: Conversation.select().where(
    Conversation.id == conversation_id).limit(1).for_update())


def get_conversation(conversation_id):
    if type(conversation_id) is not int:  # noqa: E721 (a bool is no id)
        return Conversation.get_or_none(Conversation.id == conversation_id)
    return CONVERSATION.first(Conversation, conversation_id)


def agent_department(user):
    """The department whose conversations alone ``user`` sees in the workspace, or None
    (every conversation): an agent with a department sees that department's only
    (Support Board's rule for its admin area); admins see all."""
    if user is None or user.user_type != "agent" or user.department is None:
        return None
    return user.department


def require_conversation(conversation_id, lock=False):
    """The conversation, or 404. ``lock``: for a writer that will add a message, the row
    locked at once (FOR UPDATE on MariaDB and PostgreSQL; SQLite's writers already hold
    the database's write lock), so that two writers queue on it instead of each taking a
    shared lock through the message's foreign key and then deadlocking on the UPDATE."""
    if lock and dbmod.kind() != "sqlite" and type(conversation_id) is int:  # noqa: E721
        conversation = CONVERSATION_LOCKED.first(Conversation, conversation_id)
    elif lock and dbmod.kind() != "sqlite":
        conversation = Conversation.select().where(Conversation.id == conversation_id).for_update().first()
    else:
        conversation = get_conversation(conversation_id)
    if conversation is None:
        raise not_found("conversation-not-found", f"No conversation has the ID {conversation_id}.")
    return conversation


def require_message(message_id):
    message = Message.get_or_none(Message.id == message_id)
    if message is None:
        raise not_found("message-not-found", f"No message has the ID {message_id}.")
    return message


def with_authors(query):
    """``query`` (messages) selecting what ``message_shape`` needs, in id order."""
    return (query.select(Message.id, Message.user, Message.message, Message.creation_time,
                         Message.attachments, Message.status_code, Message.payload,
                         Message.conversation, User.first_name, User.last_name,
                         User.profile_image, User.user_type)
            .join(User, on=(User.id == Message.user)).order_by(Message.id))


def message_rows(query):
    """Messages with their author, the shape of get-conversation and get-new-messages."""
    return [message_shape(row, row) for row in dbmod.raw_dicts(with_authors(query))]


# The two point reads of every open conversation, their SQL built once
MESSAGES_OF = dbmod.Prepared(lambda conversation_id: with_authors(
    Message.select().where(Message.conversation == conversation_id)))
MESSAGES_AFTER = dbmod.Prepared(lambda conversation_id, message_id: with_authors(
    Message.select().where((Message.conversation == conversation_id) & (Message.id > message_id))
    .limit(ONE_QUERY_LIMIT)))


def messages_of(conversation_id, after=None):
    """The rows of ``message_rows`` for a conversation's messages (with an id above
    ``after``: at most ONE_QUERY_LIMIT of them)."""
    rows = MESSAGES_OF.dicts(conversation_id) if after is None else \
        MESSAGES_AFTER.dicts(conversation_id, after)
    return [message_shape(row, row) for row in rows]


def message_row(message, author):
    """The same shape for a message just written, from the objects at hand (no read)."""
    return message_shape({
        "id": message.id, "user_id": author.id, "message": message.message,
        "creation_time": message.creation_time, "attachments": message.attachments,
        "status_code": message.status_code, "payload": message.payload,
        "conversation_id": message.conversation_id}, author.__data__)


def message_shape(row, author):
    return {
        "id": str(row["id"]), "user_id": str(row["user_id"]), "message": row["message"],
        "creation_time": dbmod.format_datetime(row["creation_time"]),
        "attachments": row["attachments"], "status_code": str(row["status_code"]),
        "payload": row["payload"], "conversation_id": str(row["conversation_id"]),
        "first_name": author["first_name"], "last_name": author["last_name"],
        "profile_image": author["profile_image"], "user_type": author["user_type"],
    }


def details(conversation, user, notes=()):
    """The ``details`` of get-conversation and new-conversation: the union of the
    reference's keys (conversation_time, conversation_status_code) and Support Board
    3.8's (creation_time, status_code, agent_id, source, extra…, tags as an array,
    busy, notes). ``conversation`` and ``user``: models, or dicts of their fields."""
    c = conversation if isinstance(conversation, dict) else conversation.__data__
    u = user if isinstance(user, dict) else user.__data__
    created = dbmod.format_datetime(c.get("creation_time"))
    return {
        "user_id": str(u.get("id")), "first_name": u.get("first_name"), "last_name": u.get("last_name"),
        "profile_image": u.get("profile_image"), "user_type": u.get("user_type"),
        "id": str(c.get("id")), "title": c.get("title"),
        "creation_time": created, "status_code": str(c.get("status_code")),
        "department": text(c.get("department")), "agent_id": text(c.get("agent_id")),
        "source": c.get("source") or "", "extra": c.get("extra"),
        "extra_2": c.get("extra_2"), "extra_3": c.get("extra_3"),
        "tags": [tag for tag in (c.get("tags") or "").split(",") if tag.strip()],
        "busy": False, "notes": list(notes),
        "conversation_time": created,
        "conversation_status_code": str(c.get("status_code")),
    }


# get-conversation's first read: what ``details`` needs of the conversation and its user
CONVERSATION_AND_USER = dbmod.Prepared(lambda conversation_id: Conversation.select(
    Conversation.id, Conversation.user, Conversation.title, Conversation.creation_time,
    Conversation.status_code, Conversation.department, Conversation.agent_id,
    Conversation.source, Conversation.extra, Conversation.extra_2, Conversation.extra_3,
    Conversation.tags, User.first_name, User.last_name, User.profile_image, User.user_type)
    .join(User, on=(User.id == Conversation.user)).where(Conversation.id == conversation_id))


def conversation_answer(conversation_id, user_id=None):
    """get-conversation's answer, or None when there is no such conversation (of
    ``user_id``, when given): four point reads whose SQL is built once."""
    rows = CONVERSATION_AND_USER.dicts(conversation_id)
    if not rows or (user_id is not None and rows[0]["user_id"] != user_id):
        return None
    row = rows[0]
    user = {"id": row["user_id"], "first_name": row["first_name"], "last_name": row["last_name"],
            "profile_image": row["profile_image"], "user_type": row["user_type"]}
    return {"messages": messages_of(conversation_id),
            "details": details(row, user, note_rows(conversation_id))}


def _notes_of(conversation_id):
    from .models import Note
    return (Note.select(Note.id, Note.user, Note.name, Note.message, Note.creation_time)
            .where(Note.conversation == conversation_id).order_by(Note.id))


NOTES_OF = dbmod.Prepared(_notes_of)


def note_rows(conversation_id):
    """The notes of a conversation in Support Board 3.8's shape."""
    return [{"id": n["id"], "user_id": str(n["user_id"]), "name": n["name"], "message": n["message"],
             "date": dbmod.format_datetime(n["creation_time"])}
            for n in NOTES_OF.dicts(conversation_id)]


def full_conversation(conversation):
    """get-conversation's answer (``conversation.user`` is read unless the query that
    loaded the conversation joined it)."""
    return {"messages": messages_of(conversation.id),
            "details": details(conversation, conversation.user, note_rows(conversation.id))}


MessageUser = User.alias("mu")
ConversationUser = User.alias("cu")


def list_query(with_user=True):
    """Conversations with their last message and its author (and the conversation's
    user): one query, whatever the number of rows."""
    columns = [
        Message.message, Message.id.alias("message_id"), Message.attachments, Message.payload,
        Message.status_code.alias("message_status_code"),
        Conversation.last_update_time, Message.user.alias("message_user_id"),
        MessageUser.first_name.alias("message_first_name"),
        MessageUser.last_name.alias("message_last_name"),
        MessageUser.profile_image.alias("message_profile_image"),
        MessageUser.user_type.alias("message_user_type"),
        Conversation.id.alias("conversation_id"), Conversation.user.alias("conversation_user_id"),
        Conversation.status_code.alias("conversation_status_code"),
        Conversation.creation_time.alias("conversation_creation_time"),
        Conversation.department, Conversation.agent_id, Conversation.title, Conversation.source,
        Conversation.extra, Conversation.tags,
    ]
    if with_user:
        columns += [ConversationUser.first_name.alias("conversation_first_name"),
                    ConversationUser.last_name.alias("conversation_last_name"),
                    ConversationUser.profile_image.alias("conversation_profile_image"),
                    ConversationUser.user_type.alias("conversation_user_type")]
    query = (Conversation.select(*columns)
             .join(Message, JOIN.LEFT_OUTER, on=(Message.id == Conversation.last_message_id))
             .join(MessageUser, JOIN.LEFT_OUTER, on=(MessageUser.id == Message.user)))
    if with_user:
        query = query.join_from(Conversation, ConversationUser,
                                on=(ConversationUser.id == Conversation.user))
    return query


ID_FIELDS = ("message_id", "message_user_id", "conversation_id", "conversation_user_id",
             "message_status_code", "conversation_status_code", "department", "agent_id")


def list_rows(query):
    return list_rows_of(dbmod.raw_dicts(query))


def list_rows_of(raw_rows):
    """The conversation list shape of ``raw_dicts`` rows of a ``list_query``."""
    rows = []
    for row in raw_rows:
        for key in ID_FIELDS:
            row[key] = text(row[key])
        for key in ("last_update_time", "conversation_creation_time"):
            row[key] = dbmod.format_datetime(row[key])
        for key in ("message", "attachments", "payload", "source"):
            row[key] = row[key] if row[key] is not None else ""
        rows.append(row)
    return rows


def parse_cursor(value):
    """``"YYYY-MM-DD HH:MM:SS,ID"`` (a row's last_update_time and conversation_id): the
    keyset cursor of get-conversations' ``before``."""
    from datetime import datetime
    moment, _, row_id = str(value).rpartition(",")
    try:
        parsed = datetime.strptime(moment.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        parsed = None
    if parsed is None or not row_id.strip().isdigit() or len(row_id.strip()) > 18:
        raise invalid_argument("before", 'expected "YYYY-MM-DD HH:MM:SS,ID" of the last row shown.')
    return parsed, int(row_id)


def newest_first(query):
    return query.order_by(Conversation.last_update_time.desc(), Conversation.id.desc())


_STATUS_PAGES = {}  # None (the inbox), "all" or a status code -> Prepared


def status_page(status, offset):
    """``list_rows`` of a get-conversations page with no filter but the status: the
    inbox (``status`` None), every conversation ("all") or one status code."""
    prepared = _STATUS_PAGES.get(status)
    if prepared is None:
        def build(offset):
            query = list_query()
            if status is None:
                query = query.where(Conversation.box == 0)  # not archived, not trashed
            elif status != "all":
                query = query.where(Conversation.status_code == status)
            return newest_first(query).limit(PAGE_SIZE).offset(offset)
        prepared = _STATUS_PAGES[status] = dbmod.Prepared(build)
    return list_rows_of(prepared.dicts(offset))


def search_condition(text_value, newest=None):
    """Conversations whose title, tags, messages, attachment names, user names, email or
    details match, or whose id, agent or department is the number searched. With
    ``newest``, each index gives only its newest that many matches, so that a common word
    costs what a rare one does."""
    backend = search_backend()
    parts = []
    for index, column in (("conversations", Conversation.id), ("messages", None),
                          ("users", Conversation.user)):
        match = backend.match(index, text_value, newest=newest)
        if match is None:
            continue
        sql, params = match
        if column is None:
            messages = Message.select(Message.conversation).where(Message.id.in_(SQL(f"({sql})", params)))
            if backend.newest_listed and newest is not None:
                # MySQL: with every part a list of ids it reads those conversations and sorts
                # them (3 ms), where a sub-query in the OR makes it walk the inbox (25 ms)
                messages = sorted({row[0] for row in messages.tuples()})
            parts.append(Conversation.id.in_(messages))
        else:
            parts.append(column.in_(SQL(f"({sql})", params)))
    stripped = text_value.strip()
    if stripped.isascii() and stripped.isdigit() and len(stripped) < 19:
        number = int(stripped)
        parts += [Conversation.id == number, Conversation.agent_id == number,
                  Conversation.department == number]
    if not parts and words(text_value):
        from .users import search_filter
        condition = search_filter(text_value)  # MySQL's short words: names and email
        if condition is not None:
            parts.append(Conversation.user.in_(User.select(User.id).where(condition)))
    if not parts:
        return None
    condition = parts[0]
    for part in parts[1:]:
        condition = condition | part
    return condition


# --- writes ---


def index_conversation(conversation):
    search_backend().upsert("conversations", conversation.id,
                            normalise(conversation.title, (conversation.tags or "").replace(",", " ")))


def index_message(message):
    names = " ".join(item[0] for item in attachment_list(message.attachments) if item)
    search_backend().upsert("messages", message.id, normalise(message.message, names))


def create_conversation(ctx, user_id, status_code=1, title="", department=None, agent_id=None,
                        source=None, extra=None, extra_2=None, extra_3=None, tags=None):
    now = utcnow()
    conversation = Conversation.create(user=user_id, status_code=status_code, box=box_of(status_code),
                                       title=title or "",
                                       department=department, agent_id=agent_id, source=source,
                                       extra=extra, extra_2=extra_2, extra_3=extra_3, tags=tags,
                                       creation_time=now, last_update_time=now)
    index_conversation(conversation)
    ctx.hook.sbcore_on_conversation_created(ctx=ctx, conversation=conversation)
    return conversation


def next_status(sender, conversation, requested):
    """The status after ``sender``'s message: a user's message waits for an agent (2), an
    agent's reply waits for the user (1), the bot's leaves it; ``requested`` overrides,
    ``"skip"`` keeps the current one."""
    if requested not in (None, "", False):
        if str(requested).lower() == "skip":
            return conversation.status_code
        return check_status(requested)
    if sender.user_type == "bot":
        return conversation.status_code
    return 1 if sender.user_type in AGENT_TYPES else 2


# add_message's writes, their SQL built once
INSERT_MESSAGE = dbmod.Prepared(lambda user_id, conversation_id, text_value, attachments, payload,
                                when, status_code: Message.insert(
    user=user_id, conversation=conversation_id, message=text_value, attachments=attachments,
    payload=payload, creation_time=when, status_code=status_code))
TOUCH_CONVERSATION = dbmod.Prepared(lambda message_id, when, conversation_id: Conversation.update(
    last_message_id=message_id, last_update_time=when).where(Conversation.id == conversation_id))
MOVE_CONVERSATION = dbmod.Prepared(lambda message_id, when, status, box, conversation_id:
                                   Conversation.update(last_message_id=message_id,
                                                       last_update_time=when, status_code=status,
                                                       box=box).where(Conversation.id == conversation_id))


def add_message(ctx, sender, conversation, text_value, attachments="", payload="", status=None):
    """Store a message, move the conversation's status and last message, index it."""
    status = next_status(sender, conversation, status)
    now = utcnow()
    message = Message(user=sender, conversation=conversation.id, message=text_value,
                      attachments=attachments, payload=payload, creation_time=now, status_code=0)
    message.id = INSERT_MESSAGE.insert(sender.id, conversation.id, text_value, attachments or "",
                                       payload or "", now, 0)
    changes = {"last_message_id": message.id, "last_update_time": now}
    if status != conversation.status_code:
        changes.update(status_code=status, box=box_of(status))
        MOVE_CONVERSATION.execute(message.id, now, status, box_of(status), conversation.id)
    else:
        TOUCH_CONVERSATION.execute(message.id, now, conversation.id)
    for key, value in changes.items():
        setattr(conversation, key, value)
    index_message(message)
    if sender.user_type in AGENT_TYPES:
        note_agent_reply(conversation.id, sender.id, now)
    if "status_code" in changes:
        ctx.status_from_message = True  # the webhook sends a computed status as 3.8 does
        try:
            ctx.hook.sbcore_on_conversation_updated(ctx=ctx, conversation=conversation,
                                                    changes={"status_code": status})
        finally:
            ctx.status_from_message = False
    ctx.hook.sbcore_on_message_sent(ctx=ctx, message=message, conversation=conversation)
    if sender.user_type not in AGENT_TYPES and sender.user_type != "bot" and bot_active(ctx):
        core, conversation_id, message_id = ctx.core, conversation.id, message.id
        ctx.after_commit(lambda: bot_reply(core, conversation_id, message_id))
    return message


def bot_active(ctx):
    """Whether a chatbot may be asked to answer: a plugin replies (``sbcore_bot_reply``)
    and says it is on (``sbcore_bot_active``), or does not say."""
    hook = ctx.hook
    replying = {id(impl.plugin) for impl in hook.sbcore_bot_reply.get_hookimpls()}
    if not replying:
        return False
    declaring = {id(impl.plugin) for impl in hook.sbcore_bot_active.get_hookimpls()}
    return bool(replying - declaring) or any(hook.sbcore_bot_active(ctx=ctx))


def bot_may_answer(conversation_id):
    """Whether a chatbot may still answer in the conversation: no agent has replied in
    it and it was not handed to the agents (HUMAN_TAKEOVER_PAYLOAD) lately."""
    if ConversationAgent.select().where(ConversationAgent.conversation == conversation_id).exists():
        return False
    return not Message.select().where(
        (Message.conversation == conversation_id) & (Message.payload == HUMAN_TAKEOVER_PAYLOAD)
        & (Message.creation_time > utcnow() - timedelta(days=HUMAN_TAKEOVER_DAYS))).exists()


def bot_reply(core, conversation_id, message_id):
    """After a user's message is committed: the first chatbot plugin that answers it
    (``sbcore_bot_reply``), in a call of its own with no transaction open. A failure is
    logged; the user's message stays sent."""
    def answer(ctx):
        conversation = Conversation.get_or_none(Conversation.id == conversation_id)
        message = Message.get_or_none(Message.id == message_id)
        if conversation is None or message is None or not bot_may_answer(conversation_id):
            return None
        return ctx.hook.sbcore_bot_reply(ctx=ctx, conversation=conversation, message=message)
    try:
        return core.run(answer, transaction=False)
    except Exception:  # noqa: BLE001 - one failing chatbot never fails the user's call
        log.exception("the chatbot's answer to message %s failed", message_id)
        return None


def note_agent_reply(conversation_id, agent_id, when):
    updated = ConversationAgent.update(last_reply=when).where(
        (ConversationAgent.conversation == conversation_id) & (ConversationAgent.agent == agent_id)).execute()
    if not updated:
        ConversationAgent.create(conversation=conversation_id, agent=agent_id, first_reply=when,
                                 last_reply=when)


def rebuild_conversation_agents():
    """Fill ``sb_conversation_agents`` from the messages (one INSERT … SELECT)."""
    ConversationAgent.delete().execute()
    replies = (Message.select(Message.conversation, Message.user, fn.MIN(Message.creation_time),
                              fn.MAX(Message.creation_time))
               .join(User, on=(User.id == Message.user)).where(User.user_type.in_(AGENT_TYPES))
               .group_by(Message.conversation, Message.user))
    ConversationAgent.insert_from(replies, [ConversationAgent.conversation, ConversationAgent.agent,
                                            ConversationAgent.first_reply,
                                            ConversationAgent.last_reply]).execute()


def edit_message(ctx, row, **changes):
    """Change a message's (checked) text, attachments or payload, reindex it and tell
    the plugins; answers the message as it now is."""
    if not changes:
        return row
    Message.update(**changes).where(Message.id == row.id).execute()
    row = Message.get_by_id(row.id)
    index_message(row)
    ctx.hook.sbcore_on_message_updated(ctx=ctx, message=row)
    return row


def forget_messages(ctx, conversation_ids, user_ids=()):
    """Before conversations (and, with ``user_ids``, those users' messages anywhere) are
    deleted: drop their search rows and the files their messages uploaded here, reading
    the messages once."""
    condition = Message.conversation.in_(list(conversation_ids) or [0])
    if user_ids:
        condition = condition | Message.user.in_(list(user_ids))
    message_ids, urls = [], []
    for message_id, stored in Message.select(Message.id, Message.attachments).where(condition).tuples():
        message_ids.append(message_id)
        urls.extend(attachment_urls(stored))
    backend = search_backend()
    backend.delete("messages", message_ids)
    backend.delete("conversations", conversation_ids)
    uploads.release(ctx, message_ids, urls=urls)


def delete_conversations(ctx, conversation_ids):
    """Delete conversations with their messages, search rows and files."""
    forget_messages(ctx, conversation_ids)
    Conversation.delete().where(Conversation.id.in_(list(conversation_ids))).execute()


def refresh_last_message(conversation_id):
    last = (Message.select(Message.id, Message.creation_time)
            .where(Message.conversation == conversation_id).order_by(Message.id.desc()).first())
    Conversation.update(last_message_id=last.id if last else None).where(
        Conversation.id == conversation_id).execute()


def update_conversation(ctx, conversation, **changes):
    stored = dict(changes)
    if "status_code" in changes:
        stored["box"] = box_of(changes["status_code"])
    Conversation.update(**stored).where(Conversation.id == conversation.id).execute()
    for key, value in changes.items():
        setattr(conversation, key, value)
    if "title" in changes or "tags" in changes:
        index_conversation(conversation)
    ctx.hook.sbcore_on_conversation_updated(ctx=ctx, conversation=conversation, changes=changes)
