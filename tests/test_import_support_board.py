"""``sbcore import-support-board``: a Support Board database built in MariaDB (see
support_board_source.py) imported into the suite's database, read back through the API."""

import os
import socket
from urllib.parse import urlparse

import pytest

import support_board_source as SB


def mysql_reachable():
    parts = urlparse(SB.server_url())
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 3306), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def sb_source():
    """A Support Board database with real-looking and hostile rows; its URL and facts."""
    if not mysql_reachable():
        pytest.skip(f"no MySQL/MariaDB server at {SB.server_url()} ({SB.SERVER_ENV}) for the source")
    with SB.source_database(f"sb_importer_src_{os.getpid()}") as (url, conn):
        facts = SB.fill(conn)
        yield url, conn, facts


def test_the_source_has_support_boards_tables_and_hostile_rows(sb_source):
    url, conn, facts = sb_source
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert {row[0] for row in cur.fetchall()} == {
            "sb_users", "sb_users_data", "sb_conversations", "sb_messages", "sb_settings",
            "sb_reports", "sb_articles"}
        cur.execute("SELECT COUNT(*) FROM sb_users WHERE LOWER(TRIM(email)) = 'tom@example.com'")
        assert cur.fetchone()[0] == 2
        cur.execute("SELECT message FROM sb_messages WHERE id = 1")
        assert "&lt;#1042&gt;" in cur.fetchone()[0]
