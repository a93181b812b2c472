"""Realtime: the events that readers of ``/widget/events`` and ``/admin/events`` see.

Writers (``sbcore.realtime.events``) add a ``sb_stream_events`` row in the transaction of
the change and hand the event to the broker once that transaction has committed. The
broker fans it out to this process's :class:`Hub` (in-process, the default) or, with
``SB_REDIS_URL``, through Redis pub/sub to every process on every host. Each hub also
reads the table now and then (one indexed query per process, only while it has
readers), which carries events between processes without Redis and catches any that a
broker lost; the row id is the stream's ``Last-Event-ID``, so a reconnect replays what it
missed."""

from .broker import LocalBroker, RedisBroker
from .hub import Hub, Subscription


def make_hub(redis_url, prefix="sbcore:"):
    """The hub of this process: Redis pub/sub when ``redis_url`` is set, else in-process."""
    if not redis_url:
        return Hub(LocalBroker(), tail_every=Hub.TAIL_LOCAL)
    import redis
    client = redis.Redis.from_url(redis_url)
    # pub/sub channels are shared by every database number of a Redis server: the
    # number is in the channel's name, so that two sbcores on one Redis never mix
    number = client.connection_pool.connection_kwargs.get("db", 0)
    return Hub(RedisBroker(client, channel=f"{prefix}events:{number}"), tail_every=Hub.TAIL_REDIS)


__all__ = ["Hub", "Subscription", "LocalBroker", "RedisBroker", "make_hub"]
