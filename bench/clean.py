"""clean-data over many visitors: how long one batch holds the database.

    python -m bench.clean [--visitors 100000]

Fills a temporary SQLite database with inactive visitors (with details and search rows),
runs clean-data, and prints the total time and the longest batch: an API call waits at
most one batch."""

import argparse
import statistics
import tempfile
import time
from datetime import timedelta

import sbcore
from sbcore import db as dbmod
from sbcore.db import utcnow
from sbcore.functions.maintenance import clean
from sbcore.models import User, UserDetail
from sbcore.users import reindex


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=100_000)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="sbcore-bench-clean-")
    core = sbcore.connect(f"sqlite:///{folder}/c.db", uploads_dir=f"{folder}/u", worker="off")
    old = utcnow() - timedelta(days=2)
    with dbmod.connection():
        for start in range(0, args.visitors, 5000):
            with core.database.atomic():
                count = min(5000, args.visitors - start)
                User.insert_many([{"first_name": "User", "last_name": f"#{start + i}", "user_type": "visitor",
                                   "token": f"v{start + i:039d}", "last_activity": old, "creation_time": old}
                                  for i in range(count)]).execute()
                ids = [u.id for u in User.select(User.id).where(User.user_type == "visitor")
                       .order_by(User.id.desc()).limit(count)]
                UserDetail.insert_many([{"user": i, "slug": "browser", "name": "Browser", "value": "Firefox"}
                                        for i in ids]).execute()
                reindex(ids)
    batches = []
    started = time.perf_counter()
    with dbmod.connection():
        result = clean(core.context(), on_batch=lambda count, seconds: batches.append(seconds))
    total = time.perf_counter() - started
    core.close()
    print(f"clean-data: {result['visitors']} visitors deleted in {total:.1f} s, {len(batches)} batches; "
          f"batch median {statistics.median(batches) * 1000:.0f} ms, longest {max(batches) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
