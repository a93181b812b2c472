"""Conversations: the inbox, a user's conversations, search, opening and routing."""

import json

from peewee import fn

from .. import conversations as C
from .. import db as dbmod
from .. import users as U
from ..errors import ApiError
from ..hooks import hookimpl
from ..models import Conversation, Message, User
from ..models.users import AGENT_TYPES
from ..registry import AGENT, FunctionSet, IdList, Search
from .users import parse_since

functions = FunctionSet()


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_on_users_deleted(ctx, user_ids):
    """The search rows and files of the users' conversations and messages go with them."""
    conversations = [row[0] for row in Conversation.select(Conversation.id)
                     .where(Conversation.user.in_(user_ids)).tuples()]
    C.forget_messages(ctx, conversations, user_ids)


def routing_filter(ctx, query, routing, routing_unassigned):
    if not routing:
        return query
    mine = Conversation.agent_id == ctx.caller_id
    if routing_unassigned:
        mine = mine | Conversation.agent_id.is_null()
    return query.where(mine)


def since_filter(query, datetime):
    since = parse_since(datetime)
    if isinstance(since, int):
        return query.where(Conversation.id > since)
    return query.where(Conversation.last_update_time > since)


@functions("get-conversation", role=AGENT, read=True)
def get_conversation(ctx, conversation_id: int, user_id: int | None = None):
    answer = C.conversation_answer(conversation_id, user_id)
    return {"messages": [], "details": ""} if answer is None else answer


@functions("get-conversations", role=AGENT, read=True)
def get_conversations(ctx, pagination: int = 0, status_code: str | int | None = None,
                      routing: bool = False, routing_unassigned: bool = False,
                      department: int | None = None, source: str = "", tag: str = "",
                      unassigned: bool = False, before: str = ""):
    offset = dbmod.check_page(pagination, C.PAGE_SIZE)
    if not (department is not None or source or tag or unassigned or before or routing):
        status = None if status_code in (None, "") else C.check_status(status_code, allow_all=True)
        return with_payloads(C.status_page(status, offset))  # the inbox or one status
    query = C.list_query()
    if status_code in (None, ""):
        query = query.where(Conversation.box == 0)  # the inbox: not archived, not trashed
    elif C.check_status(status_code, allow_all=True) != "all":
        query = query.where(Conversation.status_code == C.check_status(status_code))
    if department is not None:
        query = query.where(Conversation.department == department)
    if source:
        query = query.where(Conversation.source == C.check_source(source))
    if tag:
        tag = tag.strip()
        query = query.where((Conversation.tags == tag) | Conversation.tags.startswith(tag + ",")
                            | Conversation.tags.endswith("," + tag) | Conversation.tags.contains(f",{tag},"))
    if unassigned:  # sbcore extension: no agent assigned
        query = query.where(Conversation.agent_id.is_null())
    if before:  # sbcore extension: the page after a row, by the index alone (no OFFSET)
        moment, last_id = C.parse_cursor(before)
        query = query.where((Conversation.last_update_time <= moment) & (
            (Conversation.last_update_time < moment) | (Conversation.id < last_id)))
        pagination = 0
    query = routing_filter(ctx, query, routing, routing_unassigned)
    return with_payloads(C.list_rows(dbmod.page(C.newest_first(query), pagination, C.PAGE_SIZE)))


def with_payloads(rows):
    for row in rows:  # Support Board 3.8 decodes the payload here (null when empty)
        row["payload"] = decoded_payload(row["payload"])
    return rows


def decoded_payload(text):
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@functions("get-new-conversations", role=AGENT, read=True)
def get_new_conversations(ctx, datetime: str, routing: bool = False, routing_unassigned: bool = False):
    since = parse_since(datetime)
    query = routing_filter(ctx, C.list_query(), routing, routing_unassigned)
    if isinstance(since, int):  # conversations after an id: the primary key's range, newest first
        query = query.where(Conversation.id > since).order_by(Conversation.id.desc())
    else:
        query = C.newest_first(query.where(Conversation.last_update_time > since))
    return C.list_rows(query.limit(C.ONE_QUERY_LIMIT))


@functions("get-user-conversations", role=AGENT, read=True, spellings={"agents": ("agent",)})
def get_user_conversations(ctx, user_id: int, exclude_id: int | None = None, agents: bool = False):
    query = C.list_query(with_user=False)
    if agents:
        query = query.where(Conversation.id.in_(
            Message.select(Message.conversation).where(Message.user == user_id)))
    else:
        query = query.where(Conversation.user == user_id)
    if exclude_id is not None:
        query = query.where(Conversation.id != exclude_id)
    return C.list_rows(C.newest_first(query).limit(C.ONE_QUERY_LIMIT))


@functions("get-new-user-conversations", role=AGENT, read=True)
def get_new_user_conversations(ctx, user_id: int, datetime: str):
    query = since_filter(C.list_query(with_user=False), datetime).where(Conversation.user == user_id)
    return C.list_rows(C.newest_first(query).limit(C.ONE_QUERY_LIMIT))


@functions("search-conversations", role=AGENT, read=True)
def search_conversations(ctx, search: Search):
    condition = C.search_condition(search, newest=C.SEARCH_CANDIDATES)
    if condition is None:
        return []
    return C.list_rows(C.newest_first(C.list_query().where(condition)).limit(C.PAGE_SIZE))


@functions("search-user-conversations", role=AGENT, read=True)
def search_user_conversations(ctx, search: Search, user_id: int):
    condition = C.search_condition(search)
    if condition is None:
        return []
    query = C.list_query(with_user=False).where(condition & (Conversation.user == user_id))
    return C.list_rows(C.newest_first(query).limit(C.PAGE_SIZE))


def optional_id(value):
    """-1, false and "" mean none."""
    if value in (None, False, "", -1, "-1", "false"):
        return None
    return value


@functions("new-conversation", role=AGENT)
def new_conversation(ctx, user_id: int, status_code: int = 1, title: str = "",
                     department: int | bool | None = None, agent_id: int | bool | None = None,
                     source: str | bool = "", extra: str | bool = "", extra_2: str | bool = "",
                     extra_3: str | bool = "", tags: str | list | bool = ""):
    U.require_user(user_id)
    agent_id = optional_id(agent_id)
    if agent_id is not None:
        require_agent(agent_id)
    if isinstance(tags, list):
        tags = ",".join(str(t).strip() for t in tags)
    conversation = C.create_conversation(
        ctx, user_id, status_code=C.check_status(status_code), title=U.check_name("title", title),
        department=optional_id(department), agent_id=agent_id,
        source=C.check_source(source or None), extra=extra or None, extra_2=extra_2 or None,
        extra_3=extra_3 or None, tags=tags or None)
    return C.full_conversation(conversation)


def require_agent(agent_id):
    agent = User.get_or_none((User.id == agent_id) & User.user_type.in_(AGENT_TYPES))
    if agent is None:
        raise ApiError("agent-not-found", f"No agent or admin has the ID {agent_id}.", 404)
    return agent


@functions("update-conversation-status", role=AGENT)
def update_conversation_status(ctx, conversation_id: int, status_code: str):
    code = C.check_status(status_code)
    conversation = C.get_conversation(conversation_id)
    if conversation is None:
        return True  # nothing to change: Support Board 3.8 answers true
    if conversation.status_code != code:
        C.update_conversation(ctx, conversation, status_code=code)
    return True


@functions("update-conversation-department", role=AGENT)
def update_conversation_department(ctx, conversation_id: int, department: int | bool,
                                   message: str = ""):
    conversation = C.require_conversation(conversation_id)
    C.update_conversation(ctx, conversation, department=optional_id(department))
    return True


@functions("update-conversation-agent", role=AGENT)
def update_conversation_agent(ctx, conversation_id: int, agent_id: int | bool, message: str = ""):
    conversation = C.require_conversation(conversation_id)
    agent_id = optional_id(agent_id)
    if agent_id is not None:
        require_agent(agent_id)
    C.update_conversation(ctx, conversation, agent_id=agent_id)
    return True


@functions("count-conversations", role=AGENT, read=True)
def count_conversations(ctx, status_code: str | int | bool = False):
    query = Conversation.select()
    if status_code not in (False, None, ""):
        query = query.where(Conversation.status_code == C.check_status(status_code))
    return str(query.count())  # a numeric string, as Support Board 3.8 counts


@functions("check-conversations-assignment", role=AGENT,
           spellings={"department_id": ("department",)})
def check_conversations_assignment(ctx, conversation_ids: IdList, agent_id: int | bool = False,
                                   department_id: int | bool = False):
    query = Conversation.select(Conversation.id).where(Conversation.id.in_(list(conversation_ids) or [0]))
    if agent_id is not False:
        query = query.where(Conversation.agent_id == agent_id)
    if department_id is not False:
        query = query.where(Conversation.department == department_id)
    return [row[0] for row in query.order_by(Conversation.id).tuples()]


def last_agent(conversation_id):
    return (User.select()
            .join(Message, on=(Message.user == User.id))
            .where((Message.conversation == conversation_id) & User.user_type.in_(AGENT_TYPES))
            .order_by(Message.id.desc()).first())


@functions("get-last-agent-in-conversation", role=AGENT)
def get_last_agent_in_conversation(ctx, conversation_id: int):
    agent = last_agent(conversation_id)
    if agent is None:
        return False
    # 3.8's keys (user_type, token, department) and the reference's (password, always "")
    return {"id": str(agent.id), "first_name": agent.first_name, "last_name": agent.last_name,
            "email": agent.email, "user_type": agent.user_type, "token": agent.token,
            "department": U.department_value(agent.department), "password": ""}


@functions("get-user-from-conversation", role=AGENT)
def get_user_from_conversation(ctx, conversation_id: int, agent: bool = False):
    if agent:
        user = last_agent(conversation_id)
    else:
        user = (User.select(User).join(Conversation, on=(Conversation.user == User.id))
                .where(Conversation.id == conversation_id).first())
    if user is None:
        return False
    row = U.user_row(user)  # Support Board 3.8's whole user (the reference shows id, email)
    row["password"] = ""
    return row


@functions("get-agents-in-conversation", role=AGENT)
def get_agents_in_conversation(ctx, conversation_id: IdList):
    rows = (User.select(User.id, User.first_name, User.last_name, User.profile_image,
                        Message.conversation.alias("conversation_id"), fn.MIN(Message.id).alias("first"))
            .join(Message, on=(Message.user == User.id))
            .where(Message.conversation.in_(list(conversation_id) or [0])
                   & User.user_type.in_(AGENT_TYPES))
            .group_by(User.id, User.first_name, User.last_name, User.profile_image, Message.conversation)
            .order_by(Message.conversation, fn.MIN(Message.id)).dicts())
    result = {}
    for row in rows:
        result.setdefault(str(row["conversation_id"]), []).append({
            "id": str(row["id"]), "first_name": row["first_name"], "last_name": row["last_name"],
            "profile_image": row["profile_image"], "conversation_id": str(row["conversation_id"])})
    return result or []  # 3.8: an empty array when no agent wrote
