"""Presence ("online" = activity within a window) and typing indicators.

Without ``SB_REDIS_URL`` both live in the database (``sb_users.last_activity``,
``sb_typing``); with it they live in Redis, so that every worker and host agrees
without a write to the database on each heartbeat."""

import time
from datetime import timedelta

from .db import utcnow
from .models import Typing, User

LAST_ACTIVITY_WRITE_SECONDS = 60  # with Redis, how often last_activity reaches the database


class DatabasePresence:
    def touch(self, user_id):
        now = utcnow()
        # One UPDATE, skipped by the WHERE when the row is fresh: heartbeats stay cheap.
        User.update(last_activity=now).where(
            (User.id == user_id) & (User.last_activity < now - timedelta(seconds=2))).execute()

    def touch_many(self, user_ids):
        """``touch`` for many users in one statement (the readers of a stream server)."""
        now = utcnow()
        for start in range(0, len(user_ids), 500):
            User.update(last_activity=now).where(
                User.id.in_(user_ids[start:start + 500])
                & (User.last_activity < now - timedelta(seconds=2))).execute()

    def online_filter(self, window):
        return User.last_activity >= utcnow() - timedelta(seconds=window)

    def is_online(self, user_id, window):
        return User.select(User.id).where(
            (User.id == user_id) & self.online_filter(window)).exists()

    def set_typing(self, user_id, conversation_id, seconds):
        until = time.time() + seconds
        updated = Typing.update(conversation_id=conversation_id, until=until).where(
            Typing.user == user_id).execute()
        if not updated:
            Typing.create(user=user_id, conversation_id=conversation_id, until=until)

    def clear_typing(self, user_id):
        Typing.delete().where(Typing.user == user_id).execute()

    def typing_in(self, conversation_id):
        return [row.user_id for row in Typing.select(Typing.user).where(
            (Typing.conversation_id == conversation_id) & (Typing.until > time.time()))]

    def purge(self):
        return Typing.delete().where(Typing.until <= time.time()).execute()


class RedisPresence:
    def __init__(self, client, prefix="sbcore:"):
        self.redis = client
        self.prefix = prefix

    @property
    def online_key(self):
        return self.prefix + "online"

    def typing_key(self, conversation_id):
        return f"{self.prefix}typing:{conversation_id}"

    def touch(self, user_id):
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.zadd(self.online_key, {str(user_id): now})
        pipe.set(f"{self.prefix}seen:{user_id}", 1, nx=True, ex=LAST_ACTIVITY_WRITE_SECONDS)
        _, first_in_window = pipe.execute()
        if first_in_window:
            User.update(last_activity=utcnow()).where(User.id == user_id).execute()

    def touch_many(self, user_ids):
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.zadd(self.online_key, {str(user_id): now for user_id in user_ids})
        for user_id in user_ids:
            pipe.set(f"{self.prefix}seen:{user_id}", 1, nx=True, ex=LAST_ACTIVITY_WRITE_SECONDS)
        firsts = [user_id for user_id, first in zip(user_ids, pipe.execute()[1:]) if first]
        for start in range(0, len(firsts), 500):
            User.update(last_activity=utcnow()).where(User.id.in_(firsts[start:start + 500])).execute()

    def online_ids(self, window):
        cutoff = time.time() - window
        self.redis.zremrangebyscore(self.online_key, "-inf", cutoff - 3600)
        return [int(member) for member in self.redis.zrangebyscore(self.online_key, cutoff, "+inf")]

    def online_filter(self, window):
        return User.id.in_(self.online_ids(window) or [0])

    def is_online(self, user_id, window):
        score = self.redis.zscore(self.online_key, str(user_id))
        return score is not None and score >= time.time() - window

    def set_typing(self, user_id, conversation_id, seconds):
        self.clear_typing(user_id)
        key = self.typing_key(conversation_id)
        pipe = self.redis.pipeline()
        pipe.zadd(key, {str(user_id): time.time() + seconds})
        pipe.expire(key, int(seconds) + 60)
        pipe.set(f"{self.prefix}typing-user:{user_id}", conversation_id, ex=int(seconds) + 60)
        pipe.execute()

    def clear_typing(self, user_id):
        previous = self.redis.get(f"{self.prefix}typing-user:{user_id}")
        if previous is not None:
            self.redis.zrem(self.typing_key(int(previous)), str(user_id))
            self.redis.delete(f"{self.prefix}typing-user:{user_id}")

    def typing_in(self, conversation_id):
        return [int(m) for m in self.redis.zrangebyscore(
            self.typing_key(conversation_id), time.time(), "+inf")]

    def purge(self):
        return 0  # keys expire by themselves


def make_presence(redis_url, prefix="sbcore:"):
    if not redis_url:
        return DatabasePresence()
    import redis
    return RedisPresence(redis.Redis.from_url(redis_url), prefix=prefix)
