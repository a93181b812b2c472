"""How fast ``sbcore import-support-board`` goes: a generated Support Board database in
MariaDB (``--users``, ``--conversations``, ``--messages``; 1,000,000 messages by default)
imported into each ``--target`` (sqlite:///…, mysql://…, postgresql://…), timed.

``python -m bench.import_support_board --target sqlite:////tmp/import.db
--target mysql://root@127.0.0.1:3306/sb_import_bench``

The source server is ``SB_TEST_MYSQL_URL`` (default mysql://root@127.0.0.1:3306); the
source database is created, filled with MariaDB's sequence engine, and dropped at the end.
Each target is emptied first (its sb_ tables are dropped)."""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import support_board_source as SB  # noqa: E402


def conversation_of(spread, conversations):
    """SQL for a message's conversation: ``live`` puts each conversation's messages close
    together in time, 50 conversations going at once, as on a support desk (a
    conversation's 10 messages arrive within minutes); ``round-robin`` sends message n to
    conversation n mod N, every conversation's messages spread over the whole table, the
    worst case for the indexes on (conversation, …)."""
    n = int(conversations)
    if spread == "round-robin":
        return f"1 + seq % {n}"
    return f"LEAST({n}, 1 + (seq - 1) DIV 10 + seq % 50)"


def fill(conn, users, conversations, messages, spread="live"):
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO sb_users (id, first_name, last_name, password, email, profile_image, user_type, "
            "creation_time, token, last_activity, department) "
            f"SELECT seq, ELT(1 + seq % 5, 'James', 'Mary', 'Giulia', 'Hiroshi', 'Zoë'), "
            "CONCAT('Smith ', seq), IF(seq % 3 = 0, '', '$2y$10$abcdefghijklmnopqrstuu5Yq3q8J6E0oJ0iHq2u1sTiJ5rG3b9Wy'), "
            "IF(seq % 2 = 0, CONCAT('user', seq, '@example.com'), NULL), '', "
            "IF(seq <= 5, IF(seq = 1, 'admin', 'agent'), IF(seq % 2 = 0, 'user', 'visitor')), "
            "'2024-01-01 00:00:00' + INTERVAL seq MINUTE, SHA1(CONCAT('token', seq)), "
            f"'2024-03-01 00:00:00', NULL FROM seq_1_to_{int(users)}")
        cur.execute(
            "INSERT INTO sb_users_data (user_id, slug, name, value) "
            f"SELECT seq, 'city', 'City', ELT(1 + seq % 4, 'London', 'Paris', 'Tokyo', 'Lagos') "
            f"FROM seq_1_to_{int(users)} WHERE seq % 4 = 0")
        cur.execute(
            "INSERT INTO sb_conversations (id, user_id, title, creation_time, status_code, department, "
            "agent_id, source, extra, tags) "
            f"SELECT seq, 6 + seq % {int(users) - 5}, CONCAT('Order #', seq), "
            "'2024-01-01 00:00:00' + INTERVAL seq MINUTE, seq % 5, NULL, IF(seq % 3 = 0, 2, NULL), "
            "ELT(1 + seq % 4, NULL, '', 'wa', 'em'), NULL, IF(seq % 7 = 0, 'vip', NULL) "
            f"FROM seq_1_to_{int(conversations)}")
        cur.execute(
            "INSERT INTO sb_messages (id, user_id, message, creation_time, status_code, attachments, payload, "
            "conversation_id) "
            f"SELECT seq, IF(seq % 2 = 0, 2, 6 + ({conversation_of(spread, conversations)}) % {int(users) - 5}), "
            "CONCAT(ELT(1 + seq % 4, 'Hello, my order &lt;#', 'Thanks &amp; regards, about #', "
            "'Where is parcel ', 'Refund for invoice '), seq, ' ', "
            "ELT(1 + seq % 3, 'did not arrive yet', 'was damaged in transit', 'please help me today')), "
            "'2024-01-01 00:00:00' + INTERVAL seq SECOND, seq % 3, "
            "IF(seq % 100 = 0, '[[\"photo.jpg\",\"https://cdn.example.org/photo.jpg\"]]', ''), "
            "IF(seq % 50 = 0, '{\"rich-messages\":{}}', ''), "
            f"{conversation_of(spread, conversations)} FROM seq_1_to_{int(messages)}")


def empty(url):
    from sbcore import db as dbmod
    database = dbmod.open_database(url)
    database.connect()
    tables = [t for t in database.get_tables() if t.startswith("sb_")]
    if dbmod.kind(database) == "mysql":
        database.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            database.execute_sql(f"DROP TABLE IF EXISTS `{table}`")
    else:
        for table in tables:
            database.execute_sql(f'DROP TABLE IF EXISTS "{table}"' + (" CASCADE" if "postgres" in url else ""))
    database.close()


def run(target, source_url, batch):
    from tqdm import tqdm

    from sbcore.config import Config
    from sbcore.core import Core
    from sbcore.importers.source import Source
    from sbcore.importers.support_board import Importer
    if target.startswith("sqlite:///"):
        path = target[len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    else:
        empty(target)
    folder = tempfile.mkdtemp(prefix="sb-import-bench-")
    core = Core(Config(database_url=target, uploads_dir=os.path.join(folder, "uploads"),
                       data_dir=os.path.join(folder, "data"), worker="off"))
    core.init(report=lambda line: None)
    source = Source(source_url)

    def progress(table, total):
        return tqdm(total=total, desc=table, unit="rows", file=sys.stderr, mininterval=5)
    started, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
    report = Importer(core, source, batch=batch, progress=progress).run()
    elapsed = time.perf_counter() - started
    source.close()
    core.close()
    after = server_cpu()
    return elapsed, report, {"importer CPU": time.process_time() - cpu,
                             "MariaDB CPU": None if server is None or after is None else after - server}


def server_cpu(pid_file="/run/mysqld/mysqld.pid"):
    """Seconds of CPU the local MariaDB server has used (utime + stime), None when it is
    not on this machine: with the importer's own CPU it tells what a loaded machine hid."""
    try:
        with open(pid_file) as handle:
            pid = handle.read().strip()
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", required=True)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--conversations", type=int, default=100000)
    parser.add_argument("--messages", type=int, default=1000000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--spread", choices=("live", "round-robin"), default="live",
                        help="how messages spread over conversations (see conversation_of)")
    args = parser.parse_args(argv)
    with SB.source_database("sb_import_bench_source") as (url, conn):
        started = time.perf_counter()
        fill(conn, args.users, args.conversations, args.messages, args.spread)
        print(f"source: {args.users} users, {args.conversations} conversations, {args.messages} messages "
              f"({args.spread}) "
              f"generated in {time.perf_counter() - started:.0f} s", flush=True)
        for target in args.target:
            load = os.getloadavg()[0]
            elapsed, report, cpu = run(target, url, args.batch)
            counts = ", ".join(f"{k} {v}" for k, v in report.counts.items() if v)
            used = ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items() if v is not None)
            print(f"{target.split('://')[0]}: {elapsed:.0f} s ({args.messages / elapsed:,.0f} messages/s "
                  f"overall); {counts}; skipped {len(report.skipped)}; {used}; load average "
                  f"{load:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
