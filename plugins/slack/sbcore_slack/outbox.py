"""Users' messages to Slack: ``sbcore_on_message_sent`` writes a row of
``sb_slack_outbox`` in the message's transaction (when Slack is active and the sender is
a user, not an agent or the bot); the worker's ``slack-outbox`` job posts it in the
conversation's channel after the commit and fires ``slack-message-sent``. A failure is
retried with backoff for 24 hours, then the row is parked as ``failed``."""

import logging
import time

from sbcore import ApiError
from sbcore import conversations as C
from sbcore.models import Message, User
from sbcore.models.users import AGENT_TYPES
from sbcore.webhooks import backoff
from sbcore import db as dbmod
from sbcore.worker import Job, claim_due, new_owner

from . import functions as F
from .models import FAILED, PENDING, SENT, SlackOutbox

log = logging.getLogger("sbcore.slack")
RETRY_FOR = 24 * 3600
BATCH = 50
INTERVAL = 2.0  # seconds between two runs of the job
LEASE = 300.0   # seconds a worker holds the rows it claimed


def queue(ctx, message, conversation):
    """The event hook: a row, nothing else (the post happens after the commit)."""
    if not F.is_active(ctx):
        return
    sender = User.get_or_none(User.id == message.user_id)
    if sender is None or sender.user_type in AGENT_TYPES or sender.user_type == "bot":
        return
    SlackOutbox.create(message=message.id, created_ts=time.time(), next_attempt=0)


def deliver(ctx, row):
    """Post one row's message; answers the webhook's data."""
    message = Message.get_by_id(row.message_id)
    sender = User.get_by_id(message.user_id)
    channel, answer, conversation_id = F.send(
        ctx, sender.id, F.full_name(sender), sender.profile_image, message.message,
        C.attachment_list(message.attachments), None, message.conversation_id)
    return channel, answer, F.sent_data(message.message, conversation_id, channel)


def run(ctx):
    """The job: every due row once, each post outside any transaction. Rows are leased
    to this run, and its results written only while it still holds them, so a slow
    batch is never posted twice by another worker."""
    core = ctx.core
    owner = new_owner()
    rows = dbmod.in_transaction_retrying(core.database, lambda: claim_due(
        SlackOutbox, time.time(), owner, BATCH, LEASE))
    mine = (SlackOutbox.lease_owner == owner)
    for row in rows:
        ctx = core.context()
        try:
            channel, answer, data = deliver(ctx, row)
        except Exception as error:  # one broken row never stops the others
            if not isinstance(error, ApiError):
                log.exception("Slack: message %s", row.message_id)
                error = ApiError("internal-error", f"{type(error).__name__}: {error}", 502)
            # our refusals (slack-not-active, empty-message) are final; Slack's failures retry
            give_up = error.status != 502 or time.time() - row.created_ts >= RETRY_FOR
            log.warning("Slack: message %s not posted (attempt %d): %s", row.message_id, row.attempts + 1,
                        error.message)
            with core.database.atomic():
                SlackOutbox.update(status=FAILED if give_up else PENDING, attempts=row.attempts + 1,
                                   next_attempt=time.time() + backoff(row.attempts + 1), lease_until=0,
                                   last_error=error.message[:1000]).where(
                    (SlackOutbox.id == row.id) & mine).execute()
            continue
        with core.database.atomic():
            SlackOutbox.update(status=SENT, attempts=row.attempts + 1, last_error="", lease_until=0).where(
                (SlackOutbox.id == row.id) & mine).execute()
            F.record_sent(channel, answer, row.message_id)
            ctx.emit("slack-message-sent", data)
        core.outbox_signal.set()  # the webhook goes out now


JOBS = [Job("slack-outbox", INTERVAL, run, transaction=False)]
