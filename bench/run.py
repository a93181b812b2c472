"""Benchmark the users API: fill a database, serve it with gunicorn, time the calls.

    python -m bench.run [--quick] [--users N] [--database URL]

Without --database a fresh SQLite file in a temporary directory is used (and
removed at the end); a server database (MySQL, PostgreSQL) is initialised if
needed and the generated users are appended to what it already holds."""

import argparse
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import requests

from . import generate, users

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTUP_SECONDS = 60


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2,000 users and 100 requests per call (unless given)")
    parser.add_argument("--users", type=int, help="users to generate (default 100,000)")
    parser.add_argument("--requests", type=int, help="requests per call (default 500)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.users is None:
        args.users = 2_000 if args.quick else 100_000
    if args.requests is None:
        args.requests = 100 if args.quick else 500
    if args.users < 1 or args.requests < 1 or args.concurrency < 1:
        parser.error("--users, --requests and --concurrency must be at least 1")
    return args


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sbcore(env, *arguments):
    """Run the sbcore command line; return its standard output."""
    done = subprocess.run([sys.executable, "-m", "sbcore.cli", *arguments], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise SystemExit(f"sbcore {arguments[0]} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def start_server(env, port, workers, log_path):
    log = open(log_path, "wb")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_server(process)
    with open(log_path, errors="replace") as handle:
        raise SystemExit(f"gunicorn did not become healthy:\n{handle.read()[-3000:]}")


def stop_server(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def count_users(core):
    from sbcore import db as dbmod
    from sbcore.models import User
    with dbmod.connection():
        return User.select().count()


def fill(env, count, seed):
    """Initialise the schema, create an admin, add ``count`` users; return
    (admin token, new user ids, timings, users in the database)."""
    sbcore(env, "init")
    token = sbcore(env, "create-admin", "--email", f"bench-{secrets.token_hex(4)}@example.com",
                   "--password", secrets.token_urlsafe(12)).strip().splitlines()[-1]
    from sbcore.config import Config
    from sbcore.core import Core
    core = Core(Config.from_env(environ=env, env_file=None))
    try:
        ids, timings = generate.populate(core, count, seed)
        total = count_users(core)
    finally:
        core.close()
    return token, ids, timings, total


def interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):  # so that `finally` stops gunicorn
        signal.signal(signum, interrupted)
    tmp = tempfile.mkdtemp(prefix="sbcore-bench-")
    database = args.database or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    port = free_port()
    env = dict(os.environ, SB_DATABASE_URL=database, SB_UPLOADS_DIR=os.path.join(tmp, "uploads"),
               SB_PUBLIC_URL=f"http://127.0.0.1:{port}", SB_WORKER="off", SB_BCRYPT_ROUNDS="4")
    kind = database.partition("://")[0]
    print(f"sbcore users benchmark: {args.users} users, {args.requests} requests per call, "
          f"{args.concurrency} threads, {args.workers} gunicorn workers, {kind}")
    if args.database:
        print(f"note: {database} is not emptied; the generated users are appended to it")
    process, keep = None, False
    try:
        token, ids, timings, total = fill(env, args.users, args.seed)
        print(f"generated {len(ids)} users in {timings['insert']:.1f} s, indexed in "
              f"{timings['reindex']:.1f} s, analyzed in {timings['analyze']:.1f} s; "
              f"the database holds {total} users")
        process, url = start_server(env, port, args.workers, os.path.join(tmp, "gunicorn.log"))
        target = users.Target(url, token, ids, pages=max(1, -(-total // 100)))
        results = users.run_all(target, args.requests, args.concurrency, args.seed)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BaseException:
        keep = True
        print(f"failed; the database and gunicorn log are kept in {tmp}", file=sys.stderr)
        raise
    finally:
        if process is not None:
            stop_server(process)
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, database {kind}, "
          f"{total} users")
    print(users.table(results))
    failed = sum(r.errors for r in results)
    for r in results:
        if r.errors:
            print(f"{r.label}: {r.errors} failed, first: {r.first_error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
