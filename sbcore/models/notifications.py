import peewee as pw

from ..db import BaseModel, utcnow
from .events import FAILED, PENDING
from .users import User

SENT = "sent"
__all__ = ["Notification", "PENDING", "SENT", "FAILED"]


class Notification(BaseModel):
    """One notification to one recipient through one channel (``email`` …): written in
    the transaction of the message that caused it, sent by a worker after commit
    (``status`` pending → sent, or failed), with a lease so that two workers never send
    the same one. ``data`` is JSON: the address and what the channel needs."""

    channel = pw.CharField(max_length=32)
    # a deleted user is sent nothing more: their rows go with them
    recipient = pw.ForeignKeyField(User, null=True, on_delete="CASCADE")
    data = pw.TextField()
    created = pw.DateTimeField(default=utcnow, index=True)
    created_ts = pw.DoubleField()
    status = pw.CharField(max_length=16, default=PENDING)
    attempts = pw.IntegerField(default=0)
    next_attempt = pw.DoubleField(default=0)
    lease_until = pw.DoubleField(default=0)
    lease_owner = pw.CharField(max_length=64, default="")
    sent = pw.DateTimeField(null=True)
    last_error = pw.TextField(default="")

    class Meta:
        table_name = "sb_notifications"
        indexes = ((("status", "next_attempt"), False),)
