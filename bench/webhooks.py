"""Webhook benchmark: what the outbox adds to send-message, how fast the inline worker
delivers to a healthy receiver, and how fast a backlog drains after an outage.

    python -m bench.webhooks [--calls 500] [--backlog 1000]

Everything runs in one process on a temporary SQLite database, with a loopback
receiver (SB_ALLOW_PRIVATE_NETWORK on, as for any local receiver)."""

import argparse
import statistics
import tempfile
import time

import sbcore
from sbcore import db as dbmod
from sbcore import webhooks
from sbcore.models import Event
from sbcore.testing import Receiver
from sbcore.worker import start_inline


def median_ms(samples):
    return statistics.median(samples) * 1000


def p99_ms(samples):
    return sorted(samples)[int(len(samples) * 0.99) - 1] * 1000


def send_times(core, user_id, conversation_id, calls):
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        core.call("send-message", user_id=user_id, conversation_id=conversation_id, message=f"m{i}")
        samples.append(time.perf_counter() - started)
    return samples


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--backlog", type=int, default=1000)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="sbcore-bench-webhooks-")
    receiver = Receiver()
    core = sbcore.connect(f"sqlite:///{folder}/w.db", uploads_dir=f"{folder}/uploads",
                          allow_private_network=True, worker="off")
    try:
        user_id = core.call("add-user", first_name="Bench")
        cid = int(core.call("new-conversation", user_id=user_id)["details"]["id"])
        send_times(core, user_id, cid, 50)  # warm-up

        # 1. The outbox's cost: send-message with and without the webhooks plugin.
        plugin = core.pm.unregister(name="sbcore.webhooks")
        without = send_times(core, user_id, cid, args.calls)
        core.pm.register(plugin, name="sbcore.webhooks")
        with dbmod.connection():
            core.settings.set("webhooks", {"webhooks-active": True, "webhooks-url": receiver.url,
                                           "webhooks-key": "k", "webhooks-allowed": "message-sent"})
        with_outbox = send_times(core, user_id, cid, args.calls)
        while webhooks.deliver_pending(core)[0]:
            pass

        # 2. Latency to a healthy receiver with the inline worker.
        stop = start_inline(core)
        latencies = []
        try:
            time.sleep(0.3)
            for i in range(200):
                before = len(receiver.requests)
                started = time.perf_counter()
                core.call("send-message", user_id=user_id, conversation_id=cid, message=f"l{i}")
                while len(receiver.requests) == before and time.perf_counter() - started < 10:
                    time.sleep(0.001)
                latencies.append(time.perf_counter() - started)
        finally:
            stop.set()
            stop.thread.join()

        # 3. A backlog written during an outage drains after the receiver returns.
        with dbmod.connection():
            core.settings.set("webhooks", {"webhooks-active": True, "webhooks-url": receiver.url,
                                           "webhooks-key": "k", "webhooks-allowed": ""})
        with dbmod.connection(), core.database.atomic():
            core.context().emit_many("user-deleted", [str(i) for i in range(args.backlog)])
            Event.update(attempts=12, next_attempt=time.time() + 3000).where(
                Event.status == "pending").execute()
        received_before = len(receiver.requests)
        started = time.perf_counter()
        stop = start_inline(core)
        try:
            core.call("send-message", user_id=user_id, conversation_id=cid, message="back")
            while (len(receiver.requests) - received_before < args.backlog + 1
                   and time.perf_counter() - started < 120):
                time.sleep(0.01)
            drained = time.perf_counter() - started
        finally:
            stop.set()
            stop.thread.join()
        delivered = len(receiver.requests) - received_before
    finally:
        core.close()
        receiver.close()

    print(f"send-message without the outbox: median {median_ms(without):.2f} ms, p99 {p99_ms(without):.2f} ms")
    print(f"send-message with the outbox:    median {median_ms(with_outbox):.2f} ms, "
          f"p99 {p99_ms(with_outbox):.2f} ms  (+{median_ms(with_outbox) - median_ms(without):.2f} ms)")
    print(f"inline delivery to a healthy receiver: median {median_ms(latencies):.1f} ms, "
          f"p99 {p99_ms(latencies):.1f} ms, max {max(latencies) * 1000:.1f} ms (200 events)")
    print(f"backlog of {args.backlog}: {delivered} delivered in {drained:.1f} s after the receiver returned")


if __name__ == "__main__":
    main()
