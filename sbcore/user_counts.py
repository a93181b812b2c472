"""The number of users of each type, kept by the database itself: triggers on
``sb_users`` add and subtract in ``sb_user_counts`` (SHARDS rows per type) whatever
writes the users (the API, an import, a bulk insert, SQL by hand), in the writer's
transaction, so count-users reads at most SHARDS rows per type instead of counting
the table and is exact at every commit."""

from peewee import fn

from . import db as dbmod
from .models import User, UserCount

SHARDS = 16
TRIGGERS = ("sb_users_count_insert", "sb_users_count_delete", "sb_users_count_update")


def _sqlite():
    add = ("INSERT INTO sb_user_counts (user_type, shard, n) VALUES (NEW.user_type, NEW.id % {s}, 1) "
           "ON CONFLICT (user_type, shard) DO UPDATE SET n = n + 1;").format(s=SHARDS)
    sub = ("UPDATE sb_user_counts SET n = n - 1 WHERE user_type = OLD.user_type "
           "AND shard = OLD.id % {s};").format(s=SHARDS)
    return [
        f"CREATE TRIGGER sb_users_count_insert AFTER INSERT ON sb_users BEGIN {add} END",
        f"CREATE TRIGGER sb_users_count_delete AFTER DELETE ON sb_users BEGIN {sub} END",
        "CREATE TRIGGER sb_users_count_update AFTER UPDATE OF user_type ON sb_users "
        f"WHEN OLD.user_type IS NOT NEW.user_type BEGIN {sub} {add} END",
    ]


def _mysql():
    # MOD(), not %: the drivers format their parameters with %
    add = ("INSERT INTO sb_user_counts (user_type, shard, n) VALUES (NEW.user_type, MOD(NEW.id, {s}), 1) "
           "ON DUPLICATE KEY UPDATE n = n + 1").format(s=SHARDS)
    sub = ("UPDATE sb_user_counts SET n = n - 1 WHERE user_type = OLD.user_type "
           "AND shard = MOD(OLD.id, {s})").format(s=SHARDS)
    return [
        f"CREATE TRIGGER sb_users_count_insert AFTER INSERT ON sb_users FOR EACH ROW {add}",
        f"CREATE TRIGGER sb_users_count_delete AFTER DELETE ON sb_users FOR EACH ROW {sub}",
        "CREATE TRIGGER sb_users_count_update AFTER UPDATE ON sb_users FOR EACH ROW "
        f"BEGIN IF NOT (OLD.user_type <=> NEW.user_type) THEN {sub}; {add}; END IF; END",
    ]


def _postgres():
    add = ("INSERT INTO sb_user_counts (user_type, shard, n) VALUES (NEW.user_type, MOD(NEW.id, {s}), 1) "
           "ON CONFLICT (user_type, shard) DO UPDATE SET n = sb_user_counts.n + 1;").format(s=SHARDS)
    sub = ("UPDATE sb_user_counts SET n = n - 1 WHERE user_type = OLD.user_type "
           "AND shard = MOD(OLD.id, {s});").format(s=SHARDS)
    return [
        "CREATE OR REPLACE FUNCTION sb_users_count() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {sub} END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {add} END IF; "
        "RETURN NULL; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER sb_users_count_insert AFTER INSERT ON sb_users "
        "FOR EACH ROW EXECUTE FUNCTION sb_users_count()",
        "CREATE TRIGGER sb_users_count_delete AFTER DELETE ON sb_users "
        "FOR EACH ROW EXECUTE FUNCTION sb_users_count()",
        "CREATE TRIGGER sb_users_count_update AFTER UPDATE OF user_type ON sb_users FOR EACH ROW "
        "WHEN (OLD.user_type IS DISTINCT FROM NEW.user_type) EXECUTE FUNCTION sb_users_count()",
    ]


def install(database):
    """Create the table and the triggers (replacing them), then count the users once."""
    kind = dbmod.kind(database)
    database.create_tables([UserCount], safe=True)
    for name in TRIGGERS:
        database.execute_sql(f"DROP TRIGGER IF EXISTS {name}" + (" ON sb_users" if kind == "postgres" else ""))
    for sql in {"sqlite": _sqlite, "mysql": _mysql, "postgres": _postgres}[kind]():
        database.execute_sql(sql)
    recount()


def recount():
    """Count the table again (the migration, or a repair after triggers were off)."""
    UserCount.delete().execute()
    shard = User.id % SHARDS if dbmod.kind() == "sqlite" else fn.MOD(User.id, SHARDS)
    UserCount.insert_from(User.select(User.user_type, shard, fn.COUNT(User.id))
                          .group_by(User.user_type, shard),
                          [UserCount.user_type, UserCount.shard, UserCount.n]).execute()


def counts(user_types):
    """``{user_type: number}`` for the given types (absent: none)."""
    return {user_type: int(total) for user_type, total in
            UserCount.select(UserCount.user_type, fn.SUM(UserCount.n))
            .where(UserCount.user_type.in_(list(user_types))).group_by(UserCount.user_type).tuples()}
