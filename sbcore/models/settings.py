import peewee as pw

from ..db import BaseModel


class Setting(BaseModel):
    """A stored setting value, JSON-encoded. Defaults live in the settings registry."""

    name = pw.CharField(max_length=191, primary_key=True)
    value = pw.TextField()

    class Meta:
        table_name = "sb_settings"
