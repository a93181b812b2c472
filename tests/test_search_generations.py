"""MySQL/MariaDB's message index in generation tables by id (sbcore.search.backends):
newest matches across generations, writes and deletes in the right one, tables made
on a connection of their own, the move from one table."""

import pytest

from sbcore import db as dbmod
from sbcore.search import search_backend
from sbcore.testing import count_queries


@pytest.fixture
def backend(ctx):
    """The backend, and afterwards no generation beyond those the schema starts with,
    so that other tests read the usual two."""
    if dbmod.kind() != "mysql":
        pytest.skip("generation tables are MySQL/MariaDB's")
    backend = search_backend()
    yield backend
    for number in backend.generations("messages"):
        if number > 1:
            dbmod.database.execute_sql(f"DROP TABLE {backend.generation('messages', number)}")
    dbmod.database.execute_sql("DELETE FROM sb_search_generations WHERE name = 'messages' AND number > 1")


@pytest.fixture
def size(backend):
    return backend.GENERATIONS["messages"]


def newest(backend, text, count):
    return backend.match("messages", text, newest=count)[1]


def rows(sql, params=()):
    return [row[0] for row in dbmod.database.execute_sql(sql, params).fetchall()]


def test_newest_matches_span_generations_newest_first(backend, size):
    keys = [size - 2, size - 1, size, size + 1]
    backend.upsert_many("messages", [(key, "needle") for key in keys] + [(size + 2, "thread")])
    assert newest(backend, "needle", 3) == [size + 1, size, size - 1]
    assert newest(backend, "needle", 10) == keys[::-1]
    assert sorted(rows(*backend.match("messages", "needle"))) == keys  # every match: a sub-query


def test_a_rare_word_is_found_past_generations_without_it(backend, size):
    backend.upsert_many("messages", [(3 * size + 1, "needle"), (2 * size + 5, "thread"),
                                     (size + 5, "thread"), (7, "needle")])
    assert newest(backend, "needle", 2) == [3 * size + 1, 7]
    assert newest(backend, "needle", 1) == [3 * size + 1]
    assert newest(backend, "nothing", 5) == []


def test_a_rewritten_row_matches_its_new_words_only(backend, size):
    backend.upsert("messages", size + 3, "needle")
    backend.upsert("messages", size + 3, "thread")  # the same key, new text
    assert newest(backend, "needle", 5) == []
    assert newest(backend, "thread", 5) == [size + 3]


def test_a_delete_removes_keys_from_their_own_generations(backend, size):
    backend.upsert_many("messages", [(size - 1, "needle"), (size, "needle"), (size + 1, "needle")])
    backend.delete("messages", [size - 1, size + 1, 9 * size])  # generation 9 has no table
    assert newest(backend, "needle", 10) == [size]
    assert rows(f"SELECT id FROM {backend.generation('messages', 0)}") == []
    assert rows(f"SELECT id FROM {backend.generation('messages', 1)}") == [size]


def test_a_write_in_a_transaction_makes_tables_on_another_connection(backend, size):
    """DDL commits the open transaction on MySQL: the caller's connection never runs it,
    and a rollback still undoes everything the transaction wrote."""
    with count_queries() as counter:
        with dbmod.database.atomic() as transaction:
            backend.upsert("conversations", 424242, "committed")
            backend.upsert("messages", 5 * size + 1, "needle")  # no table yet: 5 (and 6 ahead)
            backend.upsert("messages", 7 * size - 1, "needle")  # a last key of 6: 7 ahead
            transaction.rollback()
    assert not [q for q in counter.queries if q.lstrip().upper().startswith(("CREATE", "ALTER", "DROP"))]
    assert rows(*backend.match("conversations", "committed")) == []
    assert newest(backend, "needle", 5) == []
    assert {5, 6, 7} <= set(backend.generations("messages"))


def test_the_migration_moves_one_table_into_generations(backend, size):
    backend.upsert("messages", 8, "thread")
    dbmod.database.execute_sql("CREATE TABLE sb_search_messages (id BIGINT PRIMARY KEY, body LONGTEXT NOT NULL, "
                               "FULLTEXT KEY ft_body (body)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    dbmod.database.execute_sql("INSERT INTO sb_search_messages (id, body) VALUES (7, 'needle'), "
                               "(%s, 'needle thread')", (3 * size + 7,))
    backend.create_index("messages")
    assert not dbmod.database.table_exists("sb_search_messages")
    assert newest(backend, "needle", 5) == [3 * size + 7, 7]
    assert newest(backend, "thread", 5) == [3 * size + 7, 8]  # rows already there are kept
    # the schema's first two, 3 for the rows there and 4 made ahead: none for 2, which
    # holds no row (sparse ids make no empty tables between them)
    assert set(backend.generations("messages")) == {0, 1, 3, 4}


def test_search_and_delete_through_the_api(api, backend, size, visitor, open_conversation):
    old = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=old, message="needle in the old one")
    dbmod.database.execute_sql(f"ALTER TABLE sb_messages AUTO_INCREMENT = {size}")
    new = open_conversation(visitor)
    message = api.ok("send-message", user_id=visitor, conversation_id=new, message="needle again")
    assert int(message["id"]) // size == 1
    found = api.ok("search-conversations", search="needle")
    assert {int(row["conversation_id"]) for row in found} == {old, new}
    api.ok("delete-message", message_id=message["id"])
    assert [int(row["conversation_id"]) for row in api.ok("search-conversations", search="needle")] == [old]
