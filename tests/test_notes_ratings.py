"""Internal notes and ratings."""

from sbcore.testing import assert_shape, reference_example
from wire import assert_has_shape


def test_notes(api, visitor, agent, open_conversation, snapshot):
    cid = open_conversation(visitor)
    note = api.ok("add-note", conversation_id=cid, user_id=agent, name="Refund", message="Approved by Bo")
    assert isinstance(note, int)
    notes = api.ok("get-notes", conversation_id=cid)
    assert [{k: v for k, v in n.items() if k != "date"} for n in notes] == \
        [{"id": note, "user_id": str(agent), "name": "Refund", "message": "Approved by Bo"}]
    assert len(notes[0]["date"]) == 19  # Support Board 3.8's date
    assert_has_shape(notes, reference_example("get-notes"))
    assert api.ok("get-notes", conversation_id=999999) == []
    other = open_conversation(visitor)
    before = snapshot()
    assert api.call("add-note", conversation_id=cid, user_id=visitor, message="x").response == "agent-not-found"
    assert api.call("add-note", conversation_id=999999, user_id=agent, message="x").status == 404
    assert api.call("add-note", conversation_id=cid, user_id=agent).response == "empty-note"
    assert api.ok("delete-note", conversation_id=other, note_id=note) is False  # as Support Board 3.8
    assert snapshot() == before
    assert api.ok("delete-note", conversation_id=cid, note_id=note) is True
    assert api.ok("get-notes", conversation_id=cid) == []


def test_ratings_count_per_agent(api, visitor, agent, open_conversation, snapshot):
    assigned = open_conversation(visitor, agent_id=agent)
    replied = open_conversation(visitor)
    api.ok("send-message", user_id=agent, conversation_id=replied, message="hi")
    other = open_conversation(visitor)
    assert api.ok("set-rating", settings={"settings": {"conversation_id": str(assigned), "rating": "1"}}) is True
    assert api.ok("set-rating", settings={"conversation_id": replied, "rating": 0}) is True
    api.ok("set-rating", settings={"settings": {"conversation_id": other, "rating": 1}})
    assert api.ok("get-rating", user_id=agent) == [1, 1]
    assert_shape(api.ok("get-rating", user_id=agent), reference_example("get-rating"))
    api.ok("set-rating", settings={"settings": {"conversation_id": replied, "rating": 1}})
    assert api.ok("get-rating", user_id=agent) == [2, 0]  # a new rating replaces the old one
    assert api.ok("get-rating", user_id=999999) == [0, 0]


def test_set_rating_updates_the_rating_message(api, visitor, agent, open_conversation, snapshot):
    cid = open_conversation(visitor, agent_id=agent)
    mid = api.ok("send-message", user_id=agent, conversation_id=cid, message="Rate us")["message-id"]
    api.ok("set-rating", settings={"settings": {"conversation_id": cid, "rating": 1}}, message_id=mid,
           message="Rated: good", payload={"rating": 1}, user_id=visitor)
    message = api.ok("get-conversation", conversation_id=cid)["messages"][0]
    assert message["message"] == "Rated: good" and message["payload"] == '{"rating": 1}'
    other = open_conversation(visitor)
    before = snapshot()
    for settings in ({"settings": {"conversation_id": cid, "rating": 5}}, {"settings": {}}, "nonsense"):
        assert api.call("set-rating", settings=settings).status == 400
    assert api.call("set-rating", settings={"conversation_id": 999999, "rating": 1}).status == 404
    result = api.call("set-rating", settings={"conversation_id": other, "rating": 1}, message_id=mid,
                      message="x")
    assert result.status == 400
    assert snapshot() == before
