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


def applied_elsewhere(migration, attempts=20, pause=0.5):
    """Whether another process (a sibling server worker starting at the same moment)
    recorded ``migration``; waits a bounded while for its commit."""
    import time
    for attempt in range(attempts):
        if AppliedMigration.select().where(AppliedMigration.app == migration.app,
                                           AppliedMigration.number == migration.number).exists():
            return True
        if attempt < attempts - 1:
            time.sleep(pause)
    return False


def apply_migrations(pm, database, report=print):
    """Apply every pending migration; return the list applied. A migration that fails
    because another process applied it at the same time is taken as applied."""
    applied = []
    migrator = migrator_for(database)
    for migration in pending(pm, database):
        try:
            with database.atomic():
                migration.apply(database, migrator)
                AppliedMigration.create(app=migration.app, number=migration.number,
                                        name=migration.name)
        except Exception as error:
            if applied_elsewhere(migration):
                continue
            from .errors import StartupError
            raise StartupError(
                f"migration {migration.app} {migration.number} ({migration.name}) failed: "
                f"{' '.join(str(error).split())}; the schema stays at the migration before it "
                "(fix the cause, then run `sbcore init`)") from error
        report(f"applied {migration.app} {migration.number:04d} {migration.name}")
        applied.append(migration)
    return applied
