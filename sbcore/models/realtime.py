import peewee as pw

from ..db import BaseModel

AUDIENCE_ALL = "all"        # the conversation's visitor and the agents
AUDIENCE_AGENTS = "agents"  # the agents only


class StreamEvent(BaseModel):
    """One realtime event (a new message, typing, a status or assignment change,
    presence), written in the transaction of the change and published after its commit.
    The id is the stream's ``Last-Event-ID``; rows are kept a day (see sbcore.realtime)."""

    created_ts = pw.DoubleField(index=True)
    kind = pw.CharField(max_length=32)
    audience = pw.CharField(max_length=8, default=AUDIENCE_ALL)
    user_id = pw.IntegerField(null=True)          # the visitor (owner of the conversation)
    conversation_id = pw.IntegerField(null=True)
    data = pw.TextField()

    class Meta:
        table_name = "sb_stream_events"
        indexes = ((("user_id", "id"), False),)


class StreamTicket(BaseModel):
    """A single-use, short-lived ticket that opens one event stream (for readers that
    cannot send an Authorization header, such as ``EventSource``). Only its hash is kept."""

    ticket_hash = pw.CharField(max_length=64, primary_key=True)
    user_id = pw.IntegerField()
    expires = pw.DoubleField(index=True)

    class Meta:
        table_name = "sb_stream_tickets"
