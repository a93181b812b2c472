"""Numbered schema migrations, per app. ``sbcore init`` applies the ones not yet
applied, in number order, each recorded in ``sb_migrations``."""

from dataclasses import dataclass
from typing import Callable

from playhouse.migrate import MySQLMigrator, PostgresqlMigrator, SqliteMigrator

from . import db as dbmod
from .models import AppliedMigration
from .registry import collect_list


@dataclass(frozen=True)
class Migration:
    app: str
    number: int
    name: str
    apply: Callable  # apply(database, migrator)


def migrator_for(database):
    return {"sqlite": SqliteMigrator, "mysql": MySQLMigrator,
            "postgres": PostgresqlMigrator}[dbmod.kind(database)](database)


def pending(pm, database):
    migrations = sorted(collect_list(pm, "sbcore_register_migrations",
                                     key=lambda m: (m.app, m.number)),
                        key=lambda m: (m.app != "core", m.app, m.number))
    database.create_tables([AppliedMigration], safe=True)
    done = {(row.app, row.number) for row in AppliedMigration.select()}
    return [m for m in migrations if (m.app, m.number) not in done]


def apply_migrations(pm, database, report=print):
    """Apply every pending migration; return the list applied."""
    applied = []
    migrator = migrator_for(database)
    for migration in pending(pm, database):
        with database.atomic():
            migration.apply(database, migrator)
            AppliedMigration.create(app=migration.app, number=migration.number,
                                    name=migration.name)
        report(f"applied {migration.app} {migration.number:04d} {migration.name}")
        applied.append(migration)
    return applied
