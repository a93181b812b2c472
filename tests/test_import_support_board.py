"""``sbcore import-support-board``: a Support Board database built in MariaDB (see
support_board_source.py) imported into the suite's database, read back through the API."""

import json
import os
import shutil
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
    with SB.source_database(f"sb_importer_src_{os.getpid()}", read_only_user=True) as (url, conn):
        facts = SB.fill(conn)
        yield url, conn, facts


def test_the_source_has_support_boards_tables_and_hostile_rows(sb_source):
    import pymysql
    url, conn, facts = sb_source
    reader = SB.connect(url)  # the importer's user may only read
    with reader.cursor() as cur, pytest.raises(pymysql.err.OperationalError):
        cur.execute("DELETE FROM sb_messages")
    reader.close()
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert {row[0] for row in cur.fetchall()} == {
            "sb_users", "sb_users_data", "sb_conversations", "sb_messages", "sb_settings",
            "sb_reports", "sb_articles"}
        cur.execute("SELECT COUNT(*) FROM sb_users WHERE LOWER(TRIM(email)) = 'tom@example.com'")
        assert cur.fetchone()[0] == 2
        cur.execute("SELECT message FROM sb_messages WHERE id = 1")
        assert "&lt;#1042&gt;" in cur.fetchone()[0]


# --- the import, read back through the Web API and the widget ---

from sbcore import db as dbmod  # noqa: E402
from sbcore.importers.files import FileSource  # noqa: E402
from sbcore.importers.source import Source  # noqa: E402
from sbcore.importers.support_board import Importer  # noqa: E402
from sbcore.testing import ApiClient, WidgetClient  # noqa: E402


def run_import(core, url, uploads=None, dry_run=False):
    source = Source(url)
    try:
        files = FileSource(core.config, str(uploads)) if uploads else None
        importer = Importer(core, source, files=files, dry_run=dry_run, batch=3)
        importer.source_url = url
        return importer, importer.run()
    finally:
        source.close()


def reasons(report, table):
    return {source_id: why for t, source_id, why in report.skipped if t == table}


@pytest.fixture
def imported(core, app, sb_source, tmp_path):
    url, conn, facts = sb_source
    SB.old_uploads(str(tmp_path / "old-uploads"))
    importer, report = run_import(core, url, tmp_path / "old-uploads")
    return importer, report, ApiClient(app, SB.ADMIN_TOKEN), conn


def test_an_imported_admin_token_works_and_ids_are_kept(imported):
    importer, report, api, conn = imported
    assert importer.state["mode"] == "keep"
    user = api.ok("get-user", user_id=4, extra=True)
    assert (user["id"], user["email"], user["user_type"]) == ("4", "wendy@example.com", "user")
    assert {d["slug"]: d["value"] for d in user["details"]} == {"phone": "+44 20 7946 0000",
                                                                "city": "London & Co"}
    tom = api.ok("get-user", user_id=5)
    assert (tom["first_name"], tom["last_name"]) == ("Tom & Jerry", "O'Brien")
    assert api.ok("get-user", user_id=9)["last_name"] == "Ünicode 😀"
    assert api.ok("get-user", user_id=3)["user_type"] == "bot"
    assert api.call("get-user", user_id=1, token="b" * 40).status == 401  # an agent's token is no admin's
    # new rows take the ids after the imported ones (PostgreSQL's sequences moved on)
    assert api.ok("add-user", first_name="After", email="after@example.com") == 10
    conversation = api.ok("new-conversation", user_id=10)["details"]["id"]
    assert int(conversation) > 3
    sent = api.ok("send-message", user_id=10, conversation_id=conversation, message="hi")
    assert sent["message-id"] == 6  # after the last imported message, 5


def test_a_conversations_messages_read_as_written(imported, core):
    importer, report, api, conn = imported
    conversation = api.ok("get-conversation", conversation_id=1)
    details = conversation["details"]
    assert (details["title"], details["conversation_status_code"], details["department"]) == \
        ("Order <#1042> missing", "1", "1")
    messages = conversation["messages"]
    assert [m["id"] for m in messages] == ["1", "2", "3"]
    assert messages[0]["message"] == "Hi, my order <#1042> & the \"gift\" box didn't arrive"
    assert messages[0]["creation_time"] == "2024-03-14 09:00:01"
    receipt = json.loads(messages[0]["attachments"])
    assert receipt == [["receipt.pdf", "http://testserver/uploads/imported/14-03-24/e5f6_receipt.pdf"]]
    with open(os.path.join(core.config.uploads_dir, "imported/14-03-24/e5f6_receipt.pdf"), "rb") as handle:
        assert handle.read() == b"%PDF receipt"
    assert messages[1]["status_code"] == "2" and json.loads(messages[1]["payload"])["rich-messages"]
    assert messages[2]["payload"] == "{not json"  # kept as it was, and reported
    assert ("messages", "3", "payload is not JSON: kept as text") in report.changed
    from sbcore.models import ConversationAgent
    with dbmod.connection():
        replies = list(ConversationAgent.select(ConversationAgent.conversation, ConversationAgent.agent,
                                                ConversationAgent.first_reply).tuples())
    assert [(c, a, str(t)) for c, a, t in replies] == [(1, 2, "2024-03-14 09:05:00")]
    row = api.ok("get-conversations", status_code=1)[0]
    assert (row["conversation_id"], row["message_id"], row["last_update_time"], row["tags"]) == \
        ("1", "3", "2024-03-14 09:05:01", "vip,shipping")
    assert row["agent_id"] == "2"
    whatsapp = api.ok("get-conversation", conversation_id=2)
    assert whatsapp["messages"][0]["message"] == "Olá 👋"
    assert api.ok("get-conversations", status_code=3)[0]["source"] == "wa"
    assert [r["conversation_id"] for r in api.ok("search-conversations", search="gift")] == ["1"]
    # a missing file keeps its old URL; a link elsewhere is left alone
    missing = json.loads(api.ok("get-conversation", conversation_id=3)["messages"][0]["attachments"])
    assert missing[0][1] == SB.upload("gone_missing.png") and missing[1][1] == "https://cdn.example.org/file.zip"
    assert any("gone_missing.png" in why for _, _, why in report.changed)
    assert api.ok("get-user", user_id=1)["profile_image"] == \
        "http://testserver/uploads/imported/14-03-24/a1b2_ada.png"
    assert api.ok("get-user", user_id=4)["profile_image"] == \
        "http://testserver/uploads/imported/14-03-24/c3d4_wendy%20photo.jpg"


def test_users_sign_in_with_their_old_passwords(imported, core, app):
    from sbcore.models import User
    widget = WidgetClient(app)
    assert widget.ok("login", email="wendy@example.com", password="wrong") is False
    answer = widget.ok("login", email="Wendy@example.com", password="wp-pass-4")  # WordPress phpass
    assert answer["user"]["id"] == "4"
    with dbmod.connection():
        rehashed = User.get_by_id(4).password
    assert rehashed.startswith("$2b$")  # bcrypt from the first sign-in on
    assert WidgetClient(app).ok("login", email="wendy@example.com", password="wp-pass-4")["user"]["id"] == "4"
    assert WidgetClient(app).ok("login", email="tom@example.com", password="user-secret-5")["user"]["id"] == "5"
    api = imported[2]
    assert api.ok("login", email="ada@example.com", password="admin-secret-1")[0]["id"] == "1"  # PHP $2y$
    assert WidgetClient(app).ok("login", email="zoe@example.com", password="anything") is False


def test_hostile_rows_are_reported_not_fatal(imported):
    importer, report, api, conn = imported
    assert reasons(report, "conversations") == {"4": "unknown user 555"}
    messages = reasons(report, "messages")
    assert messages == {"6": "unknown user 888", "7": "unknown or skipped conversation 44",
                        "8": "unknown or skipped conversation 4"}
    assert "4" in reasons(report, "users_data")  # a detail of no user
    changed = {}
    for t, i, why in report.changed:
        changed[(t, i)] = changed.get((t, i), "") + why + "; "
    assert "another user" in changed[("users", "8")]
    twice = api.ok("get-user", user_id=8, extra=True)
    assert twice["email"] is None and twice["user_type"] == "user"
    assert {"slug": "imported-email", "name": "Email", "value": "tom@example.com"} in twice["details"]
    assert "unknown agent 777" in changed[("conversations", "3")]
    assert "attachments are not JSON" in changed[("messages", "4")]
    assert api.ok("get-conversation", conversation_id=4)["messages"] == []
    assert report.counts["users"] == 9 and report.counts["conversations"] == 3
    assert report.counts["messages"] == 5


def test_notes_ratings_settings_articles_and_reports(imported):
    importer, report, api, conn = imported
    notes = api.ok("get-notes", conversation_id=1)
    assert [(n["user_id"], n["name"], n["message"]) for n in notes] == [("2", "Bruce Peterson", "VIP & impatient")]
    assert reasons(report, "notes") == {"notes-2": "its value is not JSON", "1:2": "unknown author 999",
                                        "notes-404": "unknown or skipped conversation 404"}
    assert api.ok("get-rating", user_id=2) == [1, 0]
    assert set(reasons(report, "ratings")) == {"404", "3"}
    assert api.ok("get-setting", setting="departments")[1]["department-name"] == "Support"
    assert api.ok("get-setting", setting="saved-replies") == [
        {"reply-name": "hello", "reply-text": "Hello! How can I help?"}]
    webhooks = api.ok("get-setting", setting="webhooks")
    assert (webhooks["webhooks-url"], webhooks["webhooks-key"], webhooks["webhooks-active"]) == \
        ("https://hooks.example.com/sb", "s3cret", True)
    assert api.ok("get-setting", setting="color-1") == "#ff5500"
    assert "color-2" in reasons(report, "settings")  # refused by sbcore's check: left out
    assert api.ok("get-setting", setting="color-2") == "#02659f"
    assert ("settings", "webhooks", "sub-settings webhooks-from-a-newer-version are not sbcore's: "
            "left out") in report.changed
    assert api.ok("get-setting", setting="login-cookie-days") == 14
    assert api.ok("get-external-setting", name="my-external") == {"a": 1}
    automations = api.ok("automations-get")[0]
    assert automations["messages"][0]["id"] == "a1"
    assert api.ok("get-articles-categories")[1] == {"id": "returns", "title": "Returns", "parent": "shipping"}
    [article] = api.ok("get-articles", id="1")  # an array, as Support Board 3.8 answers
    assert (article["title"], article["categories"]) == ("Where is my order?", ["shipping"])
    assert api.ok("get-articles", id="1", articles_language="es")[0]["title"] == "¿Dónde está mi pedido?"
    assert reasons(report, "articles") == {"4": "a translation of the unknown article 99"}
    assert report.counts["reports"] == 3
    assert api.ok("get-user", user_id=1)  # the importer's admin still there after ensure_bot


def test_a_rerun_imports_only_what_is_new(imported, core, app, tmp_path):
    importer, report, api, conn = imported
    SB.insert(conn, "sb_messages", [dict(id=9, user_id=2, conversation_id=1, creation_time="2024-03-15 08:00:00",
                                         status_code=0, message="Found it &amp; shipped", attachments="",
                                         payload="")])
    SB.insert(conn, "sb_users", [dict(id=10, first_name="New", last_name="Comer", password="",
                                      email="new@example.com", profile_image="", user_type="user",
                                      creation_time="2024-03-15 08:00:00", token="9" * 40,
                                      last_activity=None, department=None)])
    second, again = run_import(core, imported[0].source_url)
    assert (again.counts["users"], again.counts["messages"], again.counts["conversations"]) == (1, 1, 0)
    assert again.counts.get("notes", 0) == 0 and again.counts.get("reports", 0) == 0
    assert again.counts.get("settings", 0) == 0  # unchanged in Support Board since the last run
    messages = api.ok("get-conversation", conversation_id=1)["messages"]
    assert [m["message"] for m in messages][-1] == "Found it & shipped"
    assert len(messages) == 4
    row = [r for r in api.ok("get-conversations", status_code=1) if r["conversation_id"] == "1"][0]
    assert (row["message_id"], row["last_update_time"]) == ("9", "2024-03-15 08:00:00")
    assert api.ok("get-user", user_id=10)["email"] == "new@example.com"


def test_a_dry_run_changes_nothing(core, sb_source, snapshot):
    url, conn, facts = sb_source
    before = snapshot()
    importer, report = run_import(core, url, dry_run=True)
    assert snapshot() == before
    assert report.counts["users"] == 9 and report.counts["messages"] == 5
    assert "unknown user 888" in reasons(report, "messages").values()


def test_into_a_non_empty_target_ids_are_mapped_and_written(core, app, api, sb_source, tmp_path):
    from sbcore.importers.command import write_id_map
    url, conn, facts = sb_source
    mine = api.ok("add-user", first_name="Already", last_name="Here", email="here@example.com")
    importer, report = run_import(core, url)
    assert importer.state["mode"] == "map"
    with dbmod.connection():
        rows = importer.id_map_rows()
    ids = {(kind, source): target for kind, source, target in rows}
    wendy = ids[("users", "4")]
    assert wendy != 4 and api.ok("get-user", user_id=wendy)["email"] == "wendy@example.com"
    assert api.ok("get-user", user_id=int(mine))["email"] == "here@example.com"
    conversation = ids[("conversations", "1")]
    messages = api.ok("get-conversation", conversation_id=conversation)["messages"]
    assert [m["user_id"] for m in messages][:2] == [str(wendy), str(ids[("users", "2")])]
    assert messages[0]["message"].startswith("Hi, my order <#1042>")
    assert ids[("users", "3")] == importer.bot_id  # the install's bot is sbcore's bot
    path = tmp_path / "map.csv"
    assert write_id_map(rows, str(path)) == len([r for r in rows if str(r[1]) != str(r[2])])
    assert f"users,4,{wendy}" in path.read_text().splitlines()
    assert ImportedToken(api).works()


class ImportedToken:
    def __init__(self, api):
        self.api = api

    def works(self):
        return self.api.call("get-user", user_id=1, token=SB.ADMIN_TOKEN).ok


def test_the_command_prints_a_summary_and_writes_the_id_map(core, sb_source, tmp_path, capsys):
    from sbcore.cli import CORE_COMMANDS, build_parser
    url, conn, facts = sb_source
    parser, handlers = build_parser(CORE_COMMANDS)
    args = parser.parse_args(["import-support-board", url, "--dry-run"])
    assert handlers["import-support-board"](core, args) == 0
    out = capsys.readouterr().out
    assert "would import:" in out and "dry run: nothing was changed" in out
    assert "messages 6: unknown user 888" in out
    args = parser.parse_args(["import-support-board", url, "--id-map", str(tmp_path / "ids.csv")])
    assert handlers["import-support-board"](core, args) == 0
    out = capsys.readouterr().out
    assert "imported:" in out and "ids kept; 1 ids changed" in out  # the one note (1:1 became 1)
    assert (tmp_path / "ids.csv").read_text().splitlines() == ["kind,source_id,target_id", "notes,1:1,1"]
    bad = parser.parse_args(["import-support-board", "postgresql://x/y"])
    assert handlers["import-support-board"](core, bad) == 1
    assert "not a MySQL/MariaDB URL" in capsys.readouterr().err


@pytest.fixture
def old_site(tmp_path):
    """The old install's uploads served over HTTP on loopback."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    folder = tmp_path / "site"
    SB.old_uploads(str(folder))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/supportboard/uploads", folder
    server.shutdown()
    server.server_close()


def test_files_are_fetched_from_the_old_base_url_through_the_outbound_guard(core, app, sb_source, old_site):
    url, conn, facts = sb_source
    base, folder = old_site
    shutil.copytree(folder / "14-03-24", folder / "supportboard" / "uploads" / "14-03-24")
    # the guard refuses loopback unless private networks are allowed: reported, URLs kept
    source = Source(url)
    refused = Importer(core, source, files=FileSource(core.config, base), dry_run=True).run()
    source.close()
    assert any("refused by the outbound guard" in why for _, _, why in refused.changed)
    source = Source(url)
    allowed = FileSource(core.config.replace(allow_private_network=True), base)
    report = Importer(core, source, files=allowed).run()
    source.close()
    api = ApiClient(app, SB.ADMIN_TOKEN)
    message = api.ok("get-conversation", conversation_id=1)["messages"][0]
    new_url = json.loads(message["attachments"])[0][1]
    assert new_url == "http://testserver/uploads/imported/14-03-24/e5f6_receipt.pdf"
    assert UploadsClient(app).get(new_url) == b"%PDF receipt"
    assert any("gone_missing.png" in why and "HTTP 404" in why for _, _, why in report.changed)


class UploadsClient:
    def __init__(self, app):
        from falcon.testing import TestClient
        self.client = TestClient(app)

    def get(self, url):
        result = self.client.simulate_get(url.replace("http://testserver", ""))
        assert result.status_code == 200
        return result.content


def test_phpass_hashes_check_without_a_database():
    from sbcore import users as U
    hashed = SB.wordpress_hash("wp-pass")
    assert U.check_password("wp-pass", hashed) and not U.check_password("wp-pas", hashed)
    assert not U.check_password("x" * 100, hashed)  # long passwords answer False, never raise
    assert not U.check_password("wp-pass", "$P$broken")
    assert U.check_password("pw", SB.php_bcrypt("pw"))
