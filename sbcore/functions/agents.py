"""Agents, presence and the bot."""

from .. import users as U
from ..models import User
from ..models.users import AGENT_TYPES
from ..registry import AGENT, FunctionSet, IdList
from .users import ensure_bot, sort_order

functions = FunctionSet()


sbcore_register_functions = functions.hook()


def online_window(ctx):
    return ctx.settings.get("presence-online-seconds")


@functions("get-agent", role=AGENT)
def get_agent(ctx, agent_id: int):
    agent = User.get_or_none((User.id == agent_id) & User.user_type.in_(AGENT_TYPES))
    if agent is None:
        return False
    return U.user_full(agent, U.details_of([agent.id]).get(agent.id, []))


@functions("get-agents-ids", role=AGENT)
def get_agents_ids(ctx, admins: bool = True):
    query = User.select(User.id).where(User.user_type.in_(U.agent_types(admins)))
    return [row[0] for row in query.order_by(User.id).tuples()]


@functions("agents-online", role=AGENT)
def agents_online(ctx):
    return User.select(User.id).where(
        User.user_type.in_(AGENT_TYPES) & ctx.presence.online_filter(online_window(ctx))).exists()


@functions("get-online-users", role=AGENT)
def get_online_users(ctx, exclude_id: IdList | None = None, sorting: str | list = "creation_time",
                     agents: bool = False):
    query = User.select().where((User.user_type != "bot")
                                & ctx.presence.online_filter(online_window(ctx)))
    if exclude_id:
        query = query.where(User.id.not_in(list(exclude_id)))
    if agents:
        query = query.where(User.user_type.in_(AGENT_TYPES))
    return U.list_users(query.order_by(*sort_order(sorting)).limit(1000))


@functions("is-online", role=AGENT)
def is_online(ctx, user_id: int):
    return ctx.presence.is_online(user_id, online_window(ctx))


@functions("get-bot-id", role=AGENT)
def get_bot_id(ctx):
    return str(ensure_bot(ctx).id)  # a numeric string, as Support Board 3.8 reads it


@functions("update-bot")
def update_bot(ctx, name: str = "", profile_image: str = ""):
    bot = ensure_bot(ctx)
    changes = {}
    if name.strip():
        changes["first_name"] = U.check_name("name", name)
        changes["last_name"] = ""
    if profile_image.strip():
        changes["profile_image"] = profile_image.strip()
    if changes:
        User.update(**changes).where(User.id == bot.id).execute()
        U.reindex([bot.id])
    return True
