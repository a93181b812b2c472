import peewee as pw

from ..db import BaseModel, utcnow
from .users import User


class Conversation(BaseModel):
    user = pw.ForeignKeyField(User, backref="conversations", on_delete="CASCADE")
    title = pw.CharField(max_length=191, default="")
    creation_time = pw.DateTimeField(default=utcnow, index=True)
    status_code = pw.SmallIntegerField(default=0)
    department = pw.IntegerField(null=True)
    agent_id = pw.IntegerField(null=True)
    source = pw.CharField(max_length=8, default="")
    extra = pw.TextField(default="")
    tags = pw.CharField(max_length=512, default="")

    class Meta:
        table_name = "sb_conversations"


class Message(BaseModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    message = pw.TextField(default="")
    creation_time = pw.DateTimeField(default=utcnow)
    status_code = pw.SmallIntegerField(default=0)
    attachments = pw.TextField(default="")
    payload = pw.TextField(default="")
    conversation = pw.ForeignKeyField(Conversation, backref="messages", on_delete="CASCADE")

    class Meta:
        table_name = "sb_messages"
        indexes = ((("conversation", "id"), False),)
