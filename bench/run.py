"""Benchmark the users, conversations and messages API, over HTTP and in-process.

Fill a database, serve it with gunicorn, time the calls, stop gunicorn, then time
the conversation calls in this process (without HTTP).

    python -m bench.run [--quick] [--users N] [--conversations N] [--messages N]
                        [--database URL] [--explain] [--profile LABEL] [--keep]
                        [--concurrency N[,N...]] [--calls LABEL[,LABEL...]]

Without --database a fresh SQLite file in a temporary directory is used (and
removed at the end unless --keep); a server database (MySQL, PostgreSQL) is
initialised if needed and the generated rows are appended to what it already holds."""

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

from . import conversations, conversations_data, generate, inprocess, users

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTUP_SECONDS = 60


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 users, 2,000 conversations, "
                        "20,000 messages, 100 requests per call (unless given)")
    parser.add_argument("--users", type=int, help="users to generate (default 100,000)")
    parser.add_argument("--conversations", type=int, help="conversations (default 100,000)")
    parser.add_argument("--messages", type=int, help="messages (default 1,000,000)")
    parser.add_argument("--requests", type=int, help="requests per call (default 500)")
    parser.add_argument("--inprocess", type=int, help="in-process calls per call (default 50)")
    parser.add_argument("--explain", action="store_true", help="print each conversation "
                        "call's SELECTs with their query plans")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--concurrency", type=counts, default=[4], metavar="N[,N...]",
                        help="client threads; several (1,4) run every call at each level "
                        "against the same server, each table with its own /health (default 4)")
    parser.add_argument("--calls", type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
                        metavar="LABEL[,LABEL...]", help="only the calls whose label starts with "
                        "one of these (GET /health always runs first)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--reuse", action="store_true", help="with --database: measure the rows "
                        "it already holds (from an earlier run) instead of generating more")
    parser.add_argument("--profile", metavar="LABEL", help="also print a pyinstrument profile of "
                        "the in-process calls whose label starts with LABEL")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.users is None:
        args.users = 2_000 if args.quick else 100_000
    if args.conversations is None:
        args.conversations = 2_000 if args.quick else 100_000
    if args.messages is None:
        args.messages = 20_000 if args.quick else 1_000_000
    if args.requests is None:
        args.requests = 100 if args.quick else 500
    if args.inprocess is None:
        args.inprocess = 20 if args.quick else 50
    if args.reuse and not args.database:
        parser.error("--reuse needs --database")
    if min(args.users, args.conversations, args.requests, *args.concurrency) < 1 or args.inprocess < 0:
        parser.error("--users, --conversations, --requests and --concurrency must be at least 1, "
                     "--inprocess at least 0")
    return args


def counts(text):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a number of clients, or several: 1,4")
    if not values:
        raise argparse.ArgumentTypeError("a number of clients, or several: 1,4")
    return values


def selected(calls, labels):
    """``calls`` whose label starts with one of ``labels`` (all without), /health first."""
    if not labels:
        return calls
    return [calls[0]] + [call for call in calls[1:] if call[0].startswith(tuple(labels))]


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


def open_core(env):
    from sbcore.config import Config
    from sbcore.core import Core
    return Core(Config.from_env(environ=env, env_file=None))


def count_rows(core):
    from sbcore import db as dbmod
    from sbcore.models import Conversation, Message, User
    with dbmod.connection():
        return {model.__name__.lower() + "s": model.select().count()
                for model in (User, Conversation, Message)}


def fill(env, args):
    """Initialise the schema, create an admin, add the users, conversations and messages;
    return the admin token, the new user ids, the timings, the conversations' target
    and the rows in the database."""
    sbcore(env, "init")
    token = sbcore(env, "create-admin", "--email", f"bench-{secrets.token_hex(4)}@example.com",
                   "--password", secrets.token_urlsafe(12)).strip().splitlines()[-1]
    core = open_core(env)
    try:
        if args.reuse:
            ids, timings, chat_timings = existing_users(core), dict.fromkeys(
                ("insert", "reindex", "analyze"), 0.0), {}
        else:
            ids, timings = generate.populate(core, args.users, args.seed)
            chat_timings = conversations_data.populate(core, args.conversations, args.messages,
                                                       args.seed)
        chats = conversations.load(core, token, args.seed)
        total = count_rows(core)
    finally:
        core.close()
    return token, ids, timings, chat_timings, chats, total


def existing_users(core):
    """The ids of the users an earlier run generated (every user but the admins)."""
    from sbcore import db as dbmod
    from sbcore.models import User
    with dbmod.connection():
        return [row[0] for row in User.select(User.id).where(User.user_type != "admin")
                .order_by(User.id).tuples()]


def local_calls(env, target, args):
    """The conversation calls in-process (server stopped); with --explain, their plans."""
    core = open_core(env)
    plans = []
    calls = selected(conversations.CALLS, args.calls)
    try:
        caller = core.admin_for_token(target.token)
        results = inprocess.time_calls(core, target, calls, args.inprocess,
                                       caller, args.seed) if args.inprocess else []
        if args.explain:
            for _, make, _ in calls[1:]:
                inprocess.explain(core, target, make, caller, args.seed, out=plans.append)
        for label, make, _ in calls[1:]:
            if args.profile and label.startswith(args.profile):
                plans.append(f"### pyinstrument: {args.inprocess} calls of {label}")
                plans.append(inprocess.profile(core, target, make, caller, args.inprocess, args.seed))
    finally:
        core.close()
    return results, plans


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
    print(f"sbcore benchmark: {args.users} users, {args.conversations} conversations, "
          f"{args.messages} messages, {args.requests} requests per call, "
          f"{','.join(map(str, args.concurrency))} threads, {args.workers} gunicorn workers, {kind}")
    if args.database:
        print(f"note: {database} is not emptied; the generated rows are appended to it")
    process, keep = None, args.keep
    try:
        token, ids, timings, chat_timings, chats, total = fill(env, args)
        print(f"generated {len(ids)} users in {timings['insert']:.1f} s, indexed in "
              f"{timings['reindex']:.1f} s, analyzed in {timings['analyze']:.1f} s")
        print(f"generated {args.conversations} conversations and {args.messages} messages in "
              f"{sum(chat_timings.values()):.1f} s (" + ", ".join(
                  f"{name} {seconds:.1f} s" for name, seconds in chat_timings.items()) + ")")
        print(f"the database holds {total['users']} users, {total['conversations']} "
              f"conversations and {total['messages']} messages")
        process, url = start_server(env, port, args.workers, os.path.join(tmp, "gunicorn.log"))
        target = users.Target(url, token, ids, pages=max(1, -(-total["users"] // 100)))
        chats.base_url = url
        levels = []  # (clients, users results, conversations results)
        for clients in args.concurrency:
            print(f"{clients} client(s):")
            results = users.run_all(target, args.requests, clients, args.seed,
                                    calls=selected(users.CALLS, args.calls))
            chat_results = users.run_all(chats, args.requests, clients, args.seed,
                                         calls=selected(conversations.CALLS, args.calls))
            levels.append((clients, results, chat_results))
        stop_server(process)
        process = None
        local, plans = local_calls(env, chats, args)
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
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, database {kind}, "
          f"{total['users']} users, {total['conversations']} conversations, "
          f"{total['messages']} messages")
    for clients, results, chat_results in levels:
        print(f"\n{clients} client thread(s), {args.workers} gunicorn workers:\n")
        if len(results) > 1:
            print(users.table(results))
            print()
        if len(chat_results) > 1:
            print(users.table(chat_results))
    if local:
        print()
        print(f"In-process ({args.inprocess} calls each, after one warm-up, server stopped):")
        print(inprocess.table(local, levels[0][2]))
    for line in plans:
        print(line)
    failed = 0
    for r in [r for _, results, chat_results in levels for r in results + chat_results] + local:
        failed += r.errors
        if r.errors:
            print(f"{r.label}: {r.errors} failed, first: {r.first_error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
