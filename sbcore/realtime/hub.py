"""The hub of one process: its readers (one :class:`Subscription` per open stream),
indexed by visitor so that an event reaches its readers without a scan, and the read
of ``sb_stream_events`` that brings events written by other processes.

An event is a dict ``{"id", "kind", "audience", "user_id", "conversation_id", "data"}``
(``data`` is JSON text, encoded once by the writer)."""

import logging
import queue
import threading
import time
from collections import deque

from .. import db as dbmod
from ..models.realtime import AUDIENCE_ALL, StreamEvent

log = logging.getLogger("sbcore.realtime")


def event_of(row):
    return {"id": row.id, "kind": row.kind, "audience": row.audience, "user_id": row.user_id,
            "conversation_id": row.conversation_id, "data": row.data}


class Subscription:
    """One open stream: a visitor's (``user_id``) or an agent's (``agent=True``, sees
    every conversation). Events wait in ``queue``; a reader that falls ``QUEUE``
    events behind is ``overflowed`` and its stream ends, to resume from its
    ``Last-Event-ID``."""

    QUEUE = 2000

    def __init__(self, user_id=None, agent=False):
        self.user_id = user_id
        self.agent = agent
        self.queue = queue.Queue(maxsize=self.QUEUE)
        self.overflowed = False

    def sees(self, event):
        return self.agent or (event["audience"] == AUDIENCE_ALL and event["user_id"] == self.user_id)

    def put(self, event):
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout):
        """The next event, or None after ``timeout`` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Hub:
    TAIL_LOCAL = 0.25     # seconds between reads of the table without Redis
    TAIL_REDIS = 2.0      # with Redis, the read only fills what pub/sub lost
    LATE_SECONDS = 30     # a transaction commits within this long of writing its event
    GAPS = 5000           # ids not yet seen that are still awaited, at most
    SEEN = 50000          # ids remembered, so that the broker and the read deliver once
    BATCH = 1000
    REPLAY = 1000         # events a reconnect replays at most; beyond, the reader resets

    def __init__(self, broker, tail_every=TAIL_LOCAL):
        self.broker = broker
        self.tail_every = tail_every
        self.lock = threading.Lock()
        self.visitors = {}       # user id -> set of subscriptions
        self.agents = set()
        self.seen = set()
        self.seen_order = deque()
        self.cursor = None       # the highest id read from the table
        self.gaps = {}           # id below the cursor not read yet -> when to stop awaiting it
        self.started = False
        self.stopping = threading.Event()
        self.tail_thread = None

    # --- readers ---

    def subscribe(self, user_id=None, agent=False):
        subscription = Subscription(user_id=user_id, agent=agent)
        self.start()
        with self.lock:
            if agent:
                self.agents.add(subscription)
            else:
                self.visitors.setdefault(user_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription):
        with self.lock:
            if subscription.agent:
                self.agents.discard(subscription)
            else:
                readers = self.visitors.get(subscription.user_id)
                if readers is not None:
                    readers.discard(subscription)
                    if not readers:
                        del self.visitors[subscription.user_id]

    def visitor_ids(self):
        """The visitors with an open stream here."""
        with self.lock:
            return list(self.visitors)

    def readers(self):
        with self.lock:
            return len(self.agents) + sum(len(s) for s in self.visitors.values())

    def replay(self, subscription, last_id):
        """The events after ``last_id`` that ``subscription`` may see (and, since ids are
        handed out before commit, those of the last ``LATE_SECONDS`` with a lower id),
        or None when more are missing than a replay holds, or when events after
        ``last_id`` may have been pruned: the reader starts afresh."""
        with dbmod.connection():
            oldest = StreamEvent.select(StreamEvent.id).order_by(StreamEvent.id).first()
            if last_id > 0 and (oldest is None or oldest.id > last_id + 1):
                return None  # what followed last_id may have been pruned: start afresh
            floor = (StreamEvent.select(StreamEvent.id)
                     .where(StreamEvent.created_ts > time.time() - self.LATE_SECONDS)
                     .order_by(StreamEvent.created_ts).first())
            start = last_id if floor is None else min(last_id, floor.id - 1)
            query = StreamEvent.select().where(StreamEvent.id > start)
            if not subscription.agent:
                query = query.where((StreamEvent.user_id == subscription.user_id)
                                    & (StreamEvent.audience == AUDIENCE_ALL))
            rows = list(query.order_by(StreamEvent.id).limit(self.REPLAY + 1))
        if len(rows) > self.REPLAY:
            return None
        return [event_of(row) for row in rows]

    # --- events ---

    def publish(self, events):
        """Called after the commit that wrote ``events``: to every hub through the broker."""
        if events:
            self.broker.publish(events)

    def dispatch(self, events):
        """Hand each event not seen before to the readers that may see it."""
        with self.lock:
            for event in events:
                event_id = event["id"]
                if event_id in self.seen:
                    continue
                self.seen.add(event_id)
                self.seen_order.append(event_id)
                if len(self.seen_order) > self.SEEN:
                    self.seen.discard(self.seen_order.popleft())
                self.gaps.pop(event_id, None)
                for subscription in self.agents:
                    subscription.put(event)
                if event["audience"] == AUDIENCE_ALL:
                    for subscription in self.visitors.get(event["user_id"], ()):
                        subscription.put(event)

    # --- the read of the table ---

    def start(self):
        """Start listening (the broker and the read of the table) with the first reader:
        a process that serves no stream does no work for them."""
        with self.lock:
            if self.started:
                return
            self.started = True
        with dbmod.connection():
            last = StreamEvent.select(StreamEvent.id).order_by(StreamEvent.id.desc()).first()
        self.cursor = last.id if last is not None else 0
        self.broker.start(self.dispatch)
        self.tail_thread = threading.Thread(target=self.tail_forever, name="sbcore-realtime-tail",
                                            daemon=True)
        self.tail_thread.start()

    def tail_forever(self):
        while not self.stopping.wait(self.tail_every):
            try:
                while self.tail_once() >= self.BATCH and not self.stopping.is_set():
                    pass
            except Exception:
                log.exception("reading the realtime events failed; trying again")

    def tail_once(self, now=None):
        """Read the events after the cursor and those awaited below it; dispatch them."""
        now = time.time() if now is None else now
        with self.lock:
            self.gaps = {i: until for i, until in self.gaps.items() if until > now}
            awaited = sorted(self.gaps)[:self.BATCH]
            cursor = self.cursor
        with dbmod.connection():  # two index searches (an OR of them would be a scan)
            rows = list(StreamEvent.select().where(StreamEvent.id > cursor)
                        .order_by(StreamEvent.id).limit(self.BATCH))
            if awaited:
                rows = list(StreamEvent.select().where(StreamEvent.id.in_(awaited))) + rows
        fresh = [row.id for row in rows if row.id > cursor]
        with self.lock:
            expected = cursor + 1
            for row_id in fresh:
                for missing in range(expected, min(row_id, expected + self.GAPS)):
                    if len(self.gaps) < self.GAPS:
                        self.gaps[missing] = now + self.LATE_SECONDS
                expected = row_id + 1
            if fresh:
                self.cursor = max(self.cursor, fresh[-1])
        self.dispatch([event_of(row) for row in rows])
        return len(rows)

    def close(self):
        self.stopping.set()
        self.broker.stop()
        if self.tail_thread is not None:
            self.tail_thread.join(timeout=5)
