"""Event streams against polling: 2,000 open chats, agents replying through the Web API.

    python -m bench.realtime [--chats 2000] [--rate 20] [--seconds 30] [--redis URL|none]
                             [--database URL] [--modes streams,polling] [--output FILE]

For each mode, on a fresh database holding ``--chats`` visitors with a conversation each:

- ``streams``: ``sbcore serve`` (2 sync workers, the API) and ``sbcore serve --events``
  (1 gevent worker); every chat holds ``GET /widget/events`` open and, as the widget
  does while its stream is up, calls ``get-new-messages`` every 60 s.
- ``polling``: ``sbcore serve`` alone; every chat calls ``get-new-messages`` every 1.5 s
  (the widget's interval), each from a random phase.

Then, for ``--seconds``, an agent sends ``--rate`` replies a second (each to a random
chat) through ``POST /api``. Latency is from the moment the send-message answer arrives
to the moment the reply reaches its chat (the event read from the stream, or the poll
answer that holds it); an event that arrives before the answer counts as 0. CPU is the
user+system time of the server processes (gunicorn masters and workers) over the
sending window plus the drain, from /proc; the clients (this process) are not counted.
The clients are asyncio connections in this process, sharing the machine's cores with
the servers."""

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLL_SECONDS = 1.5
SAFETY_POLL_SECONDS = 60.0  # the widget's poll while its stream is up
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the servers and their CPU ---


def process_tree(root_pid):
    """``root_pid`` and its descendants (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


class Servers:
    def __init__(self, env, events):
        self.env = env
        self.api_port = free_port()
        self.events_port = free_port() if events else None
        self.processes = []

    def start(self):
        log = open(os.path.join(self.env["SB_DATA_DIR"], "servers.log"), "ab")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "sbcore.cli", "serve", "--port", str(self.api_port),
             "--workers", "2"], env=self.env, cwd=ROOT, stdout=log, stderr=log))
        if self.events_port:
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "sbcore.cli", "serve", "--events", "--port",
                 str(self.events_port), "--workers", "1"], env=self.env, cwd=ROOT,
                stdout=log, stderr=log))
        for port in filter(None, (self.api_port, self.events_port)):
            deadline = time.time() + 60
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if time.time() > deadline:
                    raise SystemExit(f"the server on port {port} did not start")
                time.sleep(0.3)

    def pids(self):
        return [pid for process in self.processes for pid in process_tree(process.pid)]

    def stop(self):
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# --- the data ---


def prepare(env, chats):
    """A fresh schema, an admin, an agent and ``chats`` visitors with a conversation each
    (written in this process, in one transaction per thousand)."""
    subprocess.run([sys.executable, "-m", "sbcore.cli", "init"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    token = secrets.token_hex(20)
    subprocess.run([sys.executable, "-m", "sbcore.cli", "create-admin", "--email", "bench@example.com",
                    "--password", "bench-password", "--token", token], env=env, cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    from sbcore import visitor
    from sbcore.config import Config
    from sbcore.core import Core
    core = Core(Config.from_env(environ=env, env_file=None), load_entrypoints=False)
    agent_id = int(core.call("add-user", first_name="Bench", last_name="Agent",
                             email="agent@example.com", user_type="agent"))
    functions = visitor.functions()
    visitors = []
    for start in range(0, chats, 1000):
        def batch(ctx, count=min(1000, chats - start)):
            made = []
            for _ in range(count):
                answer = functions["register"].fn(ctx)
                ctx.visitor = visitor_row(answer["user"]["id"])
                conversation = functions["new-conversation"].fn(ctx)
                made.append((answer["login-cookie"], int(conversation["details"]["id"])))
            return made
        visitors.extend(core.run(batch))
    core.close()
    return token, agent_id, visitors


def visitor_row(user_id):
    from sbcore.models import User
    return User.get_by_id(int(user_id))


# --- the clients ---


class Results:
    def __init__(self):
        self.answered = {}   # message id -> when the send-message answer arrived
        self.requested = {}  # message id -> when the send-message request left
        self.send_errors = 0
        self.arrived = {}    # message id -> when the reply reached its chat
        self.lock = threading.Lock()

    def arrive(self, message_id, at):
        with self.lock:
            self.arrived.setdefault(message_id, at)

    def latencies(self):
        with self.lock:
            return [max(0.0, self.arrived[m] - t) for m, t in self.answered.items()
                    if m in self.arrived]

    def from_request(self):
        with self.lock:
            return [self.arrived[m] - t for m, t in self.requested.items() if m in self.arrived]


async def http_request(port, method, path, headers, body=b""):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        payload = dechunk(payload)
    return int(head.split(b" ", 2)[1]), payload


def dechunk(data):
    out, rest = b"", data
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        length = int(size.split(b";")[0] or b"0", 16)
        if not length:
            break
        out, rest = out + rest[:length], rest[length + 2:]
    return out


async def stream_reader(port, cookie, results, ready, stop):
    """One chat's event stream; a dropped stream reconnects with its Last-Event-ID."""
    last_id = None
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(1)
            continue
        headers = f"Authorization: Bearer {cookie}\r\n"
        if last_id is not None:
            headers += f"Last-Event-ID: {last_id}\r\n"
        writer.write(f"GET /widget/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
        try:
            kind = None
            while not stop.is_set():
                line = await reader.readline()
                if not line:
                    break
                now = time.monotonic()
                text = line.decode("utf-8", "replace").strip()
                if text == ": ready" and not ready.done():
                    ready.set_result(True)
                elif text.startswith("id: "):
                    last_id = text[4:]
                elif text.startswith("event: "):
                    kind = text[7:]
                elif text.startswith("data: ") and kind == "message":
                    results.arrive(int(json.loads(text[6:])["id"]), now)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
    if not ready.done():
        ready.set_result(False)


async def poller(port, cookie, conversation_id, results, stop, counter, every=POLL_SECONDS):
    """One chat polling get-new-messages every ``every`` seconds, from a random phase."""
    last = 0
    await asyncio.sleep(random.uniform(0, every))
    while not stop.is_set():
        started = time.monotonic()
        body = json.dumps({"function": "get-new-messages", "conversation_id": conversation_id,
                           "datetime": str(last)}).encode()
        try:
            status, payload = await http_request(port, "POST", "/widget/api", {
                "Authorization": f"Bearer {cookie}", "Content-Type": "application/json"}, body)
            now = time.monotonic()
            counter[0] += 1
            if status == 200:
                for message in json.loads(payload).get("response") or []:
                    last = max(last, int(message["id"]))
                    results.arrive(int(message["id"]), now)
        except (OSError, ValueError):
            counter[1] += 1
        await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))


def sender(port, token, agent_id, conversations, rate, seconds, results):
    """``rate`` replies a second for ``seconds`` (then no more), each to a random chat,
    several at a time so that a slow answer does not hold back the next reply; waits for
    the answers (at most a minute after the window)."""
    from concurrent.futures import ThreadPoolExecutor, wait
    local = threading.local()

    def send(index):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        left = time.monotonic()
        try:
            answer = session.post(f"http://127.0.0.1:{port}/api", timeout=120, json={
                "function": "send-message", "user_id": agent_id,
                "conversation_id": random.choice(conversations), "message": f"reply {index}"},
                headers={"Authorization": f"Bearer {token}"})
            message_id = int(answer.json()["response"]["message-id"])
        except (requests.RequestException, ValueError, KeyError, TypeError):
            with results.lock:
                results.send_errors += 1
            return
        at = time.monotonic()
        with results.lock:
            results.answered[message_id] = at
            results.requested[message_id] = left

    futures = []
    pool = ThreadPoolExecutor(max_workers=16)
    start = time.monotonic()
    index = 0
    while True:
        due = start + index / rate
        if due - start >= seconds:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(send, index))
        index += 1
    # replies not yet sent when the window ends are dropped (a saturated API answers late)
    pool.shutdown(wait=False, cancel_futures=True)
    started = [future for future in futures if not future.cancelled()]
    wait(started, timeout=60)
    return len(started)


async def run_mode(mode, servers, token, agent_id, visitors, args):
    results = Results()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    tasks, counter = [], [0, 0]
    if mode == "streams":
        readies = []
        for index, (cookie, _) in enumerate(visitors):
            ready = loop.create_future()
            readies.append(ready)
            tasks.append(asyncio.create_task(stream_reader(servers.events_port, cookie, results,
                                                           ready, stop)))
            if index % 100 == 99:
                await asyncio.wait(readies[-100:], timeout=60)
        for cookie, conversation_id in visitors if args.safety_poll else ():  # as the widget
            tasks.append(asyncio.create_task(poller(servers.api_port, cookie, conversation_id,
                                                    results, stop, counter,
                                                    every=args.safety_poll)))
        if readies:
            await asyncio.wait(readies, timeout=60)
        opened = sum(1 for r in readies if r.done() and r.result())
    else:
        for cookie, conversation_id in visitors:
            tasks.append(asyncio.create_task(poller(servers.api_port, cookie, conversation_id,
                                                    results, stop, counter)))
        opened = len(visitors)
    await asyncio.sleep(args.warmup)
    pids = servers.pids()
    cpu_before, wall_before, polls_before = cpu_seconds(pids), time.monotonic(), counter[0]
    attempted = await loop.run_in_executor(None, sender, servers.api_port, token, agent_id,
                               [c for _, c in visitors], args.rate, args.seconds, results)
    await asyncio.sleep(args.drain)
    cpu = cpu_seconds(pids) - cpu_before
    wall = time.monotonic() - wall_before
    polls = counter[0] - polls_before
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = sorted(results.latencies())
    sent = len(results.answered)

    def pick(q, values=latencies):
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) \
            if values else None
    from_request = sorted(results.from_request())
    return {"mode": mode, "chats": len(visitors), "open": opened, "replies_attempted": attempted,
            "replies_sent": sent, "send_errors": results.send_errors,
            "replies_delivered": len(latencies),
            "latency_ms": {"median": round(statistics.median(latencies) * 1000, 1) if latencies else None,
                           "p90": pick(0.90), "p99": pick(0.99), "max": pick(1.0)},
            "from_request_ms": {"median": pick(0.5, from_request), "p99": pick(0.99, from_request)},
            "server_cpu_seconds": round(cpu, 2), "window_seconds": round(wall, 1),
            "server_cpu_cores": round(cpu / wall, 2),
            "polls_per_second": round(polls / wall, 1),
            "polls_per_second_wanted": round(len(visitors) / POLL_SECONDS, 1) if mode == "polling"
            else round(len(visitors) / args.safety_poll, 1) if args.safety_poll else 0,
            "server_cpu_ms_per_poll": round(cpu * 1000 / polls, 2) if mode == "polling" and polls else None,
            "poll_errors": counter[1]}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.realtime",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="replies a second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long replies are sent")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument("--modes", default="streams,polling")
    parser.add_argument("--safety-poll", type=float, default=SAFETY_POLL_SECONDS,
                        help="streams mode: each chat's get-new-messages interval, as the "
                        "widget polls while its stream is up; 0: none (default: %(default)s)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9",
                        help="SB_REDIS_URL of the servers, or 'none' (default: %(default)s)")
    parser.add_argument("--database", help="a server database URL (default: a temporary "
                        "SQLite file; a server database is emptied first)")
    parser.add_argument("--output", help="also write the results as JSON to this file")
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # SIGTERM stops the servers too (the finally blocks below run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="sbcore-bench-realtime-")
    report = {"started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
              "cores": os.cpu_count(), "chats": args.chats, "rate": args.rate,
              "seconds": args.seconds, "redis": args.redis, "results": []}
    try:
        for mode in args.modes.split(","):
            database = args.database or f"sqlite:///{workdir}/{mode}.db"
            env = dict(os.environ, SB_DATABASE_URL=database, SB_UPLOADS_DIR=f"{workdir}/uploads",
                       SB_DATA_DIR=workdir, SB_WORKER="off", SB_BCRYPT_ROUNDS="4",
                       SB_REDIS_URL="" if args.redis == "none" else args.redis,
                       SB_PUBLIC_URL="http://127.0.0.1")
            env.pop("SB_SECRET_KEY", None)
            if args.database:
                reset_database(env)
            print(f"[{mode}] preparing {args.chats} chats", flush=True)
            token, agent_id, visitors = prepare(env, args.chats)
            servers = Servers(env, events=mode == "streams")
            servers.start()
            try:
                print(f"[{mode}] running", flush=True)
                result = asyncio.run(run_mode(mode, servers, token, agent_id, visitors, args))
            finally:
                servers.stop()
            print(json.dumps(result), flush=True)
            report["results"].append(result)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(report, handle, indent=2)
    return 0


def reset_database(env):
    from sbcore.config import Config
    from sbcore.core import Core
    from sbcore.testing import reset_server_database
    core = Core(Config.from_env(environ=env, env_file=None), load_entrypoints=False)
    reset_server_database(core)
    core.close()


if __name__ == "__main__":
    sys.exit(main())
