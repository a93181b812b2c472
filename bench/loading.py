"""Load users, conversations and messages through the Web API, as the side-by-side run
with Support Board did: for each user, add-user, new-conversation, then send-message a
few times, from one client, one call after the other.

    python -m bench.loading [--database URL] [--users 2000] [--messages 5]

Without --database a fresh SQLite file in a temporary directory is used; a server
database gets the rows added to what it holds. Prints the calls a second of each kind
and of the whole load (the issue's "loading" row)."""

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time

import requests

from .run import free_port, sbcore, start_server, stop_server


def load(base_url, token, users, messages, tag):
    """(function name -> [seconds of each call], wall seconds) of the whole load."""
    session = requests.Session()
    timings = {"add-user": [], "new-conversation": [], "send-message": []}

    def call(function, **fields):
        started = time.perf_counter()
        answer = session.post(f"{base_url}/api", data={"token": token, "function": function,
                                                      **fields}, timeout=30)
        timings[function].append(time.perf_counter() - started)
        body = answer.json()
        if answer.status_code != 200 or body.get("success") is False:
            raise SystemExit(f"{function} failed ({answer.status_code}): {answer.text[:300]}")
        return body["response"]

    started = time.perf_counter()
    for number in range(users):
        user_id = call("add-user", first_name=f"Load{number}", last_name="Bench",
                       email=f"load-{tag}-{number}@example.com")
        conversation = call("new-conversation", user_id=user_id)
        conversation_id = conversation["details"]["id"] if isinstance(conversation, dict) else conversation
        for message in range(messages):
            call("send-message", user_id=user_id, conversation_id=conversation_id,
                 message=f"Message {message} of user {number}")
    return timings, time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.loading", description=__doc__.split("\n")[0])
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--users", type=int, default=2000, help="users, one conversation each")
    parser.add_argument("--messages", type=int, default=5, help="messages a conversation")
    args = parser.parse_args(argv)
    if args.users < 1 or args.messages < 0:
        parser.error("--users must be at least 1 and --messages at least 0")
    tmp = tempfile.mkdtemp(prefix="sbcore-loading-")
    port = free_port()
    env = dict(os.environ, SB_DATABASE_URL=args.database or f"sqlite:///{tmp}/sbcore.db",
               SB_UPLOADS_DIR=os.path.join(tmp, "uploads"), SB_PUBLIC_URL=f"http://127.0.0.1:{port}",
               SB_WORKER="off", SB_BCRYPT_ROUNDS="4")
    process = None
    try:
        sbcore(env, "init")
        token = sbcore(env, "create-admin", "--email", f"loading-{secrets.token_hex(4)}@example.com",
                       "--password", secrets.token_urlsafe(12)).strip().splitlines()[-1]
        process, _ = start_server(env, port, 2, os.path.join(tmp, "gunicorn.log"))
        timings, wall = load(f"http://127.0.0.1:{port}", token, args.users, args.messages,
                             secrets.token_hex(3))
    finally:
        if process is not None:
            stop_server(process)
        if not args.database:
            shutil.rmtree(tmp, ignore_errors=True)
    calls = sum(len(seconds) for seconds in timings.values())
    print(f"loading {args.users} users, {args.users} conversations, {args.users * args.messages} "
          f"messages ({env['SB_DATABASE_URL'].split(':')[0]}): {calls} calls in {wall:.1f} s, "
          f"{calls / wall:.0f} calls/s")
    for function, seconds in timings.items():
        seconds.sort()
        print(f"  {function}: {len(seconds)} calls, median {seconds[len(seconds) // 2] * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
