"""The three full-text backends. ``match(index, text, newest=None)`` returns
``(sql, params)`` of a sub-query selecting the matching keys, or of a list of keys
(``%s, %s, …``, ``NULL`` for none) that composes the same way, or None when the text
holds no word that the backend can search; callers compose it as ``id IN (sql)``.
With ``newest``, only the highest that many keys: the index reads them in key order
and stops, so a common word costs no more than a rare one."""

import peewee

from . import words

NO_SUCH_TABLE = 1146  # MySQL's error number


class SearchBackend:
    newest_listed = False  # whether a match with ``newest`` is a list of keys

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

    def upsert(self, index, key, body):
        self.upsert_many(index, [(key, body)])

    def upsert_many(self, index, rows):
        """Write (key, body) rows, 1,000 to a statement; a key given twice keeps its last body."""
        rows = list(dict(rows).items())
        for start in range(0, len(rows), 1000):
            self.write(index, rows[start:start + 1000])

    def values(self, rows):
        """``(?, ?), (?, ?) …`` and the flat parameters of (key, body) rows."""
        return (", ".join([f"({self.param}, {self.param})"] * len(rows)),
                [value for row in rows for value in row])


class SqliteSearch(SearchBackend):
    param = "?"
    key = "rowid"

    def create_index(self, index):
        self.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.table(index)} USING fts5("
                     "body, tokenize = 'unicode61 remove_diacritics 2')")

    def write(self, index, rows):
        self.delete(index, [key for key, _ in rows])  # FTS5 has no upsert
        marks, params = self.values(rows)
        self.execute(f"INSERT INTO {self.table(index)} (rowid, body) VALUES {marks}", params)

    def match(self, index, text, newest=None):
        terms = words(text)
        if not terms:
            return None
        query = " ".join(f'"{term}"*' for term in terms)
        table = self.table(index)
        return self.newest(f"SELECT rowid FROM {table} WHERE {table} MATCH ?", newest), [query]


class MySQLSearch(SearchBackend):
    """InnoDB FULLTEXT. InnoDB reads every row that matches before it sorts or limits
    them (about 6 µs a row), so the newest 500 of a word in 96,000 of 1M messages cost
    0.6-1.4 s from one table. An index named in GENERATIONS is therefore split by key range
    into generation tables, ``sb_search_<index>_<n>`` for keys in [n * size,
    (n + 1) * size), recorded in REGISTRY once they exist; a newest-N search reads them
    newest first and stops when it has N keys.

    A generation's table is the plain one's shape (the key as primary key; InnoDB keeps
    the document ids). A table with its own ``FTS_DOC_ID`` column (one lookup a match
    instead of two) failed about 1 concurrent send-message in 4,000 with "Invalid InnoDB
    FTS Doc ID" (error 182): auto-increment ids taken in one order and inserted in
    another."""

    param = "%s"
    key = "id"
    newest_listed = True
    MIN_TOKEN = 3  # InnoDB's innodb_ft_min_token_size default
    # InnoDB's default stopwords are not indexed when the server keeps them on; a
    # required stopword would match nothing, so the query leaves them out.
    STOPWORDS = frozenset("a about an are as at be by com de en for from how i in is it la of "
                          "on or that the this to was what when where who will with und www".split())
    GENERATIONS = {"messages": 50_000}  # keys a generation holds: a common word's newest 500 cost ~15 ms
    REGISTRY = "sb_search_generations"
    AHEAD = 100  # writes of a generation's last keys make the next one
    MATCH = "MATCH(body) AGAINST (%s IN BOOLEAN MODE)"

    def create_index(self, index):
        self.execute("SET SESSION innodb_ft_enable_stopword = 0")
        if index not in self.GENERATIONS:
            self.execute(self.table_ddl(self.table(index)))
            return
        self.execute(f"CREATE TABLE IF NOT EXISTS {self.REGISTRY} (name VARCHAR(64) NOT NULL, "
                     "number INT NOT NULL, PRIMARY KEY (name, number)) ENGINE=InnoDB")
        top = self.split(index)
        self.add_generations(index, (top, top + 1))

    # --- generations ---

    def generation(self, index, number):
        return f"{self.table(index)}_{int(number)}"

    @staticmethod
    def table_ddl(table, fulltext=True):
        """An index's table, or a generation's: the same shape."""
        return (f"CREATE TABLE IF NOT EXISTS {table} (id BIGINT PRIMARY KEY, body LONGTEXT NOT NULL"
                + (", FULLTEXT KEY ft_body (body)" if fulltext else "")
                + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")

    def generation_ddl(self, index, number, fulltext=True):
        return self.table_ddl(self.generation(index, number), fulltext)

    def upsert_sql(self, table, rows):
        """``(sql, params)`` writing (key, body) ``rows`` into ``table``, a key's new body
        replacing its old one."""
        marks, params = self.values(rows)
        return (f"INSERT INTO {table} (id, body) VALUES {marks} "
                "ON DUPLICATE KEY UPDATE body = VALUES(body)", params)

    def register(self, index, number):
        return (f"INSERT IGNORE INTO {self.REGISTRY} (name, number) VALUES (%s, %s)", (index, number))

    def add_generations(self, index, numbers):
        """Create the tables of generations ``numbers`` and record them, on a connection of
        their own: DDL commits the open transaction on MySQL, and the caller's must stay
        open. A search sees a generation once its record is committed, so never a table
        younger than its snapshot (which InnoDB refuses to read)."""
        connection = self.database._connect()
        try:
            cursor = connection.cursor()
            cursor.execute("SET SESSION innodb_ft_enable_stopword = 0")
            for number in numbers:
                cursor.execute(self.generation_ddl(index, number))
                cursor.execute(*self.register(index, number))
        finally:
            self.database._close(connection)

    def split(self, index):
        """Move an index kept in one table (before generations) into its generations, each
        filled before its FULLTEXT index is built (11 s for 1M rows, where inserting into
        indexed tables took 155 s), and drop it. Returns the generation of the highest key
        moved (0 when none)."""
        old, size = self.table(index), self.GENERATIONS[index]
        if not self.database.table_exists(old):
            return 0
        # the generations that hold rows (ids may be sparse: no empty tables between them)
        numbers = [row[0] for row in self.execute(
            f"SELECT DISTINCT id DIV {int(size)} FROM {old} ORDER BY 1")]
        for number in numbers:
            table = self.generation(index, number)
            built = self.database.table_exists(table)  # by a run cut short: its rows stay
            if not built:
                self.execute(self.generation_ddl(index, number, fulltext=False))
            self.execute(f"INSERT IGNORE INTO {table} (id, body) SELECT id, body FROM {old} "
                         "WHERE id >= %s AND id < %s ORDER BY id", (number * size, (number + 1) * size))
            if not built:
                self.execute(f"ALTER TABLE {table} ADD FULLTEXT KEY ft_body (body)")
            self.execute(*self.register(index, number))
        self.execute(f"DROP TABLE {old}")
        return numbers[-1] if numbers else 0

    def generations(self, index):
        """The generations a search reads, newest first."""
        return [row[0] for row in self.execute(
            f"SELECT number FROM {self.REGISTRY} WHERE name = %s ORDER BY number DESC", (index,))]

    def by_generation(self, index, items, key=lambda item: item):
        """``[(generation, its items)]`` of keys, or of rows with ``key=``."""
        size, grouped = self.GENERATIONS[index], {}
        for item in items:
            grouped.setdefault(key(item) // size, []).append(item)
        return sorted(grouped.items())

    def top_key(self, index, numbers):
        """The highest key in generations ``numbers`` (None when they are empty)."""
        tops = " UNION ALL ".join(f"SELECT MAX(id) AS id FROM {self.generation(index, number)}"
                                  for number in numbers)
        return self.execute(f"SELECT MAX(id) FROM ({tops}) AS tops").fetchone()[0] if numbers else None

    def newest_keys(self, index, query, newest):
        """The ``newest`` highest keys matching ``query``, reading generations from the one
        of the highest key down (the one made ahead of need is empty): one at a time until
        a generation's worth of keys is read, then as many as the matches so far say the
        rest needs (all that are left when none matched: a rare word), one statement a round."""
        size, numbers = self.GENERATIONS[index], self.generations(index)
        top = self.top_key(index, numbers[:2])  # the newest may be the empty one made ahead
        if top is None:
            top = (numbers[0] + 1) * size - 1 if numbers else 0
        numbers = [number for number in numbers if number <= top // size]
        keys, span, batch = [], 0, 1
        while numbers and len(keys) < newest:
            part, numbers = numbers[:batch], numbers[batch:]
            missing = newest - len(keys)
            sql = " UNION ALL ".join(f"(SELECT id FROM {self.generation(index, number)} WHERE {self.MATCH} "
                                     f"ORDER BY id DESC LIMIT {missing})" for number in part)
            found = sorted((row[0] for row in self.execute(sql, [query] * len(part))), reverse=True)
            keys += found[:missing]
            span += sum(min(size, top - number * size + 1) for number in part)  # keys read
            if span < size:
                batch = 1
            elif keys:  # the generations that hold the missing keys at the density so far
                batch = -(-(newest - len(keys)) * span // (len(keys) * size))
            else:
                batch = len(numbers)
        return keys

    # --- the interface ---

    def write(self, index, rows):
        if index not in self.GENERATIONS:
            self.execute(*self.upsert_sql(self.table(index), rows))
            return
        for number, chunk in self.by_generation(index, rows, key=lambda row: row[0]):
            sql, params = self.upsert_sql(self.generation(index, number), chunk)
            try:
                self.execute(sql, params)
            except peewee.ProgrammingError as error:
                if error.args[0] != NO_SUCH_TABLE:
                    raise
                self.add_generations(index, (number, number + 1))  # the next one ahead of need
                self.execute(sql, params)
                continue
            size = self.GENERATIONS[index]
            if max(key for key, _ in chunk) % size >= size - self.AHEAD:
                self.prepare(index, number + 1)

    def prepare(self, index, number):
        """Make generation ``number`` unless it is recorded (the last keys of the one before
        it ask, so that the first write there finds its table)."""
        if not self.execute(f"SELECT 1 FROM {self.REGISTRY} WHERE name = %s AND number = %s",
                            (index, number)).fetchone():
            self.add_generations(index, (number,))

    def delete(self, index, keys):
        if index not in self.GENERATIONS:
            return super().delete(index, keys)
        for number, chunk in self.by_generation(index, keys):
            for start in range(0, len(chunk), 500):
                part = chunk[start:start + 500]
                try:
                    self.execute(f"DELETE FROM {self.generation(index, number)} WHERE id IN "
                                 f"({', '.join(['%s'] * len(part))})", part)
                except peewee.ProgrammingError as error:
                    if error.args[0] != NO_SUCH_TABLE:  # no table: nothing of it to delete
                        raise

    def match(self, index, text, newest=None):
        terms = [t for t in words(text) if len(t) >= self.MIN_TOKEN and t not in self.STOPWORDS]
        if not terms:
            return None
        query = " ".join(f"+{term}*" for term in terms)
        if newest is not None:  # a list: MySQL plans a query over known keys well
            if index in self.GENERATIONS:
                keys = self.newest_keys(index, query, newest)
            else:
                keys = [row[0] for row in self.execute(self.newest(
                    f"SELECT id FROM {self.table(index)} WHERE {self.MATCH}", newest), [query])]
            return ", ".join(["%s"] * len(keys)) or "NULL", keys
        if index not in self.GENERATIONS:
            return f"SELECT id FROM {self.table(index)} WHERE {self.MATCH}", [query]
        numbers = self.generations(index)
        if not numbers:
            return "NULL", []
        union = " UNION ALL ".join(f"SELECT id FROM {self.generation(index, number)} WHERE {self.MATCH}"
                                   for number in numbers)
        return f"SELECT id FROM ({union}) AS matches", [query] * len(numbers)


class PostgresSearch(SearchBackend):
    param = "%s"
    key = "id"

    def create_index(self, index):
        table = self.table(index)
        self.execute(f"CREATE TABLE IF NOT EXISTS {table} (id BIGINT PRIMARY KEY, body TEXT NOT NULL, "
                     "tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED)")
        self.execute(f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING GIN (tsv)")

    def write(self, index, rows):
        marks, params = self.values(rows)
        self.execute(f"INSERT INTO {self.table(index)} (id, body) VALUES {marks} "
                     "ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body", params)

    def match(self, index, text, newest=None):
        terms = words(text)
        if not terms:
            return None
        query = " & ".join(f"{term}:*" for term in terms)
        return (self.newest(f"SELECT id FROM {self.table(index)} WHERE tsv @@ to_tsquery('simple', %s)",
                            newest), [query])
