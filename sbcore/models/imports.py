import peewee as pw

from ..db import BaseModel


class ImportedId(BaseModel):
    """Which row here an imported row became: ``kind`` (users, conversations, messages,
    articles, notes), the source's id and the id here. Written for every imported user,
    conversation, article and note (later batches and runs look their references up here),
    and for a message only when its id changed."""

    kind = pw.CharField(max_length=16)
    source_id = pw.CharField(max_length=64)
    target_id = pw.BigIntegerField()

    class Meta:
        table_name = "sb_import_ids"
        indexes = ((("kind", "source_id"), True),)


class ImportState(BaseModel):
    """What an importer has done so far (JSON): the mode, the last source id of each
    table, the fingerprints of the settings it copied. A re-run starts from there."""

    name = pw.CharField(max_length=64, primary_key=True)
    value = pw.TextField()

    class Meta:
        table_name = "sb_import_state"
