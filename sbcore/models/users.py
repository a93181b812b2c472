import peewee as pw

from ..db import BaseModel, utcnow

USER_TYPES = ("visitor", "lead", "user", "agent", "admin", "bot")
AGENT_TYPES = ("agent", "admin")


class User(BaseModel):
    first_name = pw.CharField(max_length=191, default="", index=True)
    last_name = pw.CharField(max_length=191, default="", index=True)
    password = pw.CharField(max_length=100, default="")
    email = pw.CharField(max_length=191, null=True, unique=True)
    profile_image = pw.CharField(max_length=512, default="")
    user_type = pw.CharField(max_length=16, default="visitor", index=True)
    creation_time = pw.DateTimeField(default=utcnow, index=True)
    last_activity = pw.DateTimeField(default=utcnow, index=True)
    token = pw.CharField(max_length=64, unique=True)
    department = pw.IntegerField(null=True)
    # "" (set by staff), "claimed" (typed in the widget) or "verified" (see sbcore.identity)
    email_status = pw.CharField(max_length=16, default="")

    class Meta:
        table_name = "sb_users"

    @property
    def is_agent(self):
        return self.user_type in AGENT_TYPES


class UserDetail(BaseModel):
    """An additional user detail (Support Board's ``extra``): slug, name, value."""

    user = pw.ForeignKeyField(User, backref="details", on_delete="CASCADE", index=False)
    slug = pw.CharField(max_length=64)
    name = pw.CharField(max_length=191, default="")
    value = pw.CharField(max_length=512, default="")

    class Meta:
        table_name = "sb_user_data"
        indexes = ((("user", "slug"), True), (("slug", "value"), False))


class LoginSession(BaseModel):
    """A login cookie's server side: logout deletes it, so the cookie stops working."""

    id = pw.CharField(max_length=64, primary_key=True)
    user = pw.ForeignKeyField(User, on_delete="CASCADE", index=True)
    created = pw.DateTimeField(default=utcnow)
    expires = pw.DateTimeField(index=True)

    class Meta:
        table_name = "sb_sessions"


class WorkspaceSession(BaseModel):
    """A sign-in to the agent workspace (``/admin``): the cookie holds a random token,
    the row its SHA-256 (a copy of the table signs nobody in), the CSRF token of the
    page, and a stamp of the password it was opened with (a new password ends it)."""

    id = pw.CharField(max_length=64, primary_key=True)
    user = pw.ForeignKeyField(User, on_delete="CASCADE", index=True)
    csrf = pw.CharField(max_length=64)
    stamp = pw.CharField(max_length=64)
    created = pw.DateTimeField(default=utcnow)
    expires = pw.DateTimeField(index=True)

    class Meta:
        table_name = "sb_workspace_sessions"


class Typing(BaseModel):
    """Who is typing where, until when (epoch seconds), when presence is in the database."""

    user = pw.ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    conversation_id = pw.IntegerField(index=True)
    until = pw.DoubleField()

    class Meta:
        table_name = "sb_typing"


class UserCount(BaseModel):
    """How many users of a type there are, in SHARDS rows per type (the row of a user is
    its id modulo SHARDS, so that concurrent sign-ups rarely wait on the same row): kept
    by database triggers on ``sb_users`` (see ``sbcore.user_counts``), read by
    count-users instead of counting the table."""

    user_type = pw.CharField(max_length=16)
    shard = pw.IntegerField()
    n = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "sb_user_counts"
        primary_key = pw.CompositeKey("user_type", "shard")
