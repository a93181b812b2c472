"""The three full-text backends. ``match(index, text, newest=None)`` returns
``(sql, params)`` of a sub-query selecting the matching keys, or None when the text
holds no word that the backend can search; callers compose it as ``id IN (sub-query)``.
With ``newest``, only the highest that many keys: the index reads them in key order
and stops, so a common word costs no more than a rare one."""

from . import words


class SearchBackend:
    def __init__(self, database):
        self.database = database

    def table(self, index):
        if not index.isidentifier():
            raise ValueError(f"bad index name {index!r}")
        return f"sb_search_{index}"

    def execute(self, sql, params=()):
        return self.database.execute_sql(sql, params)

    def delete(self, index, keys):
        keys = list(keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ", ".join([self.param] * len(chunk))
            self.execute(f"DELETE FROM {self.table(index)} WHERE {self.key} IN ({marks})", chunk)

    def newest(self, sql, newest):
        """Keep the ``newest`` highest keys; the derived table lets MySQL take a LIMIT
        inside ``IN (…)``."""
        if newest is None:
            return sql
        return (f"SELECT {self.key} FROM ({sql} ORDER BY {self.key} DESC LIMIT {int(newest)}) "
                f"AS newest_matches")

    def upsert_many(self, index, rows):
        for key, body in rows:
            self.upsert(index, key, body)


class SqliteSearch(SearchBackend):
    param = "?"
    key = "rowid"

    def create_index(self, index):
        self.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.table(index)} USING fts5("
                     "body, tokenize = 'unicode61 remove_diacritics 2')")

    def upsert(self, index, key, body):
        self.execute(f"DELETE FROM {self.table(index)} WHERE rowid = ?", (key,))
        self.execute(f"INSERT INTO {self.table(index)} (rowid, body) VALUES (?, ?)", (key, body))

    def match(self, index, text, newest=None):
        terms = words(text)
        if not terms:
            return None
        query = " ".join(f'"{term}"*' for term in terms)
        table = self.table(index)
        return self.newest(f"SELECT rowid FROM {table} WHERE {table} MATCH ?", newest), [query]


class MySQLSearch(SearchBackend):
    param = "%s"
    key = "id"
    MIN_TOKEN = 3  # InnoDB's innodb_ft_min_token_size default
    # InnoDB's default stopwords are not indexed when the server keeps them on; a
    # required stopword would match nothing, so the query leaves them out.
    STOPWORDS = frozenset("a about an are as at be by com de en for from how i in is it la of "
                          "on or that the this to was what when where who will with und www".split())

    def create_index(self, index):
        self.execute("SET SESSION innodb_ft_enable_stopword = 0")
        self.execute(f"CREATE TABLE IF NOT EXISTS {self.table(index)} ("
                     "id BIGINT PRIMARY KEY, body LONGTEXT NOT NULL, FULLTEXT KEY ft_body (body)"
                     ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")

    def upsert(self, index, key, body):
        self.execute(f"INSERT INTO {self.table(index)} (id, body) VALUES (%s, %s) "
                     "ON DUPLICATE KEY UPDATE body = VALUES(body)", (key, body))

    def match(self, index, text, newest=None):
        terms = [t for t in words(text) if len(t) >= self.MIN_TOKEN and t not in self.STOPWORDS]
        if not terms:
            return None
        query = " ".join(f"+{term}*" for term in terms)
        return (self.newest(f"SELECT id FROM {self.table(index)} WHERE MATCH(body) AGAINST "
                            "(%s IN BOOLEAN MODE)", newest), [query])


class PostgresSearch(SearchBackend):
    param = "%s"
    key = "id"

    def create_index(self, index):
        table = self.table(index)
        self.execute(f"CREATE TABLE IF NOT EXISTS {table} (id BIGINT PRIMARY KEY, body TEXT NOT NULL, "
                     "tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED)")
        self.execute(f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING GIN (tsv)")

    def upsert(self, index, key, body):
        self.execute(f"INSERT INTO {self.table(index)} (id, body) VALUES (%s, %s) "
                     "ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body", (key, body))

    def match(self, index, text, newest=None):
        terms = words(text)
        if not terms:
            return None
        query = " & ".join(f"{term}:*" for term in terms)
        return (self.newest(f"SELECT id FROM {self.table(index)} WHERE tsv @@ to_tsquery('simple', %s)",
                            newest), [query])
