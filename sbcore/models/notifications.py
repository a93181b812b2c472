import peewee as pw

from .events import FAILED, PENDING, LeasedRow
from .users import User

SENT = "sent"
__all__ = ["Notification", "PENDING", "SENT", "FAILED"]


class Notification(LeasedRow):
    """One notification to one recipient through one channel (``email`` …): written in
    the transaction of the message that caused it, sent by a worker after commit
    (``status`` pending → sent, or failed), with a lease so that two workers never send
    the same one. ``data`` is JSON: the address and what the channel needs."""

    channel = pw.CharField(max_length=32)
    # a deleted user is sent nothing more: their rows go with them
    recipient = pw.ForeignKeyField(User, null=True, on_delete="CASCADE")
    data = pw.TextField()
    sent = pw.DateTimeField(null=True)

    class Meta:
        table_name = "sb_notifications"
