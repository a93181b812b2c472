"""Writing many rows fast on SQLite, MySQL/MariaDB and PostgreSQL, and reading the
source ahead of the writes."""

import queue
import threading

from peewee import DateTimeField

from .. import db as dbmod


def prefetched(pages, depth=2):
    """The pages of ``pages`` read ahead in a thread: the source database answers the next
    page while this one is written (both servers work at once)."""
    buffer, stop, done = queue.Queue(maxsize=depth), threading.Event(), object()

    def read():
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(page, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as error:  # noqa: BLE001 - raised again in the consumer
            buffer.put(error)
    reader = threading.Thread(target=read, name="sb-import-reader", daemon=True)
    reader.start()
    try:
        while True:
            page = buffer.get()
            if page is done:
                return
            if isinstance(page, BaseException):
                raise page
            yield page
    finally:
        stop.set()
        reader.join(timeout=30)


def insert_rows(model, rows, fields=None):
    """Insert many rows (dicts of field names, or tuples in the order of ``fields``) with
    the driver's own bulk path: peewee's ``insert_many`` spends more time building the SQL
    of a large batch than the database spends storing it (profiled: 60% of an import)."""
    if not rows:
        return
    if fields is None:
        names = list(rows[0])
        # columns the rows do not name take the model's default (raw inserts get no
        # peewee defaults): a column added by a later migration never breaks an import
        defaults = {f.name: f.default for f in model._meta.sorted_fields
                    if f.name not in names and f.default is not None and not f.primary_key}
        fields = [model._meta.fields[name] for name in names + list(defaults)]
        rows = [tuple(row[name] for name in names)
                + tuple(value() if callable(value) else value for value in defaults.values())
                for row in rows]
    kind = dbmod.kind(model._meta.database.obj)
    quote = "`{}`" if kind == "mysql" else '"{}"'
    columns = ", ".join(quote.format(f.column_name) for f in fields)
    table = quote.format(model._meta.table_name)
    cursor = model._meta.database.cursor()
    if kind == "sqlite":
        stamp = [i for i, f in enumerate(fields) if isinstance(f, (DateTimeField,))]
        if stamp:
            rows = [tuple(dbmod.format_datetime(v) if i in stamp and v is not None else v
                          for i, v in enumerate(row)) for row in rows]
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(fields))})", rows)
    elif kind == "mysql":
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", rows)
    else:
        from psycopg2.extras import execute_values
        execute_values(cursor, f"INSERT INTO {table} ({columns}) VALUES %s", rows, page_size=1000)


def set_last_messages(rows):
    """``[(conversation id, last message id, its time)]`` into the conversations, 500 to a
    statement (one UPDATE joined to the values; SQLite: one prepared UPDATE run many times)."""
    database = dbmod.database
    kind = dbmod.kind(database.obj)
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        if kind == "sqlite":
            database.cursor().executemany(
                "UPDATE sb_conversations SET last_message_id = ?, last_update_time = ? WHERE id = ?",
                [(message, dbmod.format_datetime(when), conversation) for conversation, message, when in chunk])
        elif kind == "mysql":
            values = " UNION ALL ".join(["SELECT %s AS id, %s AS mid, %s AS t"] * len(chunk))
            database.execute_sql(
                f"UPDATE sb_conversations c JOIN ({values}) v ON c.id = v.id "
                "SET c.last_message_id = v.mid, c.last_update_time = v.t",
                [value for row in chunk for value in row])
        else:
            values = ", ".join(["(%s::bigint, %s::bigint, %s::timestamp)"] * len(chunk))
            database.execute_sql(
                f"UPDATE sb_conversations SET last_message_id = v.mid, last_update_time = v.t "
                f"FROM (VALUES {values}) AS v(id, mid, t) WHERE sb_conversations.id = v.id",
                [value for row in chunk for value in row])
