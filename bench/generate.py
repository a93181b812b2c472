"""Fill an sbcore database with N synthetic users, in bulk, then conversations and messages.

``python -m bench.generate --users 100000 [--conversations 100000] [--messages 1000000]
[--database URL]`` (the database comes from SB_DATABASE_URL otherwise; 0 conversations
skips them, see ``bench/conversations_data.py``). Users go in with ``insert_many`` in batches of
1,000, one transaction per batch, then the full-text index is rebuilt for the new
users with ``sbcore.users.reindex``, also 1,000 at a time, and the tables are
analyzed (VACUUM ANALYZE on PostgreSQL). Existing rows are kept:
on a server database the new users are appended."""

import argparse
import os
import random
import secrets
import sys
import time
from datetime import timedelta

from tqdm import tqdm

BATCH = 1000

FIRST_NAMES = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Margaret", "Mark",
    "Sandra", "Paul", "Ashley", "Steven", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
    "Marco", "Giulia", "Lukas", "Sofia", "Mateo", "Chloe", "Hiroshi", "Yuki", "Ahmed", "Fatima",
    "Ivan", "Olga", "Pierre", "Amelie",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Robinson", "Walker", "Young", "Rossi", "Bianchi", "Muller", "Schmidt", "Dubois",
    "Moreau", "Tanaka", "Suzuki", "Kowalski", "Novak", "Ivanov", "Petrov", "Haddad", "Khan",
    "Silva", "Santos", "Jensen", "Hansen", "Nguyen", "Kim",
]
CITIES = ["London", "Paris", "Berlin", "Madrid", "Rome", "New York", "Chicago", "Toronto",
          "Sydney", "Tokyo", "Seoul", "Mumbai", "Cairo", "Lagos", "Sao Paulo", "Mexico City",
          "Warsaw", "Vienna", "Dublin", "Lisbon"]
DOMAINS = ["example.com", "example.org", "mail.example.net"]
# (user type, weight, share of that type with an email): about 60% have an email.
TYPES = [("visitor", 45, 0.2), ("user", 35, 1.0), ("lead", 18, 0.7), ("agent", 2, 1.0)]
DETAIL_SHARE = 0.5
DAYS = 730


def user_rows(rng, count, start, tag, now, image):
    """``count`` rows for ``User.insert_many`` plus, per row, its details or None."""
    kinds = rng.choices(TYPES, weights=[t[1] for t in TYPES], k=count)
    rows, details = [], []
    for number, (user_type, _, email_share) in enumerate(kinds, start):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = None
        if rng.random() < email_share:
            email = f"{first}.{last}.{tag}{number}@{rng.choice(DOMAINS)}".lower()
        created = now - timedelta(seconds=rng.randrange(DAYS * 86400))
        active = created + timedelta(seconds=rng.randrange(int((now - created).total_seconds()) + 1))
        rows.append({"first_name": first, "last_name": last, "email": email,
                     "profile_image": image, "user_type": user_type, "password": "",
                     "creation_time": created, "last_activity": active,
                     "token": secrets.token_hex(20)})
        details.append((f"+1 555 {rng.randrange(10**7):07d}", rng.choice(CITIES))
                       if rng.random() < DETAIL_SHARE else None)
    return rows, details


def insert_users(core, count, seed=1, progress=True):
    """Insert ``count`` users with their details; return the new users' ids."""
    from sbcore import db as dbmod
    from sbcore.models import User, UserDetail
    from sbcore.users import default_profile_image

    rng = random.Random(seed)
    tag = secrets.token_hex(3)  # keeps emails unique when appending to a used database
    now = dbmod.utcnow()
    image = default_profile_image(core.config)
    ids = []
    with tqdm(total=count, unit="users", desc="insert", file=sys.stderr, disable=not progress) as bar:
        for start in range(0, count, BATCH):
            rows, details = user_rows(rng, min(BATCH, count - start), start, tag, now, image)
            with dbmod.connection(), core.database.atomic():
                User.insert_many(rows).execute()
                tokens = [row["token"] for row in rows]
                by_token = dict(User.select(User.token, User.id).where(User.token.in_(tokens)).tuples())
                batch_ids = [by_token[token] for token in tokens]
                extra = []
                for user_id, detail in zip(batch_ids, details):
                    if detail:
                        phone, city = detail
                        extra.append({"user": user_id, "slug": "phone", "name": "Phone", "value": phone})
                        extra.append({"user": user_id, "slug": "city", "name": "City", "value": city})
                if extra:
                    UserDetail.insert_many(extra).execute()
            ids.extend(batch_ids)
            bar.update(len(rows))
    return ids


def reindex(core, ids, progress=True):
    from sbcore import db as dbmod
    from sbcore import users as U

    with tqdm(total=len(ids), unit="users", desc="reindex", file=sys.stderr,
              disable=not progress) as bar:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            with dbmod.connection(), core.database.atomic():
                U.reindex(chunk)
            bar.update(len(chunk))


def analyze(core, tables=("sb_users", "sb_user_data", "sb_search_users")):
    """Refresh the planner's statistics (and PostgreSQL's visibility map), as a
    database that grew over time would have them, rather than measuring a bulk load."""
    from sbcore import db as dbmod

    kind = dbmod.kind(core.database)
    tables = ", ".join(tables)
    statement = {"sqlite": "ANALYZE", "mysql": f"ANALYZE TABLE {tables}",
                 "postgres": f"VACUUM ANALYZE {tables}"}[kind]
    with dbmod.connection():
        cursor = core.database.execute_sql(statement)
        if kind == "mysql":
            cursor.fetchall()  # ANALYZE TABLE answers with rows that must be read


def populate(core, count, seed=1, progress=True):
    """Insert, index and analyze ``count`` users; return ``(ids, timings in seconds)``."""
    started = time.perf_counter()
    ids = insert_users(core, count, seed, progress)
    inserted = time.perf_counter()
    reindex(core, ids, progress)
    indexed = time.perf_counter()
    analyze(core)
    return ids, {"insert": inserted - started, "reindex": indexed - inserted,
                 "analyze": time.perf_counter() - indexed}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--database", help="database URL (default: SB_DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.database:
        os.environ["SB_DATABASE_URL"] = args.database
    from sbcore.config import Config
    from sbcore.core import Core

    core = Core(Config.from_env())
    try:
        core.init(report=lambda line: None)
        ids, timings = populate(core, args.users, args.seed)
        print(f"{len(ids)} users added to {core.config.database_url} "
              f"(insert {timings['insert']:.1f} s, reindex {timings['reindex']:.1f} s, "
              f"analyze {timings['analyze']:.1f} s)")
        if args.conversations > 0:
            from .conversations_data import populate as populate_conversations
            timings = populate_conversations(core, args.conversations, args.messages, args.seed)
            print(f"{args.conversations} conversations and {args.messages} messages added ("
                  + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()) + ")")
    finally:
        core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
