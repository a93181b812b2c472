"""Reading a Support Board MySQL/MariaDB database: SELECT only, in a read-only session,
one table at a time in id order (keyset pages, so that each page is one indexed query)."""

from urllib.parse import parse_qs, unquote, urlparse

import pymysql
import pymysql.cursors


class SourceError(Exception):
    """The source database cannot be read (a clear message for the command line)."""


def connect(url):
    parts = urlparse(url)
    if parts.scheme.split("+")[0] not in ("mysql", "mariadb"):
        raise SourceError(f"not a MySQL/MariaDB URL: {parts.scheme}://… (use mysql://user:password@host:3306/database)")
    database = parts.path.lstrip("/")
    if not database:
        raise SourceError("the URL names no database (mysql://user:password@host:3306/database)")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    try:
        conn = pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                               user=unquote(parts.username or "root"),
                               password=unquote(parts.password or ""), database=unquote(database),
                               charset="utf8mb4", autocommit=True,
                               unix_socket=options.get("unix_socket"),
                               connect_timeout=15, read_timeout=600)
    except pymysql.MySQLError as error:
        raise SourceError(f"cannot connect to the Support Board database: {error}") from None
    with conn.cursor() as cur:
        # Nothing this session does can write, whatever the user's grants.
        cur.execute("SET SESSION TRANSACTION READ ONLY")
    return conn


class Source:
    """The tables of one install, named with its ``prefix`` (``sb_`` unless customised)."""

    def __init__(self, url, prefix="sb_"):
        if not prefix.replace("_", "").isalnum() and prefix:
            raise SourceError(f"bad table prefix {prefix!r}")
        self.prefix = prefix
        self.url = url
        self.conn = connect(url)
        with self.conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            self.tables = {row[0] for row in cur.fetchall()}
        if self.table("users") not in self.tables:
            raise SourceError(f"no table {self.table('users')}: is this a Support Board database "
                              "(or does it use another table prefix, --prefix)?")
        self._columns = {}

    def table(self, name):
        return f"{self.prefix}{name}"

    def has(self, name):
        return self.table(name) in self.tables

    def columns(self, name):
        """The columns the table has (SHOW COLUMNS), in order."""
        if name not in self._columns:
            with self.conn.cursor() as cur:
                cur.execute(f"SHOW COLUMNS FROM `{self.table(name)}`")
                self._columns[name] = [row[0] for row in cur.fetchall()]
        return self._columns[name]

    def query(self, sql, params=(), conn=None):
        with (conn or self.conn).cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def count_after(self, name, after, upto):
        if not self.has(name):
            return 0
        rows = self.query(f"SELECT COUNT(*) AS n FROM `{self.table(name)}` WHERE id > %s AND id <= %s",
                          (after, upto))
        return int(rows[0]["n"])

    def max_id(self, name):
        if not self.has(name):
            return 0
        rows = self.query(f"SELECT MAX(id) AS n FROM `{self.table(name)}`")
        return int(rows[0]["n"] or 0)

    def pages(self, name, after, upto, size, columns=None):
        """Rows with ``after < id <= upto`` in id order, ``size`` at a time, read on a
        connection of their own (so that a reader thread may run them)."""
        if not self.has(name):
            return
        wanted = ", ".join(f"`{c}`" for c in (columns or self.columns(name)))
        sql = (f"SELECT {wanted} FROM `{self.table(name)}` WHERE id > %s AND id <= %s "
               f"ORDER BY id LIMIT {int(size)}")
        conn = connect(self.url)
        try:
            while after < upto:
                rows = self.query(sql, (after, upto), conn)
                if not rows:
                    return
                yield rows
                after = rows[-1]["id"]
        finally:
            conn.close()

    def user_data(self, lo, hi):
        """The details of the users with ids in [lo, hi], one query."""
        if not self.has("users_data"):
            return []
        return self.query(f"SELECT * FROM `{self.table('users_data')}` WHERE user_id >= %s AND "
                          "user_id <= %s ORDER BY id", (lo, hi))

    def orphan_user_data(self):
        if not self.has("users_data"):
            return []
        return self.query(f"SELECT d.id, d.user_id, d.slug FROM `{self.table('users_data')}` d "
                          f"LEFT JOIN `{self.table('users')}` u ON u.id = d.user_id "
                          "WHERE u.id IS NULL ORDER BY d.id")

    def settings(self):
        """Every row of the settings table: ``{name: value text}``."""
        if not self.has("settings"):
            return {}
        return {row["name"]: row["value"] for row in
                self.query(f"SELECT name, value FROM `{self.table('settings')}`")}

    def close(self):
        try:
            self.conn.close()
        except pymysql.MySQLError:
            pass
