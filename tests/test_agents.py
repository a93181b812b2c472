"""Agents, presence, typing, the bot and the current URL."""

import time

import pytest

from sbcore import db as dbmod
from sbcore.models import User
from sbcore.presence import DatabasePresence, RedisPresence
from sbcore.testing import assert_shape, reference_example


def age(user_id, seconds):
    """Make a user's last activity ``seconds`` old."""
    from datetime import timedelta

    from sbcore.db import utcnow
    with dbmod.connection():
        User.update(last_activity=utcnow() - timedelta(seconds=seconds)).where(
            User.id == user_id).execute()


def test_get_agent(api):
    agent = api.ok("add-user", email="agent@example.com", user_type="agent",
                   extra={"location": ["Rome", "Location"]})
    result = api.ok("get-agent", agent_id=agent)
    assert result["user_type"] == "agent" and result["details"][0]["value"] == "Rome"
    assert_shape(result, reference_example("get-agent"))
    visitor = api.ok("add-user")
    assert api.ok("get-agent", agent_id=visitor) is False
    assert api.ok("get-agent", agent_id=999999) is False
    assert api.call("get-agent").status == 400


def test_get_agents_ids(api):
    agent = api.ok("add-user", email="agent@example.com", user_type="agent")
    api.ok("add-user")
    admin_id = int(api.ok("get-user-by", by="email", value="admin@example.com")["id"])
    assert api.ok("get-agents-ids") == sorted([agent, admin_id])
    assert api.ok("get-agents-ids", admins=False) == [agent]
    assert api.call("get-agents-ids", admins="maybe").status == 400


def test_online_window_and_agents_online(api):
    agent = api.ok("add-user", email="agent@example.com", user_type="agent")
    visitor = api.ok("add-user")
    admin_id = int(api.ok("get-user-by", by="email", value="admin@example.com")["id"])
    for user_id in (agent, visitor, admin_id):
        age(user_id, 3600)
    assert api.ok("agents-online") is False
    assert api.ok("is-online", user_id=visitor) is False
    age(visitor, 5)
    assert api.ok("is-online", user_id=visitor) is True
    assert api.ok("agents-online") is False
    age(agent, 29)
    assert api.ok("agents-online") is True
    online = api.ok("get-online-users")
    assert {r["id"] for r in online} == {str(agent), str(visitor)}
    assert_shape(online, reference_example("get-online-users"))
    assert [r["id"] for r in api.ok("get-online-users", agents=True)] == [str(agent)]
    assert [r["id"] for r in api.ok("get-online-users", exclude_id=[agent])] == [str(visitor)]
    assert api.call("get-online-users", sorting="token").status == 400
    age(agent, 31)
    assert api.ok("agents-online") is False
    assert api.ok("is-online", user_id=999999) is False


def test_online_window_is_a_setting(api, core):
    visitor = api.ok("add-user")
    age(visitor, 100)
    assert api.ok("is-online", user_id=visitor) is False
    with dbmod.connection():
        core.settings.set("presence-online-seconds", 300)
    assert api.ok("is-online", user_id=visitor) is True


def test_typing(api, core):
    agent = api.ok("add-user", email="agent@example.com", first_name="Ann", last_name="Lee",
                   user_type="agent")
    visitor = api.ok("add-user")
    assert api.ok("is-agent-typing", conversation_id=7) == ""  # Support Board 3.8's none
    assert api.ok("set-typing", user_id=visitor, conversation_id=7) is True
    assert api.ok("is-typing", user_id=visitor, conversation_id=7) is True
    assert api.ok("is-typing", user_id=visitor, conversation_id=8) is False
    assert api.ok("is-agent-typing", conversation_id=7) == ""
    api.ok("set-typing", user_id=agent, conversation_id=7)
    answer = api.ok("is-agent-typing", conversation_id=7)
    assert answer == {"id": str(agent), "first_name": "Ann", "last_name": "Lee"}
    assert_shape(answer, reference_example("is-agent-typing"))
    api.ok("set-typing", user_id=agent, conversation_id=-1)
    assert api.ok("is-agent-typing", conversation_id=7) == ""
    assert api.ok("is-online", user_id=visitor) is True
    result = api.call("set-typing", user_id=999999, conversation_id=7)
    assert (result.status, result.response) == (404, "user-not-found")


def test_typing_expires(api, core):
    visitor = api.ok("add-user")
    with dbmod.connection():
        core.settings.set("presence-typing-seconds", 0.3)
    api.ok("set-typing", user_id=visitor, conversation_id=3)
    assert api.ok("is-typing", user_id=visitor, conversation_id=3) is True
    time.sleep(0.4)
    assert api.ok("is-typing", user_id=visitor, conversation_id=3) is False


def redis_client():
    """The machine's Redis, or a loud skip."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("REDIS NOT REACHABLE on 127.0.0.1:6379: the Redis presence test did not run")
    return client


@pytest.fixture(params=["database", "redis"])
def presence(request, ctx):
    if request.param == "database":
        yield DatabasePresence()
        return
    client = redis_client()
    prefix = f"sbtest:{time.time_ns()}:"
    yield RedisPresence(client, prefix=prefix)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


def test_presence_backends_agree(presence, ctx):
    from sbcore import users as U
    a = U.create_user(ctx, first_name="A").id
    b = U.create_user(ctx, first_name="B").id
    age(a, 3600)
    age(b, 3600)
    presence.touch(a)
    assert presence.is_online(a, 30) and not presence.is_online(b, 30)
    online = [u.id for u in User.select().where(presence.online_filter(30) & User.id.in_([a, b]))]
    assert online == [a]
    presence.set_typing(a, 5, 10)
    presence.set_typing(b, 5, 10)
    assert sorted(presence.typing_in(5)) == [a, b]
    presence.set_typing(a, 6, 10)  # one conversation at a time
    assert presence.typing_in(5) == [b] and presence.typing_in(6) == [a]
    presence.clear_typing(b)
    assert presence.typing_in(5) == []
    presence.set_typing(b, 9, 0.2)
    time.sleep(0.3)
    assert presence.typing_in(9) == []


def test_redis_presence_shared_between_cores(tmp_path):
    """Two processes' cores with the same SB_REDIS_URL see the same online users."""
    client = redis_client()
    prefix = f"sbtest:{time.time_ns()}:"
    import redis
    first, second = RedisPresence(client, prefix), RedisPresence(
        redis.Redis.from_url("redis://127.0.0.1:6379/0"), prefix)
    first.redis.zadd(first.online_key, {"41": time.time()})
    assert second.is_online(41, 30) and second.online_ids(30) == [41]
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


def test_bot(api, core):
    bot_id = api.ok("get-bot-id")
    assert isinstance(bot_id, str) and bot_id.isdigit()  # 3.8: a numeric string
    assert api.ok("update-bot", name="Helper", profile_image="https://example.com/bot.png") is True
    with dbmod.connection():
        bot = User.get_by_id(bot_id)
    assert (bot.first_name, bot.user_type, bot.profile_image) == (
        "Helper", "bot", "https://example.com/bot.png")
    assert api.ok("get-bot-id") == bot_id
    assert str(bot_id) not in {r["id"] for r in api.ok("get-users")}
    with dbmod.connection():
        User.delete().where(User.id == bot_id).execute()
    assert api.ok("update-bot", name="Reborn") is True
    new_id = api.ok("get-bot-id")
    assert new_id != bot_id
    with dbmod.connection():
        assert User.get_by_id(new_id).first_name == "Reborn"


def test_current_url(api, snapshot):
    user_id = api.ok("add-user")
    assert api.ok("current-url", user_id=user_id) is False
    assert api.ok("current-url", user_id=user_id, url="https://board.support/pricing") is True
    assert api.ok("current-url", user_id=user_id) == "https://board.support/pricing"
    assert api.ok("get-user-extra", user_id=user_id, slug="current_url") == "https://board.support/pricing"
    before = snapshot()
    assert api.call("current-url", user_id=user_id, url="javascript:alert(1)").status == 400
    assert api.call("current-url", user_id=999999, url="https://x.example").status == 404
    assert snapshot() == before
