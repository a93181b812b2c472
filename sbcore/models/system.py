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


class VisitorUpload(BaseModel):
    """One file a visitor uploaded (its size), for the per-visitor hourly upload bounds."""

    user_id = pw.IntegerField()
    time = pw.DateTimeField(default=utcnow)
    size = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "sb_visitor_uploads"
        indexes = ((("user_id", "time"), False),)
