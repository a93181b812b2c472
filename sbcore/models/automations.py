import peewee as pw

from ..db import BaseModel, utcnow
from .users import User


class AutomationSent(BaseModel):
    """An automation that went to a user (once, or once per ``repeat_id`` period)."""

    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    automation_id = pw.CharField(max_length=32)
    repeat_id = pw.CharField(max_length=32, default="")
    sent = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_automations_sent"
        indexes = ((("user", "automation_id", "repeat_id"), True),)
