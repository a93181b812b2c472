"""The core's own migrations.

Migration 1 builds its tables from the models as they stand; once a release has
shipped, a change to those tables is a new numbered migration using the migrator
(``migrator.add_column`` …), never an edit of an applied one."""

from .hooks import hookimpl
from .migrations import Migration
from .models import (ARTICLE_MODELS, CHANNEL_MODELS, CONVERSATION_MODELS, CORE_MODELS,
                     COUNT_MODELS, EVENT_MODELS, NOTIFICATION_MODELS, PIPING_MODELS, REPORT_MODELS,
                     VISITOR_MODELS,
                     AppliedMigration)
from .search import search_backend


def create_core_tables(database, migrator):
    database.create_tables([m for m in CORE_MODELS if m is not AppliedMigration])


def create_user_search(database, migrator):
    search_backend(database).create_index("users")


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


def create_user_counts(database, migrator):
    from . import user_counts
    user_counts.install(database)


@hookimpl
def sbcore_register_models():
    return (CORE_MODELS + CONVERSATION_MODELS + EVENT_MODELS + ARTICLE_MODELS + REPORT_MODELS
            + CHANNEL_MODELS + NOTIFICATION_MODELS + VISITOR_MODELS + PIPING_MODELS + COUNT_MODELS)


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
        Migration("core", 50, "user counts by type, kept by triggers", create_user_counts),
        Migration("core", 90, "piped emails by Message-ID (stored once; failures counted)",
                  lambda database, migrator: database.create_tables(PIPING_MODELS, safe=True)),
    ]
