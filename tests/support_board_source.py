"""A Support Board-shaped database in MariaDB/MySQL, for the importer's tests and its
benchmark: the tables of a Support Board 3.8.7 install as its database holds them (copied
from the schema notes, so that the tests need nothing beside the checkout), filled with
real-looking and hostile rows.

``SB_TEST_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306``) names the server; each
source is a database of its own, created and dropped by the caller."""

import json
import os
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

import bcrypt

SERVER_ENV = "SB_TEST_MYSQL_URL"
DEFAULT_SERVER = "mysql://root@127.0.0.1:3306"

SCHEMA = [
    """CREATE TABLE sb_users (
        id INT NOT NULL AUTO_INCREMENT, first_name VARCHAR(100) NOT NULL,
        last_name VARCHAR(100) NOT NULL, password VARCHAR(100), email VARCHAR(191) UNIQUE,
        profile_image VARCHAR(191), user_type VARCHAR(10) NOT NULL,
        creation_time DATETIME NOT NULL, token VARCHAR(50) NOT NULL UNIQUE,
        last_activity DATETIME, typing INT DEFAULT -1, department TINYINT,
        PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE sb_users_data (
        id INT NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, slug VARCHAR(191) NOT NULL,
        name VARCHAR(191) NOT NULL, value TEXT NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY (user_id) REFERENCES sb_users(id) ON DELETE CASCADE,
        UNIQUE INDEX sb_users_data_index (user_id, slug)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE sb_conversations (
        id int NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, title VARCHAR(191),
        creation_time DATETIME NOT NULL, status_code TINYINT DEFAULT 0, department TINYINT,
        agent_id INT, source VARCHAR(2), extra VARCHAR(191), extra_2 VARCHAR(191),
        extra_3 VARCHAR(191), tags VARCHAR(191), PRIMARY KEY (id),
        FOREIGN KEY (agent_id) REFERENCES sb_users(id) ON DELETE CASCADE,
        FOREIGN KEY (user_id) REFERENCES sb_users(id) ON DELETE CASCADE)
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE sb_messages (
        id int NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, message TEXT NOT NULL,
        creation_time DATETIME NOT NULL, status_code TINYINT DEFAULT 0, attachments TEXT,
        payload TEXT, conversation_id INT NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY (user_id) REFERENCES sb_users(id) ON DELETE CASCADE,
        FOREIGN KEY (conversation_id) REFERENCES sb_conversations(id) ON DELETE CASCADE)
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE sb_settings (
        name VARCHAR(191) NOT NULL, value LONGTEXT, PRIMARY KEY (name))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE sb_reports (
        id INT NOT NULL AUTO_INCREMENT, name VARCHAR(191) NOT NULL, value TEXT NOT NULL,
        creation_time DATE NOT NULL, external_id INT, extra VARCHAR(191), PRIMARY KEY (id))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE sb_articles (
        id INT NOT NULL AUTO_INCREMENT, title VARCHAR(191) NOT NULL, content TEXT NOT NULL,
        editor_js TEXT NOT NULL, nav TEXT, link VARCHAR(191), category VARCHAR(191),
        parent_category VARCHAR(191), language VARCHAR(2), parent_id INT, slug VARCHAR(191),
        update_time DATE NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY (parent_id) REFERENCES sb_articles(id) ON DELETE CASCADE)
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
]

OLD_URL = "https://support.example.com/supportboard"
ADMIN_TOKEN = "a" * 8 + "0123456789abcdef0123456789abcdef"  # 40 hex, as Support Board makes them


def server_url():
    return os.environ.get(SERVER_ENV) or DEFAULT_SERVER


def connect(url, database=None, **options):
    import pymysql
    parts = urlparse(url)
    return pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                           user=unquote(parts.username or "root"),
                           password=unquote(parts.password or ""),
                           database=database or (parts.path.lstrip("/") or None),
                           charset="utf8mb4", autocommit=True, **options)


@contextmanager
def source_database(name, read_only_user=False):
    """Create the empty Support Board tables in a fresh database ``name``; yields its URL
    and a pymysql connection that may write (to fill it), and drops the database
    afterwards. With ``read_only_user`` the URL is that of a user granted only SELECT on
    it (created and dropped here), as the importer's documentation recommends."""
    server = connect(server_url())
    with server.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn = connect(server_url(), database=name)
    with conn.cursor() as cur:
        for statement in SCHEMA:
            cur.execute(statement)
    url = f"{server_url().rstrip('/')}/{name}"
    user = f"{name[:60]}_ro"
    if read_only_user:
        parts = urlparse(server_url())
        with server.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'read-only-pw'")
            cur.execute(f"GRANT SELECT ON `{name}`.* TO '{user}'@'%'")
        url = f"mysql://{user}:read-only-pw@{parts.hostname}:{parts.port or 3306}/{name}"
    try:
        yield url, conn
    finally:
        conn.close()
        with server.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            if read_only_user:
                cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        server.close()


def php_bcrypt(password):
    """A hash as PHP's password_hash makes it: $2y$."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)


def wordpress_hash(password):
    from passlib.hash import phpass
    return phpass.using(rounds=8).hash(password)


def insert(conn, table, rows):
    if not rows:
        return
    columns = list(rows[0])
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
           f"({', '.join(['%s'] * len(columns))})")
    with conn.cursor() as cur:
        cur.executemany(sql, [[row[c] for c in columns] for row in rows])


def upload(name, day="14-03-24"):
    return f"{OLD_URL}/uploads/{day}/{name}"


def fill(conn):
    """Real-looking and hostile content. Answers the facts the tests check."""
    with conn.cursor() as cur:
        # a customised install whose unique index on email was dropped: duplicates exist
        cur.execute("ALTER TABLE sb_users DROP INDEX email")
        # an install where foreign keys were never enforced (MyISAM era, restored dumps)
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
    users = [
        dict(id=1, first_name="Ada", last_name="Lovelace", password=php_bcrypt("admin-secret-1"),
             email="ada@example.com", profile_image=upload("a1b2_ada.png"), user_type="admin",
             creation_time="2023-01-05 09:00:00", token=ADMIN_TOKEN,
             last_activity="2024-03-14 10:00:00", department=None),
        dict(id=2, first_name="Bruce", last_name="Peterson", password=php_bcrypt("agent-secret-2"),
             email="bruce@example.com", profile_image=f"{OLD_URL}/media/user.svg", user_type="agent",
             creation_time="2023-01-06 09:00:00", token="b" * 40, last_activity=None, department=1),
        dict(id=3, first_name="Bot", last_name="", password="", email=None,
             profile_image=f"{OLD_URL}/media/bot.svg", user_type="bot",
             creation_time="2023-01-05 09:00:00", token="c" * 40, last_activity=None, department=None),
        dict(id=4, first_name="Wendy", last_name="Press", password=wordpress_hash("wp-pass-4"),
             email="Wendy@Example.com", profile_image=upload("c3d4_wendy photo.jpg"),
             user_type="user", creation_time="2023-02-01 12:00:00", token="d" * 40,
             last_activity="2024-03-01 08:00:00", department=None),
        dict(id=5, first_name="Tom &amp; Jerry", last_name="O&#039;Brien",
             password=php_bcrypt("user-secret-5"), email="tom@example.com", profile_image="",
             user_type="user", creation_time="2023-02-02 12:00:00", token="e" * 40,
             last_activity="2024-03-02 08:00:00", department=None),
        dict(id=6, first_name="Visitor", last_name="#48213", password=None, email=None,
             profile_image=None, user_type="visitor", creation_time="2023-03-01 12:00:00",
             token="f" * 40, last_activity=None, department=None),
        dict(id=7, first_name="Lena", last_name="Lead", password="", email=None, profile_image="",
             user_type="lead", creation_time="2023-03-02 12:00:00", token="1" * 40,
             last_activity=None, department=None),
        # hostile: the same email as user 5 (a dropped unique index), an unknown type,
        # a zero date and an empty token
        dict(id=8, first_name="Tom", last_name="Twice", password=php_bcrypt("dupe"),
             email=" TOM@example.com", profile_image="", user_type="customer",
             creation_time="0000-00-00 00:00:00", token="", last_activity=None, department=None),
        dict(id=9, first_name="Zoë", last_name="Ünicode 😀", password="$1$md5$notsupported",
             email="zoe@example.com", profile_image="", user_type="user",
             creation_time="2023-04-01 00:00:00", token="2" * 40, last_activity=None,
             department=None),
    ]
    insert(conn, "sb_users", users)
    insert(conn, "sb_users_data", [
        dict(id=1, user_id=4, slug="phone", name="Phone", value="+44 20 7946 0000"),
        dict(id=2, user_id=4, slug="city", name="City", value="London &amp; Co"),
        dict(id=3, user_id=6, slug="browser", name="Browser", value="Firefox"),
        dict(id=4, user_id=999, slug="orphan", name="Orphan", value="no such user"),
        dict(id=5, user_id=5, slug="Bad Slug!", name="Bad", value="x" * 700),
    ])
    insert(conn, "sb_conversations", [
        dict(id=1, user_id=4, title="Order &lt;#1042&gt; missing", creation_time="2024-03-14 09:00:00",
             status_code=1, department=1, agent_id=2, source=None, extra=None, extra_2=None,
             extra_3=None, tags="vip,shipping"),
        dict(id=2, user_id=6, title="", creation_time="2024-03-14 09:30:00", status_code=3,
             department=None, agent_id=None, source="wa", extra="447700900000", extra_2=None,
             extra_3=None, tags=None),
        dict(id=3, user_id=5, title=None, creation_time="2024-03-14 10:00:00", status_code=2,
             department=None, agent_id=777, source="", extra=None, extra_2=None, extra_3=None,
             tags=""),
        # hostile: the user does not exist
        dict(id=4, user_id=555, title="ghost", creation_time="2024-03-14 11:00:00",
             status_code=0, department=None, agent_id=None, source=None, extra=None,
             extra_2=None, extra_3=None, tags=None),
    ])
    messages = [
        dict(id=1, user_id=4, conversation_id=1, creation_time="2024-03-14 09:00:01", status_code=0,
             message="Hi, my order &lt;#1042&gt; &amp; the &quot;gift&quot; box didn&#039;t arrive",
             attachments=json.dumps([["receipt.pdf", upload("e5f6_receipt.pdf")]]), payload=None),
        dict(id=2, user_id=2, conversation_id=1, creation_time="2024-03-14 09:05:00", status_code=2,
             message="Sorry! I&#039;ll check <b>now</b>", attachments="", payload=json.dumps(
                 {"rich-messages": {"x": {"type": "buttons"}}})),
        dict(id=3, user_id=3, conversation_id=1, creation_time="2024-03-14 09:05:01", status_code=0,
             message="[chips options=\"Yes,No\"]", attachments=None, payload="{not json"),
        dict(id=4, user_id=6, conversation_id=2, creation_time="2024-03-14 09:30:00", status_code=0,
             message="Olá 👋", attachments="not json either", payload=""),
        dict(id=5, user_id=5, conversation_id=3, creation_time="2024-03-14 10:00:00", status_code=0,
             message="Line one\nLine two", attachments=json.dumps(
                 [["missing.png", upload("gone_missing.png")],
                  ["elsewhere", "https://cdn.example.org/file.zip"]]), payload=None),
        # hostile: an unknown author, a message of a missing conversation
        dict(id=6, user_id=888, conversation_id=3, creation_time="2024-03-14 10:01:00",
             status_code=0, message="from nobody", attachments=None, payload=None),
        dict(id=7, user_id=5, conversation_id=44, creation_time="2024-03-14 10:02:00",
             status_code=0, message="lost", attachments=None, payload=None),
        dict(id=8, user_id=4, conversation_id=4, creation_time="2024-03-14 11:00:00",
             status_code=0, message="in the ghost's conversation", attachments=None, payload=None),
    ]
    insert(conn, "sb_messages", messages)
    settings = {
        "chat-manual-init": [True, "checkbox"],
        "color-1": ["#ff5500", "color"],
        "departments": [[{"department-id": "1", "department-name": "Sales",
                          "department-color": "red", "department-image": ""},
                         {"department-id": "2", "department-name": "Support",
                          "department-color": "", "department-image": ""}], "repeater"],
        "saved-replies": [[{"reply-name": "hello", "reply-text": "Hello! How can I help?"}],
                          "repeater"],
        "webhooks": [{"webhooks-active": [True, "checkbox"],
                      "webhooks-url": ["https://hooks.example.com/sb", "text"],
                      "webhooks-key": ["s3cret", "password"],
                      "webhooks-allowed": ["", "text"],
                      "webhooks-from-a-newer-version": ["x", "text"]}, "multi-input"],
        "color-2": ["not a colour", "color"],
        "login-cookie-days": ["14", "number"],
        "some-3.8-setting": ["kept as is", "text"],
    }
    categories = [{"id": "shipping", "title": "Shipping"},
                  {"id": "returns", "title": "Returns", "parent": "shipping"}]
    automations = {"messages": [{"id": "a1", "name": "Welcome back", "message": "Hi {user_name}",
                                 "conditions": []}],
                   "emails": [], "sms": [], "popups": [], "design": [], "more": []}
    insert(conn, "sb_settings", [
        dict(name="settings", value=json.dumps(settings)),
        dict(name="notes-1", value=json.dumps([
            {"id": 1, "user_id": "2", "name": "Bruce Peterson",
             "message": "VIP &amp; impatient", "date": "2024-03-14 09:06:00"},
            {"id": 2, "user_id": "999", "name": "Gone", "message": "orphan note", "date": None}])),
        dict(name="notes-2", value="{broken"),
        dict(name="notes-404", value=json.dumps([{"id": 1, "user_id": "2", "name": "n",
                                                  "message": "conversation gone", "date": None}])),
        dict(name="ratings", value=json.dumps({"1": {"rating": "1", "agent_id": "2",
                                                     "message": "great"},
                                               "2": {"rating": "-1"}, "404": {"rating": "1"},
                                               "3": "garbage"})),
        dict(name="automations", value=json.dumps(automations)),
        dict(name="automations-history", value=json.dumps([["4", "a1"], ["999", "a1"], "x"])),
        dict(name="articles-categories", value=json.dumps(categories)),
        dict(name="active_agents_conversations", value=json.dumps({"1": ["2", 1710406800]})),
        dict(name="ip-ban", value=json.dumps({"10.0.0.1": [3, 1710406800]})),
        dict(name="cron", value="10"),
        dict(name="my-external", value=json.dumps({"a": 1})),
    ])
    insert(conn, "sb_reports", [
        dict(id=1, name="visitors", value="12", creation_time="2024-03-14", external_id=None, extra=None),
        dict(id=2, name="direct-messages", value="3", creation_time="2024-03-14", external_id=4,
             extra="email"),
        dict(id=3, name="articles-views", value="1", creation_time="2024-03-13", external_id=1, extra=None),
    ])
    insert(conn, "sb_articles", [
        dict(id=1, title="Where is my order?", content="<p>Track it &amp; see</p>", editor_js="[]",
             nav=None, link="https://shop.example.com/track", category="shipping",
             parent_category=None, language=None, parent_id=None, slug="where-is-my-order",
             update_time="2024-01-01"),
        dict(id=2, title="¿Dónde está mi pedido?", content="<p>Sígalo</p>", editor_js="[]", nav=None,
             link="", category="shipping", parent_category=None, language="es", parent_id=1,
             slug="donde", update_time="2024-01-02"),
        dict(id=3, title="Returns", content="<p>30 days</p>", editor_js="[]", nav=None, link=None,
             category="returns", parent_category="shipping", language="", parent_id=None,
             slug="returns", update_time="2024-01-03"),
        dict(id=4, title="Orphan translation", content="x", editor_js="[]", nav=None, link=None,
             category=None, parent_category=None, language="de", parent_id=99, slug=None,
             update_time="2024-01-03"),
    ])
    with conn.cursor() as cur:
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")
    return {"admin_token": ADMIN_TOKEN}


def old_uploads(folder):
    """The files of the install's uploads folder that ``fill`` references (one of the
    message attachments, gone_missing.png, is missing on purpose)."""
    files = {"14-03-24/a1b2_ada.png": b"\x89PNG ada", "14-03-24/c3d4_wendy photo.jpg": b"JPEG wendy",
             "14-03-24/e5f6_receipt.pdf": b"%PDF receipt"}
    for relative, content in files.items():
        path = os.path.join(folder, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
    return files
