"""clean-data, cron-jobs and reports-update."""

from datetime import timedelta

from sbcore import db as dbmod
from sbcore.db import utcnow
from sbcore.functions import maintenance
from sbcore.models import Conversation, JobRun, ReportRow, User


def age_user(user_id, hours):
    with dbmod.connection():
        User.update(last_activity=utcnow() - timedelta(hours=hours)).where(User.id == user_id).execute()


def age_conversation(conversation_id, hours):
    with dbmod.connection():
        Conversation.update(last_update_time=utcnow() - timedelta(hours=hours)).where(
            Conversation.id == conversation_id).execute()


def test_clean_data_does_the_three_documented_tasks(api, agent, open_conversation):
    old_visitor, fresh_visitor, chatting_visitor = (api.ok("add-user") for _ in range(3))
    old_lead = api.ok("add-user", user_type="lead")
    for user_id in (old_visitor, chatting_visitor, old_lead):
        age_user(user_id, 25)
    visitor_conversation = open_conversation(chatting_visitor)
    customer = api.ok("add-user", first_name="C", last_name="D")
    old_trash, new_trash = open_conversation(customer), open_conversation(customer)
    for cid in (old_trash, new_trash):
        api.ok("update-conversation-status", conversation_id=cid, status_code=4)
    age_conversation(old_trash, 31 * 24)
    age_conversation(new_trash, 29 * 24)
    answered_long_ago, answered_recently, waiting_for_agent = (open_conversation(customer) for _ in range(3))
    for cid in (answered_long_ago, answered_recently):
        api.ok("send-message", user_id=customer, conversation_id=cid, message="help")
        api.ok("send-message", user_id=agent, conversation_id=cid, message="done")
    api.ok("send-message", user_id=customer, conversation_id=waiting_for_agent, message="still waiting")
    age_conversation(answered_long_ago, 25)
    age_conversation(waiting_for_agent, 25)
    assert api.ok("clean-data") is True
    assert api.ok("get-user", user_id=old_visitor) is False
    for kept in (fresh_visitor, chatting_visitor, old_lead):
        assert api.ok("get-user", user_id=kept)
    assert api.ok("get-conversation", conversation_id=visitor_conversation)["details"]
    assert api.ok("get-conversation", conversation_id=old_trash) == {"messages": [], "details": ""}
    assert api.ok("get-conversation", conversation_id=new_trash)["details"]
    status = lambda cid: api.ok("get-conversation", conversation_id=cid)["details"][  # noqa: E731
        "conversation_status_code"]
    assert status(answered_long_ago) == "3"
    assert status(answered_recently) == "1"
    assert status(waiting_for_agent) == "2"


def test_clean_data_works_in_batches(api, core, monkeypatch, snapshot):
    monkeypatch.setattr(maintenance, "BATCH", 3)
    ids = [api.ok("add-user") for _ in range(8)]
    with dbmod.connection():
        User.update(last_activity=utcnow() - timedelta(days=2)).where(User.id.in_(ids)).execute()
    with dbmod.connection():
        result = maintenance.clean(core.context())
    assert result == {"visitors": 8, "trash": 0, "archived": 0, "files": 0}
    assert all(api.ok("get-user", user_id=i) is False for i in ids)


def test_cron_jobs_runs_due_jobs_once(api, core):
    assert api.ok("cron-jobs") is None  # Support Board 3.8 answers null
    with dbmod.connection():
        ran = {row.name: row.last_run for row in JobRun.select()}
    assert {"clean-data", "purge-expired", "events-prune"} <= set(ran)
    api.ok("cron-jobs")
    with dbmod.connection():
        assert {row.name: row.last_run for row in JobRun.select()} == ran  # not due again yet


def test_reports_update(api, snapshot):
    assert api.ok("reports-update", name="direct-messages", value="5", external_id=12) is True
    with dbmod.connection():
        row = ReportRow.get()
    assert (row.name, row.value, row.external_id, row.extra) == ("direct-messages", "5", "12", None)
    before = snapshot()
    assert api.call("reports-update", name="bogus").status == 400
    assert snapshot() == before


def test_clean_data_removes_the_files_of_trashed_conversations(api, core, open_conversation):
    import os
    folder = os.path.join(core.config.uploads_dir, "files")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "old.txt"), "w") as handle:
        handle.write("x")
    customer = api.ok("add-user", first_name="C", last_name="D")
    cid = open_conversation(customer)
    api.ok("send-message", user_id=customer, conversation_id=cid, message="file",
           attachments=[["old.txt", "http://testserver/uploads/files/old.txt"]])
    api.ok("update-conversation-status", conversation_id=cid, status_code=4)
    age_conversation(cid, 31 * 24)
    api.ok("clean-data")
    assert not os.path.exists(os.path.join(folder, "old.txt"))
    assert api.ok("search-conversations", search="file") == []
