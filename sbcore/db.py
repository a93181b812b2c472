"""The database: one proxy, initialised from a URL that ``playhouse.db_url`` takes.

SQLite runs in WAL mode with foreign keys on; MySQL/MariaDB uses utf8mb4; every
backend goes through a connection pool so that a request borrows a connection."""

import importlib
import os
import random
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone

try:
    import fcntl
except ImportError:  # Windows has no flock: SQLite's busy handler alone queues writers there
    fcntl = None

import peewee
from playhouse.db_url import connect, register_database
from playhouse.pool import PooledMySQLDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "cache_size": -32000,
    "synchronous": "normal",
    "busy_timeout": 10000,
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def utcnow():
    """The current UTC time as a naive datetime, to the second (as stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def format_datetime(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value[:19]
    if value.year < 1000:  # isoformat pads the year; strftime's %Y does not
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat(" ", "seconds")


def kind(db=None):
    """'sqlite', 'mysql' or 'postgres' for the initialised database."""
    db = db or database.obj
    if isinstance(db, peewee.SqliteDatabase):
        return "sqlite"
    if isinstance(db, peewee.MySQLDatabase):
        return "mysql"
    if isinstance(db, peewee.PostgresqlDatabase):
        return "postgres"
    raise TypeError(f"unsupported database {type(db).__name__}")


MYSQL_DRIVERS = {"mysqlclient": "MySQLdb", "pymysql": "pymysql"}


def mysql_driver(name=None):
    """The MySQL/MariaDB driver module: ``name`` ("mysqlclient" or "pymysql", the
    database URL's ``driver``), or mysqlclient where it is installed, else PyMySQL
    (always PyMySQL under gevent, whose patched sockets it uses).
    mysqlclient decodes rows in C: a page of 100 users costs it half what PyMySQL's
    Python takes (0.53 ms against 1.02 ms on a 2-core machine)."""
    if name:
        if name not in MYSQL_DRIVERS:
            raise ValueError(f"unknown MySQL driver {name!r}: use one of {', '.join(MYSQL_DRIVERS)}")
        return importlib.import_module(MYSQL_DRIVERS[name])
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        return importlib.import_module("pymysql")  # C code would block every greenlet
    try:
        return importlib.import_module("MySQLdb")
    except ImportError:
        return importlib.import_module("pymysql")


def mysql_decoders(driver):
    """The driver's decoders, with DATETIME and TIMESTAMP read by ``datetime.fromisoformat``
    (C) when they have the usual 19 characters: a page of 100 users has 200 of them, and
    PyMySQL's own converter (a regular expression and seven ``int``) was a tenth of its
    decoding. Any other text (fractions, zero dates) goes to the driver's converter."""
    if driver.__name__ == "MySQLdb":
        from MySQLdb.constants import FIELD_TYPE
        from MySQLdb.converters import conversions
        from MySQLdb.times import DateTime_or_None as convert_datetime
    else:
        from pymysql.constants import FIELD_TYPE
        from pymysql.converters import conversions, convert_datetime

    def decode_datetime(text):
        if len(text) == 19:
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        return convert_datetime(text)

    return {**conversions, FIELD_TYPE.DATETIME: decode_datetime, FIELD_TYPE.TIMESTAMP: decode_datetime}


class DriverMySQLDatabase(peewee.MySQLDatabase):
    """peewee's MySQL database on the driver module ``self.driver`` (peewee itself
    always takes PyMySQL when it is installed)."""

    def _connect(self):
        return self.driver.connect(database=self.database, autocommit=True, **self.connect_params)


class PooledMariaDB(PooledMySQLDatabase, DriverMySQLDatabase):
    """peewee's MySQL pool on mysqlclient or PyMySQL (see ``mysql_driver``), without two
    round trips per checkout: it pings a connection only when it has been idle for
    PING_AFTER seconds (a busy connection is known to be alive; a server that went away
    meanwhile is seen by the next ping), and rolls back at check-in only when a
    transaction is open (PyMySQL keeps the server's status flags of the last answer;
    mysqlclient does not show them, so the transactions begun and ended on the
    connection are counted here; peewee's pool rolls back always)."""

    PING_AFTER = 5.0

    def __init__(self, database, driver=None, **kwargs):
        self._checked_in = {}  # connection key -> monotonic time it came back to the pool
        self.driver = mysql_driver(driver)
        # FOUND_ROWS: an UPDATE reports the rows it matched, as SQLite and PostgreSQL do,
        # not only those whose value changed (update-or-insert relies on it).
        client = importlib.import_module(f"{self.driver.__name__}.constants.CLIENT")
        kwargs.setdefault("client_flag", client.FOUND_ROWS)
        kwargs.setdefault("conv", mysql_decoders(self.driver))
        super().__init__(database, **kwargs)

    def _opened(self, is_open):
        conn = self._state.conn
        if conn is not None:
            conn.sbcore_transaction = is_open

    def begin(self, *args, **kwargs):
        super().begin(*args, **kwargs)
        self._opened(True)

    def commit(self):
        super().commit()
        self._opened(False)

    def rollback(self):
        super().rollback()
        self._opened(False)

    def execute_sql(self, sql, params=None, *args, **kwargs):
        cursor = super().execute_sql(sql, params, *args, **kwargs)
        head = sql[:6].upper()
        if head.startswith(("BEGIN", "START ")):  # a transaction begun by hand
            self._opened(True)
        elif head.startswith("COMMIT") or (head.startswith("ROLLBA") and "SAVEPOINT" not in sql.upper()):
            self._opened(False)
        return cursor

    def _is_closed(self, conn):
        since = self._checked_in.get(self.conn_key(conn))
        if since is not None and time.monotonic() - since < self.PING_AFTER:
            return not conn.open
        try:  # PyMySQL's ping() reconnects unless told not to; mysqlclient's never does
            conn.ping(False) if self.driver.__name__ == "pymysql" else conn.ping()
        except Exception:
            return True
        return False

    def _can_reuse(self, conn):
        status = getattr(conn, "server_status", None)  # PyMySQL's flags of the last answer
        if isinstance(status, int):
            from pymysql.constants import SERVER_STATUS
            is_open = bool(status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)
        else:
            is_open = getattr(conn, "sbcore_transaction", False)
        if is_open:
            try:
                conn.rollback()
            except Exception:
                return False
            conn.sbcore_transaction = False
        return True

    def _close(self, conn, close_conn=False):
        key = self.conn_key(conn)
        if close_conn:
            self._checked_in.pop(key, None)
        else:
            self._checked_in[key] = time.monotonic()
        super()._close(conn, close_conn)

    def _close_raw(self, conn):
        self._checked_in.pop(self.conn_key(conn), None)
        super()._close_raw(conn)


register_database(PooledMariaDB, "mysql+pool")


def pooled_url(url):
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    if "+" not in scheme:
        scheme = {"postgres": "postgresql"}.get(scheme, scheme) + "+pool"
    return f"{scheme}://{rest}"


def open_database(url):
    """Build (but do not connect) the peewee database for ``url``."""
    scheme = url.partition("://")[0]
    options = {"max_connections": 32, "stale_timeout": 300}
    if scheme.startswith("sqlite"):
        filename = url.split("://", 1)[1][1:]
        if filename and filename != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
        options.update(pragmas=SQLITE_PRAGMAS, check_same_thread=False, timeout=10)
    elif scheme.startswith("mysql"):
        options.update(charset="utf8mb4")
    return connect(pooled_url(url), **options)


def init_database(url):
    """The database of ``url``, bound to the proxy the models use. A second Core of the
    same process on the same URL (two apps mounted in one process) shares the database
    object, so that a call's transaction and its queries are on one connection."""
    current = database.obj
    if current is not None and getattr(current, "sbcore_url", None) == url:
        return current
    db = open_database(url)
    db.sbcore_url = url
    database.initialize(db)
    return db


BUSY_RETRIES = 12  # with the jitter below, at most about 4 s of waiting in all


RETRYABLE = ("database is locked", "database is busy",        # SQLite's busy snapshot
             "Deadlock found", "Lock wait timeout",            # InnoDB
             "deadlock detected", "could not serialize access")  # PostgreSQL


def is_retryable(error):
    """A transaction the database gave up on, that succeeds when run again: SQLite's
    busy snapshot (a transaction that read, then found another connection wrote first,
    fails at once whatever busy_timeout), a deadlock or a serialization failure."""
    return isinstance(error, peewee.OperationalError) and any(
        text in str(error) for text in RETRYABLE)


class WriterQueue:
    """SQLite has one writer at a time, and a writer that finds the lock taken sleeps in
    SQLite's busy handler (1, 2, 5, 10, 15, 20, 25 … ms between tries) whatever the
    time the lock is actually held: at four concurrent writers that sleep, not the
    writing, is the long tail. The writers of every process on this machine queue on a
    file lock beside the database instead (``<file>-writer``, flock), and a waiting
    writer starts the moment the one before it commits. Threads of one process queue on
    a lock first, so a process holds the file lock for one thread at a time."""

    def __init__(self, filename):
        self.path = f"{filename}-writer"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd = None
        self._pid = None

    def _file(self):
        if self._pid != os.getpid():  # a forked worker opens its own (flock is per open file)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self):
        self._thread_lock.acquire()
        if self._depth == 0:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            except BaseException:
                self._thread_lock.release()
                raise
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        try:
            if self._depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_queues_lock = threading.Lock()


def writer_queue(db):
    """The WriterQueue of SQLite database ``db`` (a file; none for ``:memory:`` or where
    the platform has no flock)."""
    queue = getattr(db, "sbcore_writer_queue", None)
    if queue is None and fcntl is not None:
        filename = db.database
        if not filename or filename == ":memory:" or filename.startswith("file:"):
            return None
        with _queues_lock:
            queue = getattr(db, "sbcore_writer_queue", None)
            if queue is None:
                queue = db.sbcore_writer_queue = WriterQueue(os.path.abspath(filename))
    return queue


def in_transaction_retrying(database, fn, immediate=False):
    """Run ``fn()`` in a transaction; when the database gives up on it (see
    ``is_retryable``) the transaction, which changed nothing, runs again from the start
    (a few times, with jitter; on SQLite holding the write lock from the start).

    ``immediate``: on SQLite, take the write lock at BEGIN already on the first attempt
    (a call that writes: it then waits its turn in the WriterQueue instead of reading,
    losing its snapshot to another writer, sleeping and running again)."""
    db = database.obj if isinstance(database, peewee.DatabaseProxy) else database
    sqlite = isinstance(db, peewee.SqliteDatabase)
    for attempt in range(BUSY_RETRIES):
        # SQLite: a retry takes the write lock at BEGIN (IMMEDIATE), so that it waits its
        # turn (in the writer queue) instead of losing to the next writer again; first
        # attempts of other work stay deferred so that readers never queue behind writers.
        lock = ("IMMEDIATE",) if sqlite and (attempt or immediate) and not database.in_transaction() else ()
        queue = writer_queue(db) if lock else None
        try:
            with queue or nullcontext(), database.atomic(*lock):
                return fn()
        except peewee.OperationalError as error:
            if not is_retryable(error) or attempt == BUSY_RETRIES - 1 or database.in_transaction():
                raise
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))


def check_page(pagination, size):
    """The offset of page ``pagination`` (from 0), ``size`` rows a page; a negative page,
    or one whose offset no database can hold, is refused as an invalid argument."""
    from .errors import invalid_argument
    if pagination < 0:
        raise invalid_argument("pagination", "expected 0 or more.")
    if pagination * size > 2 ** 63 - 1:
        raise invalid_argument("pagination", "the page is out of range.")
    return pagination * size


def page(query, pagination, size):
    """Page ``pagination`` of ``query`` (see ``check_page``)."""
    return query.limit(size).offset(check_page(pagination, size))


def raw_dicts(query):
    """Run a peewee query and answer its rows as dicts of the database's own values
    (no model objects, no field converters): the fast path for list answers, whose
    shapes format every value anyway."""
    return cursor_dicts(database.execute(query))


def cursor_dicts(cursor):
    """A cursor's rows as dicts by column name."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@contextmanager
def connection():
    """Borrow a connection for the duration of the block (reuses an open one)."""
    opened = database.connect(reuse_if_open=True)
    try:
        yield database
    finally:
        if opened and not database.in_transaction():
            database.close()


class Prepared:
    """A query of a fixed shape whose SQL is built by peewee once per dialect and reused
    with each call's arguments: building the SQL of a point read or a one-row write
    costs peewee more than SQLite takes to run it (0.1–0.2 ms against a few µs).

    ``build(*marks)`` makes the peewee query from stand-in arguments; a run puts the
    call's arguments in their places. Each argument is an int, a float, a str or a
    datetime, as the database stores it (no field converter runs; a column must take it
    as it is, no booleans, no None): the stand-ins have the arguments' types, are
    unlikely values, and are found again among the built query's parameters. Every
    other value of the query is a constant, taken as built."""

    def __init__(self, build):
        self.build = build
        self._sql = {}  # database class -> (sql, [(argument index or None, constant)])

    @staticmethod
    def _mark(number, value):
        if isinstance(value, bool) or value is None:
            raise TypeError("a Prepared argument cannot be a bool or None")
        if isinstance(value, int):
            return -6_917_529_027_641_081_000 - number
        if isinstance(value, float):
            return -1.2345678901234567e300 * (number + 1)
        if isinstance(value, (str, datetime)):
            return f"\x00sbcore-prepared-{number}\x00"
        raise TypeError(f"a Prepared argument cannot be a {type(value).__name__}")

    def _compile(self, db, args):
        marks = {}
        for number, value in enumerate(args):
            mark = self._mark(number, value)
            marks[type(mark), mark] = number
        sql, params = db.get_sql_context().sql(self.build(*(m for _, m in marks))).query()
        layout = [(marks.get((type(value), value)), value) for value in params]
        missing = set(range(len(args))) - {index for index, _ in layout}
        if missing:
            raise TypeError(f"arguments {sorted(missing)} of a Prepared query are converted "
                            "or unused (see Prepared)")
        return sql, layout

    def statement(self, *args):
        """``(sql, params)`` of the query with ``args``."""
        db = database.obj
        entry = self._sql.get(type(db))
        if entry is None:
            entry = self._sql[type(db)] = self._compile(db, args)
        sql, layout = entry
        return sql, [value if index is None else args[index] for index, value in layout]

    def execute(self, *args):
        """The cursor of the query with ``args``."""
        return database.execute_sql(*self.statement(*args))

    def dicts(self, *args):
        """The rows as dicts of the database's own values (see ``raw_dicts``)."""
        return cursor_dicts(self.execute(*args))

    def first(self, model, *args):
        """The first row as a ``model`` instance (its fields converted), or None."""
        sql, params = self.statement(*args)
        return next(iter(model.raw(sql, *params)), None)

    def insert(self, *args):
        """Run an INSERT of one row; the new row's id."""
        cursor = self.execute(*args)
        if kind() == "postgres":  # peewee's INSERT ends with RETURNING the key
            return cursor.fetchone()[0]
        return cursor.lastrowid
