"""translate-replies: agents' replies to a platform's user go out in the user's language
through sbcore_translate (a firstresult hook), after the commit, and the translation is
kept in the message's payload."""

import json
import logging

import pytest

from sbcore import ApiError, hookimpl
from sbcore import db as dbmod


class Translator:
    """A translation plugin: ``[<code>] text``; ``answer`` None plays one not configured."""

    def __init__(self):
        self.calls = []
        self.answer = "translate"

    @hookimpl
    def sbcore_translate(self, ctx, strings, language_code):
        self.calls.append((list(strings), language_code, dbmod.database.in_transaction()))
        if self.answer == "fail":
            raise ApiError("google-error", "google answered 403: quota exceeded", 502)
        if self.answer is None:
            return None
        return [f"[{language_code}] {text}" for text in strings]


class Channel:
    """A channel plugin owning the source ``tg``."""

    def __init__(self):
        self.sent = []

    @hookimpl
    def sbcore_channel_send(self, ctx, conversation, message, attachments):
        if conversation.source != "tg":
            return None
        self.sent.append(message)
        return True


@pytest.fixture
def translator():
    return Translator()


@pytest.fixture
def channel():
    return Channel()


@pytest.fixture
def sbcore_plugins(translator, channel):
    return [translator, channel]


@pytest.fixture
def italian(api):
    return api.ok("add-user", first_name="Lia", user_type="lead", extra={"language": ["it", "Language"]})


@pytest.fixture
def on(api):
    api.ok("save-settings", settings={"translate-replies": True})


def payload(api, message_id):
    rows = [m for m in api.ok("get-conversation", conversation_id=message_id[0])["messages"]
            if m["id"] == str(message_id[1])]
    return json.loads(rows[0]["payload"] or "{}")


def reply(api, agent, conversation_id, text):
    return conversation_id, api.ok("send-message", user_id=agent, conversation_id=conversation_id,
                                   message=text)["message-id"]


def test_a_reply_goes_out_in_the_users_language(api, agent, italian, open_conversation, on, translator, channel):
    telegram = open_conversation(italian, source="tg")
    sent = reply(api, agent, telegram, "Your order <b>shipped</b>")
    assert channel.sent == ["[it] Your order <b>shipped</b>"]
    assert translator.calls == [(["Your order <b>shipped</b>"], "it", False)]  # after the commit
    assert payload(api, sent) == {"translation": "[it] Your order <b>shipped</b>", "translation-language": "it"}
    stored = api.ok("get-conversation", conversation_id=telegram)["messages"][-1]
    assert stored["message"] == "Your order <b>shipped</b>"  # the agent's own words stay


def test_browser_language_is_the_fallback(api, agent, open_conversation, on, channel):
    user = api.ok("add-user", first_name="Zhu", extra={"browser_language": ["zh_TW", "Browser language"]})
    reply(api, agent, open_conversation(user, source="tg"), "Hello")
    assert channel.sent == ["[zh-tw] Hello"]


def test_nothing_is_translated_off_unknown_or_from_the_user(api, agent, visitor, italian, open_conversation,
                                                            translator, channel):
    telegram = open_conversation(italian, source="tg")
    reply(api, agent, telegram, "Off")  # the setting is off by default
    api.ok("save-settings", settings={"translate-replies": True})
    reply(api, agent, open_conversation(visitor, source="tg"), "No language")
    api.ok("send-message", user_id=italian, conversation_id=telegram, message="Ciao")  # the user's own
    chat = open_conversation(italian)
    reply(api, agent, chat, "Widget chat")  # no platform: nothing is delivered
    assert channel.sent == ["Off", "No language"]
    assert translator.calls == []


def test_without_a_translator_or_when_it_fails_the_reply_still_goes(api, agent, italian, open_conversation, on,
                                                                    translator, channel, caplog):
    telegram = open_conversation(italian, source="tg")
    translator.answer = None
    first = reply(api, agent, telegram, "One")
    translator.answer = "fail"
    with caplog.at_level(logging.WARNING, logger="sbcore.channels"):
        second = reply(api, agent, telegram, "Two")
    assert channel.sent == ["One", "Two"]
    assert payload(api, first) == {} and payload(api, second) == {}
    assert "sent untranslated: google answered 403: quota exceeded" in caplog.text


def test_the_translation_joins_the_payload_given(api, agent, italian, open_conversation, on, channel):
    telegram = open_conversation(italian, source="tg")
    sent = telegram, api.ok("send-message", user_id=agent, conversation_id=telegram, message="Hi",
                            payload={"ref": 7})["message-id"]
    assert payload(api, sent) == {"ref": 7, "translation": "[it] Hi", "translation-language": "it"}
