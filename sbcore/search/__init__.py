"""Full-text search behind one interface, one backend per database: SQLite FTS5,
MySQL/MariaDB FULLTEXT, PostgreSQL tsvector.

Each index is a table ``sb_search_<name>`` of (key, body); on MySQL/MariaDB the messages'
index is split into tables by key range (``sb_search_messages_<n>``, see
``backends.MySQLSearch``). Text is normalised to lower-case words before it is stored or
searched, so a search is always a list of plain words: quotes, ``%`` and operators in
user input are text, never syntax."""

import re

from .. import db as dbmod

WORD = re.compile(r"[^\W_]+")


def words(text):
    return WORD.findall((text or "").lower())


def normalise(*parts):
    return " ".join(w for part in parts if part for w in words(str(part)))


def search_backend(database=None):
    from .backends import MySQLSearch, PostgresSearch, SqliteSearch
    database = database or dbmod.database.obj
    return {"sqlite": SqliteSearch, "mysql": MySQLSearch,
            "postgres": PostgresSearch}[dbmod.kind(database)](database)
