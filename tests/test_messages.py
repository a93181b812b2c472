"""Messages: sending and its status rules, editing, deleting, polling, transcripts, search."""

import csv
import json
import os

import pytest

from sbcore.models import Message
from sbcore.testing import assert_shape, reference_example
from wire import assert_has_shape


@pytest.fixture
def cid(visitor, open_conversation):
    return open_conversation(visitor)


def status_of(api, conversation_id):
    return api.ok("get-conversation", conversation_id=conversation_id)["details"]["conversation_status_code"]


def test_send_message_answer_and_storage(api, visitor, cid):
    answer = api.ok("send-message", user_id=visitor, conversation_id=cid, message="Text of the message",
                    attachments=[["a.png", "https://example.com/a.png"]], payload={"k": 1})
    assert answer == {"status": "success", "message-id": answer["message-id"], "queue": False,
                      "notifications": [], "message": "Text of the message",
                      "id": answer["message-id"], "human_takeover_active": False}  # + 3.8's keys
    assert isinstance(answer["id"], int)
    assert_has_shape(answer, reference_example("send-message"))
    message = api.ok("get-conversation", conversation_id=cid)["messages"][0]
    assert message["id"] == str(answer["message-id"])
    assert json.loads(message["attachments"]) == [["a.png", "https://example.com/a.png"]]
    assert json.loads(message["payload"]) == {"k": 1}


def test_send_message_moves_the_status_like_an_inbox(api, visitor, agent, cid):
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="help")
    assert status_of(api, cid) == "2"  # waits for an agent
    api.ok("send-message", user_id=agent, conversation_id=cid, message="here")
    assert status_of(api, cid) == "1"  # waits for the user
    bot = api.ok("get-bot-id")
    api.ok("send-message", user_id=bot, conversation_id=cid, message="beep")
    assert status_of(api, cid) == "1"  # the bot leaves it
    api.ok("send-message", user_id=agent, conversation_id=cid, message="closing", conversation_status_code=3)
    assert status_of(api, cid) == "3"
    api.ok("send-message", user_id=agent, conversation_id=cid, message="note", conversation_status_code="skip")
    assert status_of(api, cid) == "3"
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="one more thing")
    assert status_of(api, cid) == "2"  # a user's message reopens an archived conversation


@pytest.mark.parametrize("fields, status, code", [
    ({"message": "x", "conversation_status_code": 9}, 400, "invalid-status-code"),
    ({"message": ""}, 400, "empty-message"),
    ({"message": "x", "attachments": [["a", "javascript:alert(1)"]]}, 400, "invalid-argument"),
    ({"message": "x", "attachments": "not json"}, 400, "invalid-argument"),
    ({"message": "x", "payload": "[1]"}, 400, "invalid-argument"),
    ({"message": "x", "user_id": 999999}, 404, "user-not-found"),
    ({"message": "x", "conversation_id": 999999}, 404, "conversation-not-found"),
])
def test_send_message_errors_change_nothing(api, visitor, cid, snapshot, fields, status, code):
    before = snapshot()
    body = {"user_id": visitor, "conversation_id": cid}
    body.update(fields)
    result = api.call("send-message", **body)
    assert (result.status, result.response) == (status, code), result
    assert snapshot() == before


def test_message_text_is_stored_as_given(api, visitor, cid):
    text = "<script>alert('x')</script> 100% \"quoted\" ; DROP TABLE sb_messages; --"
    api.ok("send-message", user_id=visitor, conversation_id=cid, message=text)
    assert api.ok("get-conversation", conversation_id=cid)["messages"][0]["message"] == text


def test_update_and_delete_message(api, visitor, cid, snapshot):
    first = api.ok("send-message", user_id=visitor, conversation_id=cid, message="first")["message-id"]
    second = api.ok("send-message", user_id=visitor, conversation_id=cid, message="second")["message-id"]
    assert api.ok("update-message", message_id=first, message="edited", payload={"edited": True}) is True
    messages = api.ok("get-conversation", conversation_id=cid)["messages"]
    assert messages[0]["message"] == "edited" and json.loads(messages[0]["payload"]) == {"edited": True}
    assert api.ok("delete-message", message_id=second) is True
    inbox = api.ok("get-conversations")
    assert inbox[0]["message"] == "edited"  # the last message is recomputed
    assert api.ok("search-conversations", search="second") == []
    before = snapshot()
    assert api.call("delete-message", message_id=second).response == "message-not-found"
    assert api.call("update-message", message_id=999999, message="x").status == 404
    assert api.call("update-message", message_id=first, attachments="{}").status == 400
    assert snapshot() == before


def test_delete_attachments_removes_local_files(api, core, visitor, cid):
    folder = os.path.join(core.config.uploads_dir, "files")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "f.txt"), "w") as handle:
        handle.write("x")
    mid = api.ok("send-message", user_id=visitor, conversation_id=cid, message="file",
                 attachments=[["f.txt", "http://testserver/uploads/files/f.txt"],
                              ["remote", "https://cdn.example.com/r.png"]])["message-id"]
    assert api.ok("delete-attachments", message_id=mid) is True
    assert not os.path.exists(os.path.join(folder, "f.txt"))
    assert api.ok("get-conversation", conversation_id=cid)["messages"][0]["attachments"] == ""
    assert api.ok("delete-attachments", conversation_id=cid) is True
    assert api.call("delete-attachments").status == 400
    assert api.call("delete-attachments", conversation_id=999999).status == 404


def test_update_messages_status(api, visitor, cid):
    ids = [api.ok("send-message", user_id=visitor, conversation_id=cid, message=str(i))["message-id"]
           for i in range(3)]
    assert api.ok("update-messages-status", message_ids=ids[:2], user_id=visitor) is True
    statuses = [m["status_code"] for m in api.ok("get-conversation", conversation_id=cid)["messages"]]
    assert statuses == ["2", "2", "0"]
    assert api.call("update-messages-status", message_ids="nope").status == 400


def test_get_new_messages(api, visitor, agent, cid, backdate):
    first = api.ok("send-message", user_id=visitor, conversation_id=cid, message="one")["message-id"]
    api.ok("send-message", user_id=agent, conversation_id=cid, message="two")
    new = api.ok("get-new-messages", user_id=visitor, conversation_id=cid, datetime=str(first))
    assert [m["message"] for m in new] == ["two"]
    assert_shape(new, reference_example("get-new-messages"))
    backdate(Message, first, creation_time="2020-05-12 18:04:50")
    by_date = api.ok("get-new-messages", conversation_id=cid, datetime="2021-01-01")
    assert [m["message"] for m in by_date] == ["two"]
    assert api.ok("get-new-messages", user_id=agent, conversation_id=cid, datetime="0") == []
    assert api.ok("get-new-messages", conversation_id=999999, datetime="0") == []
    assert api.call("get-new-messages", conversation_id=cid, datetime="later").status == 400


def test_get_last_message(api, visitor, agent, cid):
    assert api.ok("get-last-message", conversation_id=cid) == ""  # Support Board 3.8's none
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="Welcome to our support chat!")
    api.ok("send-message", user_id=agent, conversation_id=cid, message="agent says")
    last = api.ok("get-last-message", conversation_id=cid)
    assert {k: last[k] for k in ("message", "attachments", "payload")} == {
        "message": "agent says", "attachments": "", "payload": ""}
    # Support Board 3.8's whole row, every value a string
    assert set(last) == {"id", "user_id", "message", "creation_time", "status_code", "attachments",
                         "payload", "conversation_id"}
    assert last["conversation_id"] == str(cid) and last["user_id"] == str(agent)
    assert_has_shape(last, reference_example("get-last-message"))
    assert api.ok("get-last-message", conversation_id=cid, exclude_message="agent says")["message"] == \
        "Welcome to our support chat!"
    assert api.ok("get-last-message", conversation_id=cid, user_id=visitor)["message"] == \
        "Welcome to our support chat!"


def test_transcript_csv_and_txt(api, core, visitor, agent, cid):
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="=SUM(A1)")
    api.ok("send-message", user_id=agent, conversation_id=cid, message="fine",
           attachments=[["doc", "https://example.com/doc.pdf"]])
    url = api.ok("transcript", conversation_id=cid, type="csv")
    path = os.path.join(core.config.uploads_dir, url.split("/uploads/", 1)[1])
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["message"] for r in rows] == ["'=SUM(A1)", "fine"]
    assert rows[1]["name"] == "Bruce Peterson" and rows[1]["attachments"] == "https://example.com/doc.pdf"
    txt = api.ok("transcript", conversation_id=cid, type="txt")
    with open(os.path.join(core.config.uploads_dir, txt.split("/uploads/", 1)[1]), encoding="utf-8") as handle:
        text = handle.read()
    assert "Bruce Peterson: fine" in text and "https://example.com/doc.pdf" in text
    assert api.ok("transcript", conversation_id=999999) is False
    assert api.call("transcript", conversation_id=cid, type="pdf").status == 400
    assert api.client.simulate_get(url.split("http://testserver", 1)[1]).status_code == 200


def test_direct_message_reuses_or_opens_conversations(api, visitor, open_conversation):
    fresh = api.ok("add-user")
    existing = open_conversation(visitor)
    assert api.ok("direct-message", user_ids=[visitor, fresh], message="Our offer") is True
    assert api.ok("get-conversation", conversation_id=existing)["messages"][0]["message"] == "Our offer"
    opened = api.ok("get-user-conversations", user_id=fresh)
    assert len(opened) == 1 and opened[0]["message"] == "Our offer"
    assert opened[0]["message_user_type"] == "admin"


def test_direct_message_errors_change_nothing(api, visitor, snapshot):
    before = snapshot()
    assert api.call("direct-message", user_ids=[visitor, 999999], message="x").response == "user-not-found"
    assert api.call("direct-message", user_ids=[visitor], message="x", subject="Hi").response == \
        "email-not-configured"
    assert snapshot() == before


def test_messaging_platforms_send_message(api, visitor, open_conversation):
    chat = open_conversation(visitor)
    ticket = open_conversation(visitor, source="tk")
    email = open_conversation(visitor, source="em")
    whatsapp = open_conversation(visitor, source="wa")
    assert api.ok("messaging-platforms-send-message", conversation_id=chat, message="x") is False
    for conversation_id in (ticket, email):  # a ticket's user is answered by email, as an email's
        result = api.call("messaging-platforms-send-message", conversation_id=conversation_id, message="x")
        assert (result.status, result.response) == (400, "email-not-configured")
    result = api.call("messaging-platforms-send-message", conversation_id=whatsapp, message="x")
    assert (result.status, result.response) == (400, "channel-not-available")
    assert "'wa'" in result.json["message"]
    result = api.call("messaging-platforms-send-message", conversation_id=chat, message="x",
                      source={"source": "tk"})
    assert (result.status, result.response) == (400, "email-not-configured")


class Channel:
    """A channel plugin owning the source ``tg``."""

    sent = []

    from sbcore import hookimpl

    @hookimpl
    def sbcore_channel_send(self, ctx, conversation, message, attachments):
        if conversation.source != "tg":
            return None
        self.sent.append((conversation.id, message, attachments))
        return True


@pytest.fixture
def sbcore_plugins():
    Channel.sent.clear()
    return [Channel()]


def test_channel_plugin_gets_its_source(api, visitor, open_conversation):
    telegram = open_conversation(visitor, source="tg")
    assert api.ok("messaging-platforms-send-message", conversation_id=telegram, message="hi",
                  attachments=[["a", "https://example.com/a"]]) is True
    assert Channel.sent == [(telegram, "hi", [["a", "https://example.com/a"]])]


def test_execute_bot_message(api, core, visitor, cid):
    from sbcore import db as dbmod
    assert api.ok("execute-bot-message", name="welcome", conversation_id=cid) is False  # not active
    with dbmod.connection():
        core.settings.set("welcome-message", {"active": True, "title": "Hi", "message": "Welcome!"})
    answer = api.ok("execute-bot-message", name="welcome", conversation_id=cid)
    assert answer["message"] == "Welcome!" and answer["attachments"] == []
    assert answer["settings"] == {"active": True, "title": "Hi", "message": "Welcome!"}
    assert_shape(answer, reference_example("execute-bot-message"))
    messages = api.ok("get-conversation", conversation_id=cid)["messages"]
    assert messages[-1]["id"] == str(answer["id"]) and messages[-1]["user_type"] == "bot"
    assert api.ok("execute-bot-message", name="welcome", conversation_id=cid) is False  # within 10 days
    assert api.ok("execute-bot-message", name="welcome", conversation_id=cid, check=False)["message"] == \
        "Welcome!"
    assert api.call("execute-bot-message", name="hello", conversation_id=cid).status == 400


def test_search_conversations(api, visitor, agent, open_conversation):
    billing = open_conversation(visitor, title="Invoice problem", tags="vip,billing", department=7)
    shipping = open_conversation(api.ok("add-user", first_name="Maria", last_name="Rossi",
                                        email="maria@example.com"))
    api.ok("send-message", user_id=visitor, conversation_id=billing, message="My card was charged twice",
           attachments=[["receipt-march.pdf", "https://example.com/r.pdf"]])
    api.ok("send-message", user_id=agent, conversation_id=shipping, message="The parcel left the warehouse")
    api.ok("update-conversation-agent", conversation_id=shipping, agent_id=agent)
    found = lambda text: [r["conversation_id"] for r in api.ok("search-conversations", search=text)]  # noqa
    assert found("charged") == [str(billing)]
    assert found("receipt") == [str(billing)]
    assert found("invoice") == [str(billing)]
    assert found("vip") == [str(billing)]
    assert found("maria@example.com") == [str(shipping)]
    assert found("warehouse") == [str(shipping)]
    assert found(str(agent)) == [str(shipping)]
    assert found("7") == [str(billing)]
    assert found("nothing-like-this") == []
    assert_shape(api.ok("search-conversations", search="charged"), reference_example("search-conversations"))
    mine = api.ok("search-user-conversations", search="charged", user_id=visitor)
    assert [r["conversation_id"] for r in mine] == [str(billing)]
    assert api.ok("search-user-conversations", search="warehouse", user_id=visitor) == []


@pytest.mark.parametrize("text", ['"', "%", "' OR 1=1 --", "NEAR(x y)", "a:* & b", "*", "+-", "(", "\\"])
def test_conversation_search_text_is_never_syntax(api, visitor, cid, text):
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hello")
    result = api.call("search-conversations", search=text)
    assert result.status == 200 and isinstance(result.response, list), result
