import peewee as pw

from ..db import BaseModel, utcnow


class ReportRow(BaseModel):
    """One counted event of a report kind (direct messages, emails, SMS, automations,
    article searches and views …): reports-update writes them, reports counts them."""

    name = pw.CharField(max_length=64)
    value = pw.TextField(null=True)
    external_id = pw.CharField(max_length=191, null=True)
    extra = pw.TextField(null=True)
    creation_time = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_reports"
        indexes = ((("name", "creation_time"), False),)
