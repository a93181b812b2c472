import peewee as pw

from ..db import BaseModel
from .conversations import Message
from .users import User


class ChannelUser(BaseModel):
    """Who a messaging platform's user is here: (source, the platform's id) is unique,
    so two deliveries racing to create the same user cannot both win."""

    source = pw.CharField(max_length=8)
    external_id = pw.CharField(max_length=191)
    user = pw.ForeignKeyField(User, on_delete="CASCADE", index=True)

    class Meta:
        table_name = "sb_channel_users"
        indexes = ((("source", "external_id"), True),)


class ChannelMessage(BaseModel):
    """A platform's message id and the message it is here, received or sent: the unique
    (source, external_id) makes a repeated delivery store nothing. ``message`` is empty
    only inside the transaction that claims the id."""

    source = pw.CharField(max_length=8)
    external_id = pw.CharField(max_length=191)
    message = pw.ForeignKeyField(Message, null=True, on_delete="CASCADE", index=True)

    class Meta:
        table_name = "sb_channel_messages"
        indexes = ((("source", "external_id"), True),)
