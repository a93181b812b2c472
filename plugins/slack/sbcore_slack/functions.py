"""Slack: send-slack-message, slack-users, slack-channels, slack-presence and
archive-slack-channels, and the sending that the outbox (outbox.py) shares.

Each conversation gets a Slack channel (``sb_slack_channels``), made when its first
message is sent there; the users' messages are posted in it under the user's name and
picture, and what an agent writes in it comes back into the conversation (inbound.py).
A Slack user is an agent when the setting ``slack-agents`` links them, or else when
their Slack email is the agent's."""

import logging
import re
import secrets
from urllib.parse import urlsplit

from peewee import IntegrityError

from sbcore import ApiError, FunctionSet
from sbcore import conversations as C
from sbcore import users as U
from sbcore.errors import invalid_argument
from sbcore.models import ChannelMessage, Conversation, User
from sbcore.models.users import AGENT_TYPES
from sbcore.settings import Setting, invalid, options_of

from .client import DEFAULT_URL, SlackError, WebApi
from .models import SlackChannel
from sbcore.registry import Attachments

log = logging.getLogger("sbcore.slack")
functions = FunctionSet()
SOURCE = "slack"  # the source of the Slack message ids kept in sb_channel_messages
DEFAULTS = {"slack-active": False, "slack-token": "", "slack-signing-secret": ""}
SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")
NAME_MAX = 80  # Slack's longest channel name
# conversations.archive errors that leave a channel as it is
NOT_ARCHIVABLE = ("already_archived", "cant_archive_general", "cant_archive_required",
                  "method_not_supported_for_channel_type")


def check_agents(value):
    if not isinstance(value, dict):
        raise invalid("slack-agents", 'an object {"<Slack user ID>": "<agent ID>"}.')
    for slack_id, agent_id in value.items():
        if not SLACK_ID.match(str(slack_id)) or not str(agent_id).isdecimal():
            raise invalid("slack-agents", 'an object {"<Slack user ID>": "<agent ID>"}, '
                                          'such as {"U328T701Z": "445"}.')
    return {str(k): str(v) for k, v in value.items()}


SETTINGS = [
    Setting("slack", "multi-input", dict(DEFAULTS),
            "Slack: slack-active, slack-token (the app's bot token, xoxb-…), slack-signing-secret (the "
            "app's signing secret, which checks the Events API requests at /channels/slack/events). "
            "Slack is active when slack-active is on and the token is set.",
            options_of("slack", DEFAULTS)),
    Setting("slack-url", "text", DEFAULT_URL, "Slack's Web API base URL (SB_URL_SLACK overrides)."),
    Setting("slack-agents", "json", {},
            'Slack users linked to agents: {"<Slack user ID>": "<agent ID>"}; a Slack user not listed is '
            "the agent with the same email.", check_agents),
]


def api(ctx):
    """The Web API client; ApiError ``slack-not-active`` when Slack is off or has no token."""
    options = ctx.settings.options("slack")
    if not options["slack-active"] or not str(options["slack-token"]).strip():
        raise ApiError("slack-not-active", "Slack is not active: turn on slack-active and set slack-token "
                       "in the setting slack.", 400)
    return WebApi(ctx, str(options["slack-token"]).strip())


def is_active(ctx):
    options = ctx.settings.options("slack")
    return bool(options["slack-active"] and str(options["slack-token"]).strip())


# --- agents and Slack users ---


def full_name(user):
    return " ".join(part for part in (user.first_name, user.last_name) if part).strip()


def agents():
    return list(User.select().where(User.user_type.in_(AGENT_TYPES)).order_by(User.id))


def links(ctx, members):
    """Slack user ID → agent ID (text): the setting ``slack-agents``, then equal emails."""
    staff = agents()
    ids = {str(agent.id) for agent in staff}
    saved = {k: v for k, v in (ctx.settings.get("slack-agents") or {}).items() if v in ids}
    by_email = {agent.email.strip().lower(): str(agent.id) for agent in staff if agent.email}
    for member in members:
        email = str((member.get("profile") or {}).get("email") or "").strip().lower()
        if member.get("id") and member["id"] not in saved and email in by_email and not member.get("deleted"):
            saved[member["id"]] = by_email[email]
    return saved


def people(members):
    """The Slack users who can be agents: not deleted, not bots (nor Slackbot)."""
    return [m for m in members if m.get("id") and not m.get("deleted") and not m.get("is_bot")
            and m["id"] != "USLACKBOT"]


def member_name(member):
    profile = member.get("profile") or {}
    return member.get("real_name") or profile.get("real_name") or profile.get("display_name") or member.get("name") or ""


def agent_of(ctx, slack, slack_user):
    """The agent a Slack user is, or None (the setting, else users.info's email)."""
    saved = (ctx.settings.get("slack-agents") or {}).get(slack_user)
    if saved:
        return User.get_or_none((User.id == int(saved)) & User.user_type.in_(AGENT_TYPES))
    email = str((slack.user_info(slack_user).get("profile") or {}).get("email") or "").strip().lower()
    if not email:
        return None
    return (User.select().where(User.user_type.in_(AGENT_TYPES) & (User.email == email))
            .order_by(User.id).first())


# --- channels ---


def channel_name(user, conversation_id):
    """A channel name Slack takes: lower-case letters, digits, hyphens and underscores."""
    slug = re.sub(r"[^a-z0-9_]+", "-", full_name(user).lower()).strip("-") or "user"
    suffix = f"-{conversation_id}" if conversation_id else f"-u{user.id}"
    return slug[:NAME_MAX - len(suffix)].strip("-") + suffix


def make_channel(core, slack, user, conversation_id, replace=None):
    """Create a channel for the conversation (or the user) and keep it; ``replace`` is
    an archived or vanished channel it takes the place of."""
    name = channel_name(user, conversation_id)
    try:
        channel = slack.create_channel(name)["id"]
    except SlackError as error:
        if error.error != "name_taken":
            raise
        channel = slack.create_channel(f"{name[:NAME_MAX - 7]}-{secrets.token_hex(3)}")["id"]
    with core.database.atomic():
        if replace is not None:
            SlackChannel.update(channel=channel).where(SlackChannel.channel == replace).execute()
            return channel
        try:
            with core.database.atomic():
                SlackChannel.create(channel=channel, user=user.id, conversation=conversation_id)
        except IntegrityError:  # another call made one at the same time: post there
            row = SlackChannel.get_or_none(SlackChannel.conversation == conversation_id) if conversation_id else None
            if row is not None:
                return row.channel
            raise
    return channel


def channel_of(conversation_id, user):
    if conversation_id:
        row = SlackChannel.get_or_none(SlackChannel.conversation == conversation_id)
    else:
        row = (SlackChannel.select().where((SlackChannel.user == user.id) & SlackChannel.conversation.is_null())
               .order_by(SlackChannel.id.desc()).first())
    return row.channel if row else None


def newest_conversation(user_id):
    row = (Conversation.select(Conversation.id).where((Conversation.user == user_id) & (Conversation.status_code != 4))
           .order_by(Conversation.id.desc()).first())
    return row.id if row else None


# --- sending ---


def escape(text):
    """Slack's control characters in message text (https://docs.slack.dev/messaging/formatting-message-text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(message, attachments):
    lines = [escape(message)] if message.strip() else []
    for name, url in attachments:
        lines.append(f"<{url}|{escape(name).replace('|', '-')}>")
    return "\n".join(lines)


def icon_url(url):
    """A picture Slack shows beside the message: an http(s) URL, not an SVG (Slack takes
    PNG and JPG), else None (the app's own icon)."""
    url = str(url or "").strip()
    if not url.startswith(("https://", "http://")) or urlsplit(url).path.lower().endswith(".svg"):
        return None
    return url


def send(ctx, user_id, full_name_=None, profile_image=None, message="", attachments=None, channel=None,
         conversation_id=None):
    """Post a message in Slack for user ``user_id``: in ``channel`` when given, else in
    the conversation's channel (the user's newest conversation without one), made when
    missing. Answers ``(channel, Slack's answer, conversation id)``. A network call: no
    transaction may be open."""
    slack = api(ctx)
    core = ctx.core
    user = U.require_user(user_id)
    if conversation_id:
        conversation_id = C.require_conversation(conversation_id).id
    stored = C.check_attachments(attachments or [])
    attachments = C.attachment_list(stored)
    text = slack_text(message or "", attachments)
    if not text:
        raise ApiError("empty-message", "A message needs text or attachments.")
    if channel:
        channel = str(channel).strip()
        if not SLACK_ID.match(channel):
            raise invalid_argument("channel", "a Slack channel ID, such as C011JFFGSKY.")
        known = SlackChannel.get_or_none(SlackChannel.channel == channel)
        if known is not None and not conversation_id:
            conversation_id = known.conversation_id
    else:
        conversation_id = conversation_id or newest_conversation(user.id)
        known = channel_of(conversation_id, user)
        channel = known or make_channel(core, slack, user, conversation_id)
    username = (full_name_ or full_name(user) or "User")[:80]
    icon = icon_url(profile_image) or icon_url(user.profile_image)
    try:
        answer = slack.post_message(channel, text, username, icon)
    except SlackError as error:
        if error.error == "not_in_channel":  # a channel the bot was never in
            slack.join(channel)
        elif known and error.error in ("is_archived", "channel_not_found"):  # ours, archived or deleted
            channel = make_channel(core, slack, user, conversation_id, replace=channel)
        else:
            raise
        answer = slack.post_message(channel, text, username, icon)
    if not known:  # a channel of the caller's: replies in it will come to this user
        with core.database.atomic():
            SlackChannel.insert(channel=channel, user=user.id, conversation=None).on_conflict_ignore().execute()
    return channel, answer, conversation_id


def sent_data(message, conversation_id, channel):
    """The data of the slack-message-sent webhook."""
    return {"message": message, "conversation_id": str(conversation_id) if conversation_id else None,
            "slack_channel": channel}


def record_sent(channel, answer, message_id=None):
    """After a post: its id (channel and ts), so that Slack's echo of it is never stored."""
    ChannelMessage.insert(source=SOURCE, external_id=f"{channel}:{answer.get('ts', '')}"[:191],
                          message=message_id).on_conflict_ignore().execute()


@functions("send-slack-message", transaction=False)  # calls Slack: holds no transaction
def send_slack_message(ctx, user_id: int, full_name: str = "", profile_image: str = "", message: str = "",
                       attachments: Attachments | None = None, channel: str = "", conversation_id: int | bool = False):
    if channel.strip().lower() in ("", "false", "-1", "null"):
        channel = None  # none given: the conversation's (or the user's) channel
    channel, answer, conversation_id = send(ctx, user_id, full_name, profile_image, message, attachments,
                                            channel, conversation_id or None)
    with ctx.core.database.atomic():
        record_sent(channel, answer)
        ctx.emit("slack-message-sent", sent_data(message, conversation_id, channel))
    return [channel]


@functions("slack-users", transaction=False)
def slack_users(ctx):
    members = api(ctx).users()
    return {"slack_users": [{"id": m["id"], "name": member_name(m)} for m in people(members)],
            "agents": [{"id": str(a.id), "name": full_name(a)} for a in agents()],
            "saved": links(ctx, members)}


@functions("slack-channels", transaction=False)
def slack_channels(ctx):
    channels = api(ctx).channels(exclude_archived=False)
    return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}


@functions("slack-presence", transaction=False)
def slack_presence(ctx, agent_id: int | bool = False, list: bool = False):  # noqa: A002 (the reference's name)
    slack = api(ctx)
    linked = links(ctx, slack.users())
    if agent_id is not False:
        U.require_user(agent_id)
        mine = [slack_id for slack_id, agent in linked.items() if agent == str(agent_id)]
        return "online" if any(slack.presence(s) == "active" for s in mine) else "offline"
    if list:
        online = {agent for slack_id, agent in linked.items() if slack.presence(slack_id) == "active"}
        return sorted(online, key=int)
    return "online" if any(slack.presence(s) == "active" for s in linked) else "offline"


@functions("archive-slack-channels", transaction=False)
def archive_slack_channels(ctx):
    slack = api(ctx)
    archived = []
    for channel in slack.channels(exclude_archived=True):
        if channel.get("is_archived") or channel.get("is_general"):
            continue
        try:
            try:
                slack.archive(channel["id"])
            except SlackError as error:
                if error.error != "not_in_channel":
                    raise
                slack.join(channel["id"])
                slack.archive(channel["id"])
        except SlackError as error:
            if error.error in NOT_ARCHIVABLE:
                continue
            raise
        archived.append(channel["id"])
        with ctx.core.database.atomic():  # their conversations get new channels when next written
            SlackChannel.delete().where(SlackChannel.channel == channel["id"]).execute()
    return True
