import peewee as pw

from ..db import BaseModel, utcnow
from .users import User

STATUS_CODES = (0, 1, 2, 3, 4)  # live, waiting for the user, waiting for an agent, archive, trash
INBOX_STATUSES = (0, 1, 2)


def box_of(status_code):
    return 0 if status_code in INBOX_STATUSES else status_code


class Conversation(BaseModel):
    # user_id, agent_id and (below) conversation_id lead a composite index, which serves
    # their lookups: no index of their own (migration 110 drops the old ones)
    user = pw.ForeignKeyField(User, backref="conversations", on_delete="CASCADE", index=False)
    title = pw.CharField(max_length=191, default="")
    creation_time = pw.DateTimeField(default=utcnow, index=True)
    status_code = pw.SmallIntegerField(default=1)
    department = pw.IntegerField(null=True, index=True)
    agent_id = pw.IntegerField(null=True)
    source = pw.CharField(max_length=8, null=True, index=True)
    extra = pw.TextField(null=True)
    extra_2 = pw.TextField(null=True)
    extra_3 = pw.TextField(null=True)
    tags = pw.CharField(max_length=512, null=True)
    # Denormalised so that the inbox is one indexed query: the time of the last
    # message (or of the creation) and the id of the last message.
    last_update_time = pw.DateTimeField(default=utcnow, index=True)
    last_message_id = pw.IntegerField(null=True)
    # 0 while the conversation is in the inbox (status 0, 1 or 2), else its status: the
    # inbox is then one range of the (box, last_update_time) index, with no sort.
    box = pw.SmallIntegerField(default=0)

    class Meta:
        table_name = "sb_conversations"
        indexes = ((("box", "last_update_time"), False),
                   (("status_code", "last_update_time"), False),
                   (("user", "last_update_time"), False),
                   # the workspace's "assigned to me" and "unassigned" inboxes (migration 41)
                   (("agent_id", "box", "last_update_time"), False))


class Message(BaseModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    message = pw.TextField(default="")
    creation_time = pw.DateTimeField(default=utcnow)
    status_code = pw.SmallIntegerField(default=0)
    attachments = pw.TextField(default="")
    payload = pw.TextField(default="")
    conversation = pw.ForeignKeyField(Conversation, backref="messages", on_delete="CASCADE",
                                      index=False)

    class Meta:
        table_name = "sb_messages"
        indexes = ((("conversation", "id"), False), (("conversation", "creation_time"), False))


class Note(BaseModel):
    """An internal note of an agent on a conversation."""

    conversation = pw.ForeignKeyField(Conversation, on_delete="CASCADE")
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    name = pw.CharField(max_length=191, default="")
    message = pw.TextField(default="")
    creation_time = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_notes"


class Rating(BaseModel):
    """A conversation's rating (1 positive, 0 negative), counted for its agent."""

    conversation = pw.ForeignKeyField(Conversation, primary_key=True, on_delete="CASCADE")
    agent_id = pw.IntegerField(null=True, index=True)
    rating = pw.SmallIntegerField()
    creation_time = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_ratings"


class BotMessageSent(BaseModel):
    """When a bot message (welcome, follow_up, offline) last went to a user."""

    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    name = pw.CharField(max_length=32)
    sent = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_bot_messages_sent"
        indexes = ((("user", "name"), True),)


class ConversationAgent(BaseModel):
    """Who of the agents replied in a conversation, first and last: kept by send-message
    so that reports and routing never scan the messages."""

    conversation = pw.ForeignKeyField(Conversation, on_delete="CASCADE", index=False)
    agent = pw.ForeignKeyField(User, on_delete="CASCADE", index=True)
    first_reply = pw.DateTimeField()
    last_reply = pw.DateTimeField()

    class Meta:
        table_name = "sb_conversation_agents"
        indexes = ((("conversation", "agent"), True),)
