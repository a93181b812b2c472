import peewee as pw

from ..db import BaseModel, utcnow

PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"


class LeasedRow(BaseModel):
    """The columns of an outbox row that workers deliver: due at ``next_attempt``, leased
    to one worker at a time, retried until delivered or failed (see
    ``sbcore.worker.claim_due``). Not a table itself."""

    created = pw.DateTimeField(default=utcnow, index=True)
    created_ts = pw.DoubleField()
    status = pw.CharField(max_length=16, default=PENDING)
    attempts = pw.IntegerField(default=0)
    next_attempt = pw.DoubleField(default=0)
    lease_until = pw.DoubleField(default=0)
    lease_owner = pw.CharField(max_length=64, default="")
    last_error = pw.TextField(default="")

    class Meta:
        indexes = ((("status", "next_attempt"), False),)


class Event(LeasedRow):
    """One webhook event: written in the transaction of the change that caused it, then
    delivered by a worker (``status`` pending → delivered, or failed after 24 hours of
    retries). Events that webhooks are not set up to send are kept as ``skipped`` for
    the ``get-events`` pull feed while ``webhooks-feed`` is on, else not written. The
    id is the feed's cursor."""

    name = pw.CharField(max_length=64)
    data = pw.TextField()
    delivery_id = pw.CharField(max_length=40, unique=True)
    delivered = pw.DateTimeField(null=True)

    class Meta:
        table_name = "sb_events"
