import peewee as pw

from ..db import BaseModel, utcnow


class AppliedMigration(BaseModel):
    app = pw.CharField(max_length=64)
    number = pw.IntegerField()
    name = pw.CharField(max_length=191)
    applied = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_migrations"
        primary_key = pw.CompositeKey("app", "number")


class JobRun(BaseModel):
    """When a scheduled job last ran, and who holds it now (a lease, so that
    several workers never run the same job at once)."""

    name = pw.CharField(max_length=191, primary_key=True)
    last_run = pw.DateTimeField(null=True)
    lease_until = pw.DoubleField(default=0)
    lease_owner = pw.CharField(max_length=64, default="")

    class Meta:
        table_name = "sb_jobs"


class RateHit(BaseModel):
    """One counted request (a registration or login) from one address, for the visitor
    API's rate limit; rows older than the window are removed as new ones arrive."""

    key = pw.CharField(max_length=191)
    time = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_rate_hits"
        indexes = ((("key", "time"), False),)


class PipedEmail(BaseModel):
    """An email that email piping has read, by its Message-ID (or the hash of the
    raw email when it has none): stored once (the unique key), or counted failures
    until it is quarantined."""

    key = pw.CharField(max_length=191, unique=True)
    stored = pw.BooleanField(default=False)
    failures = pw.IntegerField(default=0)
    last_error = pw.CharField(max_length=500, default="")
    updated = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_piped_emails"

