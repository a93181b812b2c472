"""The agent workspace's inbox at scale: fill a database (default 100,000 users,
100,000 conversations, 1,000,000 messages), serve it with gunicorn, sign in at /admin
as an admin and time what the inbox asks for through /admin/api.

    python -m bench.workspace [--users N] [--conversations N] [--messages N]
                              [--requests N] [--database URL] [--keep]"""

import argparse
import os
import re
import secrets
import shutil
import statistics
import tempfile
import time

import requests

from . import conversations_data, generate
from .run import free_port, open_core, sbcore, start_server, stop_server

PASSWORD = "bench-" + secrets.token_hex(6)


def calls(deep_cursor):
    """(label, function, arguments): what the inbox page and its filters call."""
    return [
        ("older page (get-conversations before=row 5,100)", "get-conversations", {"before": deep_cursor}),
        ("inbox page (get-conversations)", "get-conversations", {}),
        ("inbox page 50 (get-conversations pagination=50)", "get-conversations", {"pagination": 50}),
        ("archived tab", "get-conversations", {"status_code": 3}),
        ("assigned to me", "get-conversations", {"routing": True}),
        ("unassigned", "get-conversations", {"unassigned": True}),
        ("source: WhatsApp", "get-conversations", {"source": "wa"}),
        ("department 1", "get-conversations", {"department": 1}),
        ("search (search-conversations)", "search-conversations", {"search": "order"}),
        ("poll (get-new-conversations)", "get-new-conversations", {"datetime": "2100-01-01 00:00:00"}),
        ("unread count (count-conversations 2)", "count-conversations", {"status_code": 2}),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.workspace")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-fill", action="store_true",
                        help="time an already filled --database (only an admin is added)")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="sbcore-bench-workspace-")
    database = args.database or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    port = free_port()
    env = dict(os.environ, SB_DATABASE_URL=database, SB_UPLOADS_DIR=os.path.join(tmp, "uploads"),
               SB_PUBLIC_URL=f"http://127.0.0.1:{port}", SB_WORKER="off", SB_BCRYPT_ROUNDS="4")
    process = None
    try:
        sbcore(env, "init")
        email = f"bench-{secrets.token_hex(4)}@example.com"
        sbcore(env, "create-admin", "--email", email, "--password", PASSWORD)
        if not args.no_fill:
            core = open_core(env)
            try:
                started = time.perf_counter()
                generate.populate(core, args.users)
                conversations_data.populate(core, args.conversations, args.messages)
                print(f"filled in {time.perf_counter() - started:.0f} s")
            finally:
                core.close()
        process, url = start_server(env, port, 2, os.path.join(tmp, "gunicorn.log"))
        session = requests.Session()
        answer = session.post(f"{url}/admin/sign-in", data={"email": email, "password": PASSWORD},
                              allow_redirects=False, timeout=30)
        assert answer.status_code == 303, answer.text
        floor, page_times = [], []
        for _ in range(args.requests):
            began = time.perf_counter()
            session.get(f"{url}/health", timeout=30)
            floor.append(time.perf_counter() - began)
        for _ in range(args.requests):
            began = time.perf_counter()
            page = session.get(f"{url}/admin", timeout=30)
            page_times.append(time.perf_counter() - began)
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        rows = [("floor: GET /health", floor, 0), ("GET /admin (the page)", page_times, 0)]
        deep = session.post(f"{url}/admin/api", json={"function": "get-conversations", "pagination": 50},
                            headers={"X-CSRF-Token": csrf}, timeout=30).json()["response"]
        deep_cursor = f'{deep[-1]["last_update_time"]},{deep[-1]["conversation_id"]}' if deep else \
            "2000-01-01 00:00:00,1"
        for label, function, arguments in calls(deep_cursor):
            times, size = [], 0
            for _ in range(args.requests):
                began = time.perf_counter()
                answer = session.post(f"{url}/admin/api", json={"function": function, **arguments},
                                      headers={"X-CSRF-Token": csrf}, timeout=30)
                times.append(time.perf_counter() - began)
                body = answer.json()
                assert body["success"], body
                size = len(body["response"]) if isinstance(body["response"], list) else 1
            rows.append((label, times, size))
        print(f"\n{args.conversations:,} conversations, {args.messages:,} messages, "
              f"{database.partition('://')[0]}, gunicorn 2 workers, {args.requests} requests each, one client\n")
        print("| call | rows | median ms | p95 ms | median / floor |\n|---|---:|---:|---:|---:|")
        base = statistics.median(floor)
        for label, times, size in rows:
            times.sort()
            print(f"| {label} | {size} | {statistics.median(times) * 1000:.1f} | "
                  f"{times[int(len(times) * 0.95) - 1] * 1000:.1f} | {statistics.median(times) / base:.1f}x |")
    finally:
        if process is not None:
            stop_server(process)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
