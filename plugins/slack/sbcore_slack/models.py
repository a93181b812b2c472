"""The Slack plugin's tables and the migration that creates them (app ``slack``)."""

import peewee as pw

from sbcore import BaseModel
from sbcore.db import utcnow
from sbcore.migrations import Migration
from sbcore.models import Conversation, Message, User

PENDING, SENT, FAILED = "pending", "sent", "failed"


class SlackChannel(BaseModel):
    """A Slack channel and the conversation it belongs to (a channel made for a user
    without a conversation has none: its replies go to the user's newest conversation)."""

    channel = pw.CharField(max_length=64, unique=True)
    user = pw.ForeignKeyField(User, on_delete="CASCADE", index=True)
    conversation = pw.ForeignKeyField(Conversation, null=True, unique=True, on_delete="CASCADE")
    created = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_slack_channels"


class SlackOutbox(BaseModel):
    """A user's message to post in its conversation's Slack channel: written by the
    ``sbcore_on_message_sent`` hook in the message's transaction, sent by the worker
    (``status`` pending → sent, or failed after 24 hours of retries)."""

    message = pw.ForeignKeyField(Message, unique=True, on_delete="CASCADE")
    status = pw.CharField(max_length=16, default=PENDING)
    attempts = pw.IntegerField(default=0)
    created_ts = pw.DoubleField()
    next_attempt = pw.DoubleField(default=0)
    last_error = pw.TextField(default="")

    class Meta:
        table_name = "sb_slack_outbox"
        indexes = ((("status", "next_attempt"), False),)


MODELS = [SlackChannel, SlackOutbox]
MIGRATIONS = [
    Migration("slack", 1, "Slack channels of conversations; the outbox of users' messages",
              lambda database, migrator: database.create_tables(MODELS)),
]
