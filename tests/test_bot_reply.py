"""sbcore_bot_reply: a chatbot plugin answers users' messages after the commit, with no
transaction open; its failure never fails the user's call."""

import types

import pytest

from sbcore import conversations as C
from sbcore import db as dbmod
from sbcore import users as U
from sbcore import hookimpl
from sbcore.functions.users import ensure_bot
from sbcore.models import Message


def make_bot(name, answer=True, fail=False):
    calls = []

    @hookimpl
    def sbcore_bot_reply(ctx, conversation, message):
        calls.append((message.message, ctx.core.database.in_transaction()))
        if fail:
            raise RuntimeError("the chatbot is down")
        if not answer:
            return None
        with ctx.core.database.atomic():
            C.add_message(ctx, ensure_bot(ctx), conversation, f"{name}: {message.message}")
        return True

    return types.SimpleNamespace(__name__=name, sbcore_bot_reply=sbcore_bot_reply, calls=calls)


QUIET, ANSWERS, BROKEN = make_bot("quiet", answer=False), make_bot("answers"), make_bot("broken", fail=True)


@pytest.fixture
def sbcore_plugins():
    return [ANSWERS, QUIET]  # pluggy calls the last registered first: QUIET, then ANSWERS


@pytest.fixture(autouse=True)
def fresh_calls():
    for bot in (QUIET, ANSWERS, BROKEN):
        bot.calls.clear()


def setup_conversation(api):
    user_id = api.ok("add-user", first_name="Ann")
    return user_id, int(api.ok("new-conversation", user_id=user_id)["details"]["id"])


def texts(api, conversation_id):
    return [m["message"] for m in api.ok("get-conversation", conversation_id=conversation_id)["messages"]]


def test_a_users_message_is_answered_after_the_commit(api):
    user_id, conversation_id = setup_conversation(api)
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Hello")
    assert QUIET.calls == [("Hello", False)] and ANSWERS.calls == [("Hello", False)]
    assert texts(api, conversation_id) == ["Hello", "answers: Hello"]


def test_agents_and_the_bot_are_not_answered_and_an_agent_reply_silences_the_bot(api):
    user_id, conversation_id = setup_conversation(api)
    agent_id = api.ok("add-user", first_name="Al", user_type="agent", email="al@example.com")
    api.ok("send-message", user_id=agent_id, conversation_id=conversation_id, message="Hi, I am Al")
    assert ANSWERS.calls == []
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Hello Al")
    assert ANSWERS.calls == [] and texts(api, conversation_id) == ["Hi, I am Al", "Hello Al"]


def test_a_human_takeover_silences_the_bot(api, core):
    user_id, conversation_id = setup_conversation(api)
    with dbmod.connection(), core.database.atomic():
        ctx = core.context()
        C.add_message(ctx, ensure_bot(ctx), C.require_conversation(conversation_id), "",
                      payload=C.HUMAN_TAKEOVER_PAYLOAD)
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Hello?")
    assert ANSWERS.calls == []


class TestFailure:
    @pytest.fixture
    def sbcore_plugins(self):
        return [BROKEN]

    def test_a_failing_chatbot_never_fails_the_users_message(self, api, core, caplog):
        user_id, conversation_id = setup_conversation(api)
        api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Hello")
        assert BROKEN.calls == [("Hello", False)]
        assert "the chatbot's answer" in caplog.text
        with dbmod.connection():
            assert Message.select().where(Message.conversation == conversation_id).count() == 1


class TestNoChatbot:
    @pytest.fixture
    def sbcore_plugins(self):
        return []

    def test_nothing_is_scheduled_without_a_chatbot(self, api, ctx):
        user_id, conversation_id = setup_conversation(api)
        with ctx.core.database.atomic():
            C.add_message(ctx, U.require_user(user_id), C.require_conversation(conversation_id), "Hello")
        assert not ctx._after_commit


def test_a_chatbot_is_scheduled_after_the_commit(api, ctx):
    user_id, conversation_id = setup_conversation(api)
    with ctx.core.database.atomic():
        C.add_message(ctx, U.require_user(user_id), C.require_conversation(conversation_id), "Hello")
    assert len(ctx._after_commit) == 1 and ANSWERS.calls == []
    ctx.run_after_commit()
    assert ANSWERS.calls == [("Hello", False)]


def make_switched_bot(name, active):
    bot = make_bot(name)
    asked = []

    @hookimpl
    def sbcore_bot_active(ctx):
        asked.append(ctx.core.database.in_transaction())
        return active[0]

    bot.sbcore_bot_active, bot.asked = sbcore_bot_active, asked
    return bot


SWITCH = [False]
SWITCHED = make_switched_bot("switched", SWITCH)


class TestBotActive:
    @pytest.fixture
    def sbcore_plugins(self):
        return [SWITCHED]

    def test_a_chatbot_that_is_off_is_not_scheduled_and_on_it_is(self, api, ctx):
        SWITCHED.calls.clear()
        SWITCHED.asked.clear()
        SWITCH[0] = False
        user_id, conversation_id = setup_conversation(api)
        with ctx.core.database.atomic():
            C.add_message(ctx, U.require_user(user_id), C.require_conversation(conversation_id), "Hi")
        assert SWITCHED.asked == [True] and not ctx._after_commit  # asked in the transaction
        api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Hello")
        assert SWITCHED.calls == []
        SWITCH[0] = True
        api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Again")
        assert SWITCHED.calls == [("Again", False)]
        assert texts(api, conversation_id)[-1] == "switched: Again"


class TestUndeclared:
    @pytest.fixture
    def sbcore_plugins(self):
        return [SWITCHED, ANSWERS]  # ANSWERS does not say whether it is on: it is asked

    def test_a_chatbot_without_the_switch_hook_is_still_asked(self, api):
        SWITCHED.calls.clear()
        SWITCH[0] = False
        user_id, conversation_id = setup_conversation(api)
        api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Hello")
        assert ANSWERS.calls == [("Hello", False)] and SWITCHED.calls == []
