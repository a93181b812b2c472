"""The Slack plugin's tables and the migration that creates them (app ``slack``)."""

import peewee as pw

from sbcore import BaseModel
from sbcore.db import utcnow
from sbcore.migrations import Migration
from sbcore.models import Conversation, Message, User
from sbcore.models.events import LeasedRow

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


class SlackOutbox(LeasedRow):
    """A user's message to post in its conversation's Slack channel: written by the
    ``sbcore_on_message_sent`` hook in the message's transaction, sent by the worker
    (``status`` pending → sent, or failed after 24 hours of retries). Rows are leased
    to one worker at a time, as the core's outboxes are (``sbcore.worker.claim_due``)."""

    message = pw.ForeignKeyField(Message, unique=True, on_delete="CASCADE")

    class Meta:
        table_name = "sb_slack_outbox"


MODELS = [SlackChannel, SlackOutbox]
def add_leases(database, migrator):
    """The outbox rows gain the lease columns of the core's outboxes (a table made by
    migration 1 from today's model has them already)."""
    from playhouse.migrate import migrate
    present = {column.name for column in database.get_columns(SlackOutbox._meta.table_name)}
    wanted = [name for name in ("created", "lease_until", "lease_owner") if name not in present]
    migrate(*(migrator.add_column(SlackOutbox._meta.table_name, name, SlackOutbox._meta.fields[name])
              for name in wanted))


MIGRATIONS = [
    Migration("slack", 1, "Slack channels of conversations; the outbox of users' messages",
              lambda database, migrator: database.create_tables(MODELS)),
    Migration("slack", 2, "leases on the outbox of users' messages", add_leases),
]
