"""Search goes through each database's full-text index (the query plan shows it), and
the conversation lists don't grow their query count with their rows."""

import pytest

from sbcore import db as dbmod
from sbcore.search import search_backend

EXPECTED_PLAN = {
    "sqlite": "VIRTUAL TABLE INDEX",        # FTS5
    "mysql": "fulltext",                    # InnoDB FULLTEXT
    "postgres": "Bitmap Index Scan on sb_search_",  # GIN over tsvector
}


@pytest.mark.parametrize("index", ["users", "conversations", "messages"])
def test_full_text_index_in_the_plan(ctx, index):
    kind = dbmod.kind()
    sql, params = search_backend().match(index, "invoice refund")
    database = dbmod.database
    if kind == "postgres":
        database.execute_sql("SET enable_seqscan = off")  # tiny tables: prove the index is usable
    prefix = "EXPLAIN QUERY PLAN " if kind == "sqlite" else "EXPLAIN "
    plan = " ".join(str(cell) for row in database.execute_sql(prefix + sql, params).fetchall()
                    for cell in row)
    if kind == "postgres":
        database.execute_sql("SET enable_seqscan = on")
    assert EXPECTED_PLAN[kind] in plan, plan


def seed(api, visitor, count):
    for i in range(count):
        cid = int(api.ok("new-conversation", user_id=visitor, title=f"topic{i}")["details"]["id"])
        api.ok("send-message", user_id=visitor, conversation_id=cid, message=f"needle number {i}")


@pytest.mark.parametrize("function, fields, expected", [
    ("get-conversations", {}, 2),            # admin token, the page with last messages and users
    ("get-new-conversations", {"datetime": "0"}, 2),
    ("search-conversations", {"search": "needle"}, 2),
    ("get-user-conversations", {}, 2),
])
def test_conversation_lists_keep_their_query_count(api, visitor, assert_query_count, function,
                                                   fields, expected):
    if function == "get-user-conversations":
        fields = {"user_id": visitor}
    if function == "search-conversations" and dbmod.kind() == "mysql":
        # each index's newest matches as a list of ids (the message index: its generations,
        # their highest key, the one generation holding it), the conversations of the messages
        expected += 6
    seed(api, visitor, 2)
    with assert_query_count(expected):
        few = api.ok(function, **fields)
    seed(api, visitor, 12)
    with assert_query_count(expected):
        many = api.ok(function, **fields)
    assert len(many) == len(few) + 12


def test_conversation_reads_keep_their_query_count(api, visitor, assert_query_count):
    cid = int(api.ok("new-conversation", user_id=visitor)["details"]["id"])
    for i in range(15):
        api.ok("send-message", user_id=visitor, conversation_id=cid, message=str(i))
    with assert_query_count(4):  # admin, the conversation joined with its user, messages with authors, notes
        assert len(api.ok("get-conversation", conversation_id=cid)["messages"]) == 15
    # admin with the settings stamp (for the webhooks setting: no new-messages event while
    # no webhook wants it), messages
    with assert_query_count(2):
        assert len(api.ok("get-new-messages", conversation_id=cid, datetime="0")) == 15


def test_inbox_page_reads_an_index_range_without_sorting(ctx):
    if dbmod.kind() != "sqlite":
        pytest.skip("the plan's wording is SQLite's; the index exists on every database")
    from sbcore import conversations as C
    from sbcore.models import Conversation
    sql, params = C.newest_first(C.list_query().where(Conversation.box == 0)).limit(100).sql()
    plan = " ".join(row[3] for row in dbmod.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "sb_conversations_box_last_update_time" in plan
    assert "TEMP B-TREE" not in plan, plan
