"""The core's own migrations."""

from .hooks import hookimpl
from .migrations import Migration
from .models import CORE_MODELS, AppliedMigration
from .search import search_backend


def create_core_tables(database, migrator):
    database.create_tables([m for m in CORE_MODELS if m is not AppliedMigration])


def create_user_search(database, migrator):
    search_backend(database).create_index("users")


@hookimpl
def sbcore_register_models():
    return CORE_MODELS


@hookimpl
def sbcore_register_migrations():
    return [
        Migration("core", 1, "core tables", create_core_tables),
        Migration("core", 2, "user search index", create_user_search),
    ]
