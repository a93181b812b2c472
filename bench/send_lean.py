"""send-message at N concurrent clients with a lean client, to tell the server's
throughput from the load client's CPU on a machine where both share the cores.

    python -m bench.send_lean --database URL [--clients 4] [--requests 500]

The database must hold rows already (``python -m bench.generate --database URL``). It
serves them with gunicorn (2 workers) as ``bench.run`` does and sends form-encoded
send-message calls over one keep-alive ``http.client`` connection per client thread, to
conversations outside ``bench.conversations``' sample. ``bench.run``'s ``requests``
client spends about 0.8–1.0 ms of CPU a call on the same 2 cores; this one about 0.3 ms.
Any answer but a success stops the run."""

import argparse
import http.client
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse

from . import conversations
from .run import free_port, open_core, sbcore, start_server, stop_server

BOOT_SECONDS = 5


def send_all(port, token, writable, clients, count, seed):
    """Latencies (s) of ``count`` calls from each of ``clients`` threads, and the wall time."""
    latencies, failures = [], []

    def client(number):
        rng = random.Random(seed * 1000 + number)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for call in range(count + 5):  # 5 warm-up calls, not counted
            conversation_id, user_id = rng.choice(writable)
            body = urllib.parse.urlencode({"token": token, "function": "send-message",
                                           "user_id": user_id, "conversation_id": conversation_id,
                                           "message": f"lean client {number}.{call}"})
            started = time.perf_counter()
            connection.request("POST", "/api", body,
                               {"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                failures.append(answer[:300])
                return
            if call >= 5:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, failures


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.send_lean", description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, help="a database URL holding generated rows")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=500, help="calls per client")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="sbcore-lean-")
    port = free_port()
    env = dict(os.environ, SB_DATABASE_URL=args.database, SB_UPLOADS_DIR=os.path.join(tmp, "uploads"),
               SB_PUBLIC_URL=f"http://127.0.0.1:{port}", SB_WORKER="off", SB_BCRYPT_ROUNDS="4")
    token = sbcore(env, "create-admin", "--email", f"lean-{os.getpid()}@example.com",
                   "--password", "lean-Bench-1234").strip().splitlines()[-1]
    core = open_core(env)
    try:
        writable = conversations.load(core, token, args.seed).writable
    finally:
        core.close()
    process, _ = start_server(env, port, 2, os.path.join(tmp, "gunicorn.log"))
    time.sleep(BOOT_SECONDS)  # the first worker up answered /health; let the other load the app
    try:
        cpu = time.process_time()
        latencies, wall, failures = send_all(port, token, writable, args.clients, args.requests,
                                             args.seed)
        cpu = time.process_time() - cpu
    finally:
        stop_server(process)
    if failures:
        print(f"failed: {failures[0]!r} (gunicorn log: {tmp}/gunicorn.log)", file=sys.stderr)
        return 1
    latencies.sort()
    median, p95 = statistics.median(latencies), latencies[int(len(latencies) * 0.95)]
    print(f"send-message, {args.clients} clients, {len(latencies)} calls: "
          f"{len(latencies) / wall:.0f} calls/s, median {median * 1000:.2f} ms, "
          f"p95 {p95 * 1000:.2f} ms ({p95 / median:.1f}x the median), "
          f"client CPU {cpu * 1000 / len(latencies):.2f} ms a call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
