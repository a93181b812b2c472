"""Brokers carry committed events to the hubs: in-process, or through Redis pub/sub.

A broker has ``publish(events)`` (called after commit, by the writer) and
``start(deliver)`` (called once by the hub, with the function that takes the events
of every publisher)."""

import json
import logging
import threading
import time

log = logging.getLogger("sbcore.realtime")


class LocalBroker:
    """Fan-out inside this process only; other processes learn of the events from
    the hub's read of the table."""

    def __init__(self):
        self.deliver = None

    def start(self, deliver):
        self.deliver = deliver

    def publish(self, events):
        if self.deliver is not None:
            self.deliver(events)

    def stop(self):
        self.deliver = None


class RedisBroker:
    """Redis pub/sub on one channel: every hub subscribed to it, on every host, gets
    every event. A lost connection is retried; the hub's read of the table fills what
    was missed meanwhile."""

    RETRY_SECONDS = (0.5, 1, 2, 5)

    def __init__(self, client, channel="sbcore:events"):
        self.redis = client
        self.channel = channel
        self.deliver = None
        self.stopping = threading.Event()
        self.thread = None

    def publish(self, events):
        try:
            self.redis.publish(self.channel, json.dumps(events, separators=(",", ":")))
        except Exception:  # the row is committed: readers get it from the table
            log.exception("could not publish %d realtime events to Redis", len(events))

    def start(self, deliver):
        self.deliver = deliver
        self.thread = threading.Thread(target=self.listen, name="sbcore-realtime-redis",
                                       daemon=True)
        self.thread.start()

    def listen(self):
        failures = 0
        while not self.stopping.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                failures = 0
                while not self.stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self.receive(message["data"])
            except Exception:
                log.exception("the Redis subscription of realtime events failed; retrying")
                delay = self.RETRY_SECONDS[min(failures, len(self.RETRY_SECONDS) - 1)]
                failures += 1
                self.stopping.wait(delay)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    pass

    def receive(self, payload):
        try:
            events = json.loads(payload)
        except ValueError:
            log.warning("ignored a realtime message that is not JSON")
            return
        if isinstance(events, list) and self.deliver is not None:
            self.deliver([e for e in events if isinstance(e, dict) and isinstance(e.get("id"), int)])

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        time.sleep(0)
