"""The core's own migrations.

Migration 1 builds its tables from the models as they stand; once a release has
shipped, a change to those tables is a new numbered migration using the migrator
(``migrator.add_column`` …), never an edit of an applied one."""

from . import db as dbmod
from .hooks import hookimpl
from .migrations import Migration
from .models import (ARTICLE_MODELS, CHANNEL_MODELS, CONVERSATION_MODELS, CORE_MODELS,
                     COUNT_MODELS, EVENT_MODELS, FILE_MODELS, IMPORT_MODELS, NOTIFICATION_MODELS,
                     PIPING_MODELS, REALTIME_MODELS, REPORT_MODELS, STORED_FILE_MODELS, VISITOR_MODELS, WORKSPACE_MODELS,
                     AppliedMigration)
from .search import search_backend


def create_core_tables(database, migrator):
    database.create_tables([m for m in CORE_MODELS if m is not AppliedMigration])


def create_user_search(database, migrator):
    search_backend(database).create_index("users")


def add_agent_inbox_index(database, migrator):
    """The index of the inbox by assignee (``agent_id``, ``box``, ``last_update_time``):
    fresh databases have it from migration 1's models; older ones get it here."""
    name = "sb_conversations_agent_id_box_last_update_time"
    if name not in {index.name for index in database.get_indexes("sb_conversations")}:
        database.execute_sql(f"CREATE INDEX {name} ON sb_conversations (agent_id, box, last_update_time)")


def create_conversation_tables(database, migrator):
    database.create_tables(CONVERSATION_MODELS)
    search_backend(database).create_index("conversations")
    search_backend(database).create_index("messages")


def create_article_tables(database, migrator):
    database.create_tables(ARTICLE_MODELS)
    search_backend(database).create_index("articles")


def create_report_tables(database, migrator):
    from .conversations import rebuild_conversation_agents
    database.create_tables(REPORT_MODELS)
    rebuild_conversation_agents()


def add_email_status(database, migrator):
    """Migration 1 builds sb_users from the live model: only older databases lack it."""
    import peewee as pw
    from playhouse.migrate import migrate
    if "email_status" not in {c.name for c in database.get_columns("sb_users")}:
        migrate(migrator.add_column("sb_users", "email_status",
                                    pw.CharField(max_length=16, default="")))


def add_visitor_bounds(database, migrator):
    """Per-visitor bounds: who rated an article, article views a day (visitor uploads
    are counted from sb_files). Newer databases have them from migration 5 (live models)."""
    import peewee as pw
    from playhouse.migrate import migrate
    from .models import ArticleView
    database.create_tables([ArticleView], safe=True)
    if "user_id" not in {c.name for c in database.get_columns("sb_article_ratings")}:
        migrate(migrator.add_column("sb_article_ratings", "user_id", pw.IntegerField(null=True)))
    indexes = {tuple(i.columns) for i in database.get_indexes("sb_article_ratings")}
    if ("article_id", "user_id") not in indexes:
        migrate(migrator.add_index("sb_article_ratings", ("article_id", "user_id"), True))


def create_file_chunks(database, migrator):
    """Files kept in the database, so that hosts with their own uploads folders share
    them (sbcore.storage.database). MySQL/MariaDB: a binary key (``a.PNG`` is not
    ``a.png``, as in a folder) and LONGBLOB pieces (peewee's BLOB holds 64 KiB there)."""
    database.create_tables(STORED_FILE_MODELS, safe=True)
    if dbmod.kind(database) == "mysql":
        database.execute_sql("ALTER TABLE sb_file_chunks MODIFY path VARCHAR(512) CHARACTER SET "
                             "utf8mb4 COLLATE utf8mb4_bin NOT NULL, MODIFY data LONGBLOB NOT NULL")


# Single-column indexes whose column leads a composite index of the same table, which
# serves every lookup they served (InnoDB and SQLite add the key to each index): each
# one cost a write per row and its share of MariaDB's buffer pool (28 MB for 1M messages).
REDUNDANT_INDEXES = (("sb_messages", "conversation_id"), ("sb_conversations", "user_id"),
                     ("sb_conversations", "agent_id"), ("sb_conversation_agents", "conversation_id"),
                     ("sb_user_data", "user_id"))


def drop_redundant_indexes(database, migrator):
    """Databases made before migration 110 have them (the models no longer make them);
    one is dropped only where its composite index is there to take over."""
    for table, column in REDUNDANT_INDEXES:
        name = f"{table}_{column}"
        indexes = database.get_indexes(table)
        takes_over = any(len(index.columns) > 1 and index.columns[0] == column for index in indexes)
        if takes_over and name in {index.name for index in indexes}:
            on_table = f" ON {table}" if dbmod.kind(database) == "mysql" else ""
            database.execute_sql(f"DROP INDEX {name}{on_table}")


def cluster_messages(database, migrator):
    """MySQL/MariaDB: ``sb_messages`` keyed by ``(conversation_id, id)``, so that InnoDB
    stores a conversation's messages side by side (it keeps rows in their primary key's
    order) and reading a conversation takes a page or two, not one page a message. At
    1M messages, which outgrow Debian's 128 MB buffer pool, get-new-messages' query went
    from 0.34-0.44 ms to 0.26-0.33 ms. ``id`` stays unique (and AUTO_INCREMENT, which
    needs an index that it leads); the ``(conversation_id, id)`` index is the key now.
    SQLite and PostgreSQL keep the table as it is (PostgreSQL does not keep rows in an
    index's order)."""
    if dbmod.kind(database) != "mysql":
        return
    if database.get_primary_keys("sb_messages") == ["conversation_id", "id"]:
        return
    names = {index.name for index in database.get_indexes("sb_messages")}
    changes = ["DROP PRIMARY KEY", "ADD PRIMARY KEY (conversation_id, id)"]
    if "sb_messages_id" not in names:
        changes.append("ADD UNIQUE KEY sb_messages_id (id)")
    if "sb_messages_conversation_id_id" in names:
        changes.append("DROP KEY sb_messages_conversation_id_id")
    database.execute_sql(f"ALTER TABLE sb_messages {', '.join(changes)}")


def split_message_search(database, migrator):
    """MySQL/MariaDB: the message search index into generation tables by message id, so
    that a search for a common word reads the newest matches only (sbcore.search.backends).
    Moves the rows; the other databases keep one table."""
    search_backend(database).create_index("messages")


def create_user_counts(database, migrator):
    from . import user_counts
    user_counts.install(database)


@hookimpl
def sbcore_register_models():
    return (CORE_MODELS + CONVERSATION_MODELS + EVENT_MODELS + ARTICLE_MODELS + REPORT_MODELS
            + CHANNEL_MODELS + NOTIFICATION_MODELS + VISITOR_MODELS + PIPING_MODELS + FILE_MODELS
            + IMPORT_MODELS + WORKSPACE_MODELS
            + REALTIME_MODELS + COUNT_MODELS + STORED_FILE_MODELS)


@hookimpl
def sbcore_register_migrations():
    return [
        Migration("core", 1, "core tables", create_core_tables),
        Migration("core", 2, "user search index", create_user_search),
        Migration("core", 3, "notes, ratings, bot messages; conversation and message search",
                  create_conversation_tables),
        Migration("core", 4, "webhook outbox", lambda database, migrator:
                  database.create_tables(EVENT_MODELS)),
        Migration("core", 5, "knowledge base", create_article_tables),
        Migration("core", 6, "report rows, sent automations, agents of conversations",
                  create_report_tables),
        Migration("core", 7, "messaging platforms' user and message ids",
                  lambda database, migrator: database.create_tables(CHANNEL_MODELS)),
        Migration("core", 8, "notification outbox (email, SMS and push)", lambda database, migrator:
                  database.create_tables(NOTIFICATION_MODELS)),
        Migration("core", 10, "visitor API rate limits", lambda database, migrator:
                  database.create_tables(VISITOR_MODELS)),
        Migration("core", 20, "the state of a user's email (claimed, verified)", add_email_status),
        Migration("core", 21, "per-visitor bounds: article ratings and views, uploads",
                  add_visitor_bounds),
        Migration("core", 40, "agent workspace sessions", lambda database, migrator:
                  database.create_tables(WORKSPACE_MODELS, safe=True)),
        Migration("core", 41, "the inbox by assignee: an index", add_agent_inbox_index),
        Migration("core", 50, "user counts by type, kept by triggers", create_user_counts),
        Migration("core", 60, "files and what uses them (owners, exports' expiry)",
                  lambda database, migrator: database.create_tables(FILE_MODELS, safe=True)),
        Migration("core", 70, "realtime event streams and their tickets",
                  lambda database, migrator: database.create_tables(REALTIME_MODELS, safe=True)),
        Migration("core", 80, "importers' id map and state", lambda database, migrator:
                  database.create_tables(IMPORT_MODELS, safe=True)),
        Migration("core", 90, "piped emails by Message-ID (stored once; failures counted)",
                  lambda database, migrator: database.create_tables(PIPING_MODELS, safe=True)),
        Migration("core", 100, "files kept in the database, shared by hosts", create_file_chunks),
        Migration("core", 110, "no index that a composite one already serves",
                  drop_redundant_indexes),
        Migration("core", 120, "message search in generations by id (MySQL/MariaDB)",
                  split_message_search),
        Migration("core", 130, "messages stored by conversation (MySQL/MariaDB)",
                  cluster_messages),
    ]
