"""Conversations: opening, the inbox, a user's conversations, routing, "new since"."""

from datetime import datetime, timedelta

from sbcore.models import Conversation
from sbcore.testing import assert_shape, reference_example


def test_new_conversation_answers_like_get_conversation(api, visitor):
    answer = api.ok("new-conversation", user_id=visitor, title="Billing")
    assert answer["messages"] == []
    details = answer["details"]
    assert details["user_id"] == str(visitor) and details["title"] == "Billing"
    assert details["conversation_status_code"] == "1" and details["department"] is None
    assert_shape(answer, reference_example("new-conversation"))
    assert api.ok("get-conversation", conversation_id=int(details["id"])) == answer


def test_new_conversation_errors_change_nothing(api, visitor, snapshot):
    before = snapshot()
    for fields, status, code in (
            ({"user_id": 999999}, 404, "user-not-found"),
            ({"user_id": visitor, "status_code": 9}, 400, "invalid-status-code"),
            ({"user_id": visitor, "source": "zz"}, 400, "invalid-argument"),
            ({"user_id": visitor, "agent_id": visitor}, 404, "agent-not-found")):
        result = api.call("new-conversation", **fields)
        assert (result.status, result.response) == (status, code), result
    assert snapshot() == before


def test_get_conversation_with_messages(api, visitor, agent, open_conversation):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="Hello!")
    api.ok("send-message", user_id=agent, conversation_id=cid, message="Hello, how can I help?")
    conversation = api.ok("get-conversation", conversation_id=cid)
    assert [m["message"] for m in conversation["messages"]] == ["Hello!", "Hello, how can I help?"]
    assert [m["user_type"] for m in conversation["messages"]] == ["lead", "agent"]
    assert_shape(conversation, reference_example("get-conversation"))
    assert api.ok("get-conversation", conversation_id=cid, user_id=visitor)["details"]["id"] == str(cid)


def test_missing_conversation_answer(api, visitor, agent, open_conversation):
    missing = {"messages": [], "details": ""}
    assert api.ok("get-conversation", conversation_id=999999) == missing
    cid = open_conversation(visitor)
    assert api.ok("get-conversation", conversation_id=cid, user_id=agent) == missing


def test_inbox_excludes_archive_and_trash_and_orders_by_activity(api, visitor, open_conversation, backdate):
    older, live, archived, trashed = (open_conversation(visitor) for _ in range(4))
    api.ok("update-conversation-status", conversation_id=archived, status_code=3)
    api.ok("update-conversation-status", conversation_id=trashed, status_code=4)
    for age, cid in enumerate((live, older), start=1):  # older: the oldest, and last in the inbox
        backdate(Conversation, cid, last_update_time=datetime.utcnow() - timedelta(hours=age))
    assert [r["conversation_id"] for r in api.ok("get-conversations")] == [str(live), str(older)]
    api.ok("send-message", user_id=visitor, conversation_id=older, message="bump")
    inbox = api.ok("get-conversations")
    ids = [row["conversation_id"] for row in inbox]
    assert ids[0] == str(older) and set(ids) == {str(live), str(older)}
    assert_shape(inbox, reference_example("get-conversations"))
    assert inbox[0]["message"] == "bump" and inbox[0]["message_first_name"] == "Don"
    assert [r["conversation_id"] for r in api.ok("get-conversations", status_code=3)] == [str(archived)]
    assert {r["conversation_id"] for r in api.ok("get-conversations", status_code="all")} == {
        str(live), str(archived), str(trashed), str(older)}
    bad = api.call("get-conversations", status_code=7)
    assert (bad.status, bad.response) == (400, "invalid-status-code")


def test_inbox_pages_by_100(api, visitor, core):
    from sbcore import db as dbmod
    with dbmod.connection():
        Conversation.insert_many([{"user": visitor, "status_code": 2} for _ in range(130)]).execute()
    first, second = api.ok("get-conversations"), api.ok("get-conversations", pagination=1)
    assert len(first) == 100 and len(second) == 30
    assert not {r["conversation_id"] for r in first} & {r["conversation_id"] for r in second}
    assert api.call("get-conversations", pagination=-1).status == 400


def test_inbox_filters(api, visitor, agent, open_conversation, core):
    a = open_conversation(visitor, department=1, source="wa", tags="vip,billing")
    b = open_conversation(visitor, department=2, source="tk", tags="billing")
    c = open_conversation(visitor, agent_id=agent)
    ids = lambda **f: [r["conversation_id"] for r in api.ok("get-conversations", **f)]  # noqa: E731
    assert ids(department=1) == [str(a)]
    assert ids(source="tk") == [str(b)]
    assert set(ids(tag="billing")) == {str(a), str(b)} and ids(tag="vip") == [str(a)]
    assert ids(tag="bill") == []
    assert api.call("get-conversations", source="xx").status == 400
    admin = int(api.ok("get-user-by", by="email", value="admin@example.com")["id"])
    api.ok("update-conversation-agent", conversation_id=b, agent_id=admin)
    assert ids(routing=True) == [str(b)]
    assert set(ids(routing=True, routing_unassigned=True)) == {str(a), str(b)}
    assert str(c) in ids()


def test_get_new_conversations_by_id_and_date(api, visitor, open_conversation, backdate):
    old = open_conversation(visitor)
    new = open_conversation(visitor)
    backdate(Conversation, old, creation_time="2020-05-01 10:00:00", last_update_time="2020-05-01 10:00:00")
    backdate(Conversation, new, creation_time="2020-05-20 10:00:00", last_update_time="2020-05-20 10:00:00")
    assert [r["conversation_id"] for r in api.ok("get-new-conversations", datetime=str(old))] == [str(new)]
    assert [r["conversation_id"] for r in api.ok("get-new-conversations", datetime="2020-05-10")] == [str(new)]
    api.ok("send-message", user_id=visitor, conversation_id=old, message="I am back")
    assert {r["conversation_id"] for r in api.ok("get-new-conversations", datetime="2020-05-10")} == {
        str(old), str(new)}
    assert_shape(api.ok("get-new-conversations", datetime="0"), reference_example("get-new-conversations"))
    assert api.ok("get-new-conversations", datetime="2999-01-01") == []
    assert api.call("get-new-conversations", datetime="soon").status == 400


def test_user_conversations(api, visitor, agent, open_conversation, backdate):
    mine = [open_conversation(visitor) for _ in range(3)]
    other = open_conversation(api.ok("add-user"))
    api.ok("send-message", user_id=agent, conversation_id=mine[0], message="agent here")
    rows = api.ok("get-user-conversations", user_id=visitor)
    assert {r["conversation_id"] for r in rows} == {str(c) for c in mine}
    assert_shape(rows, reference_example("get-user-conversations"))
    assert "conversation_first_name" not in rows[0]
    excluded = api.ok("get-user-conversations", user_id=visitor, exclude_id=mine[1])
    assert str(mine[1]) not in {r["conversation_id"] for r in excluded}
    assert [r["conversation_id"] for r in api.ok("get-user-conversations", user_id=agent, agents=True)] == [
        str(mine[0])]
    assert api.ok("get-user-conversations", user_id=999999) == []
    for cid in mine:
        backdate(Conversation, cid, last_update_time="2020-01-01 00:00:00")
    api.ok("send-message", user_id=visitor, conversation_id=mine[2], message="new")
    new = api.ok("get-new-user-conversations", user_id=visitor, datetime="2021-01-01")
    assert [r["conversation_id"] for r in new] == [str(mine[2])]
    assert str(other) not in {r["conversation_id"] for r in api.ok("get-new-user-conversations",
                                                                    user_id=visitor, datetime="0")}


def test_update_status_department_agent(api, visitor, agent, open_conversation, snapshot):
    cid = open_conversation(visitor)
    assert api.ok("update-conversation-status", conversation_id=cid, status_code=3) is True
    assert api.ok("update-conversation-department", conversation_id=cid, department=5) is True
    assert api.ok("update-conversation-agent", conversation_id=cid, agent_id=agent) is True
    row = api.ok("get-conversations", status_code=3)[0]
    assert (row["conversation_status_code"], row["department"], row["agent_id"]) == ("3", "5", str(agent))
    api.ok("update-conversation-department", conversation_id=cid, department=False)
    api.ok("update-conversation-agent", conversation_id=cid, agent_id=False)
    row = api.ok("get-conversations", status_code=3)[0]
    assert (row["department"], row["agent_id"]) == (None, None)
    before = snapshot()
    for function, fields, status, code in (
            ("update-conversation-status", {"conversation_id": cid, "status_code": 5}, 400, "invalid-status-code"),
            ("update-conversation-status", {"conversation_id": cid, "status_code": "x"}, 400, "invalid-status-code"),
            ("update-conversation-status", {"conversation_id": 999999, "status_code": 1}, 404,
             "conversation-not-found"),
            ("update-conversation-agent", {"conversation_id": cid, "agent_id": visitor}, 404, "agent-not-found"),
            ("update-conversation-department", {"conversation_id": 999999, "department": 1}, 404,
             "conversation-not-found")):
        result = api.call(function, **fields)
        assert (result.status, result.response) == (status, code), (function, result)
    assert snapshot() == before


def test_count_and_assignment(api, visitor, agent, open_conversation):
    a = open_conversation(visitor, agent_id=agent, department=3)
    b = open_conversation(visitor, department=3)
    c = open_conversation(visitor)
    api.ok("update-conversation-status", conversation_id=c, status_code=4)
    assert api.ok("count-conversations") == 3
    assert api.ok("count-conversations", status_code=4) == 1
    assert api.call("count-conversations", status_code=8).status == 400
    assert api.ok("check-conversations-assignment", conversation_ids=[a, b, c], agent_id=agent) == [a]
    assert api.ok("check-conversations-assignment", conversation_ids=[a, b, c], department_id=3) == [a, b]
    assert api.ok("check-conversations-assignment", conversation_ids=[a, b], agent_id=agent,
                  department_id=3) == [a]


def test_agents_and_users_of_a_conversation(api, visitor, agent, open_conversation):
    cid = open_conversation(visitor)
    assert api.ok("get-last-agent-in-conversation", conversation_id=cid) is False
    assert api.ok("get-user-from-conversation", conversation_id=cid, agent=True) is False
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hi")
    api.ok("send-message", user_id=agent, conversation_id=cid, message="hello")
    last = api.ok("get-last-agent-in-conversation", conversation_id=cid)
    assert last == {"id": agent, "first_name": "Bruce", "last_name": "Peterson",
                    "email": "bruce@example.com", "password": ""}
    assert_shape(last, reference_example("get-last-agent-in-conversation"))
    assert api.ok("get-user-from-conversation", conversation_id=cid) == {"id": str(visitor), "email": None}
    assert api.ok("get-user-from-conversation", conversation_id=cid, agent=True) == {
        "id": str(agent), "email": "bruce@example.com"}
    assert api.ok("get-user-from-conversation", conversation_id=999999) is False
    other = open_conversation(visitor)
    api.ok("send-message", user_id=agent, conversation_id=other, message="x")
    agents = api.ok("get-agents-in-conversation", conversation_id=[cid, other])
    assert set(agents) == {str(cid), str(other)}
    assert agents[str(cid)] == [{"id": agent, "first_name": "Bruce", "last_name": "Peterson",
                                 "profile_image": "http://testserver/static/user.svg", "conversation_id": cid}]
    assert_shape(agents[str(cid)], reference_example("get-agents-in-conversation")["1546"])
    assert api.ok("get-agents-in-conversation", conversation_id=cid) == {str(cid): agents[str(cid)]}


def test_agent_replies_are_kept_for_reports(api, visitor, agent, open_conversation):
    from sbcore import db as dbmod
    from sbcore.conversations import rebuild_conversation_agents
    from sbcore.models import ConversationAgent
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hi")
    api.ok("send-message", user_id=agent, conversation_id=cid, message="one")
    api.ok("send-message", user_id=agent, conversation_id=cid, message="two")
    with dbmod.connection():
        rows = [(r.conversation_id, r.agent_id, r.first_reply <= r.last_reply) for r in ConversationAgent.select()]
        assert rows == [(cid, agent, True)]
        live = sorted((r.conversation_id, r.agent_id) for r in ConversationAgent.select())
        rebuild_conversation_agents()
        assert sorted((r.conversation_id, r.agent_id) for r in ConversationAgent.select()) == live
