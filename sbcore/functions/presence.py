"""Typing indicators and the current URL of a visitor."""

from .. import users as U
from ..errors import invalid_argument
from ..models import User
from ..models.users import AGENT_TYPES
from ..realtime import events as realtime
from ..registry import AGENT, FunctionSet

functions = FunctionSet()


sbcore_register_functions = functions.hook()


@functions("set-typing", role=AGENT)
def set_typing(ctx, user_id: int, conversation_id: int | bool):
    U.require_user(user_id)
    if conversation_id is False or conversation_id is True or conversation_id < 0:
        ctx.presence.clear_typing(user_id)
    else:
        seconds = ctx.settings.get("presence-typing-seconds")
        ctx.presence.set_typing(user_id, conversation_id, seconds)
        ctx.presence.touch(user_id)
        realtime.typing(ctx, user_id, conversation_id, seconds)
    return True


@functions("is-typing", role=AGENT)
def is_typing(ctx, user_id: int, conversation_id: int):
    return user_id in ctx.presence.typing_in(conversation_id)


@functions("is-agent-typing", role=AGENT)
def is_agent_typing(ctx, conversation_id: int):
    ids = ctx.presence.typing_in(conversation_id)
    if not ids:
        return ""  # Support Board 3.8's answer when nobody types (the reference: false)
    agent = (User.select(User.id, User.first_name, User.last_name)
             .where(User.id.in_(ids) & User.user_type.in_(AGENT_TYPES)).order_by(User.id).first())
    if agent is None:
        return ""
    return {"id": str(agent.id), "first_name": agent.first_name, "last_name": agent.last_name}


@functions("current-url", role=AGENT)
def current_url(ctx, user_id: int, url: str = ""):
    if url:
        U.require_user(user_id)
        if len(url) > 512 or not url.lower().startswith(("http://", "https://")):
            raise invalid_argument("url", "an http or https URL of at most 512 characters.")
        U.set_details(user_id, [("current_url", url, "Current URL")])
        ctx.presence.touch(user_id)
        return True
    value = U.detail_value(user_id, "current_url")
    return value if value else False
