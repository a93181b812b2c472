"""Files belong to someone: sb_files records who wrote each file and sb_file_uses what
uses it; visitors attach and show only their own uploads; deleting deletes only what
nothing else uses, after the commit; exports go only to an admin and expire; the daily
job deletes visitors' uploads that nothing uses."""

from datetime import timedelta

import pytest

from sbcore import db as dbmod
from sbcore import uploads
from sbcore.db import utcnow
from sbcore.errors import ApiError
from sbcore.functions.maintenance import expire_files
from sbcore.hooks import hookimpl
from sbcore.models import Conversation, File, FileUse

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32


def key(url):
    return url.split("/uploads/", 1)[1]


def stored(core, url):
    return core.storage.exists(key(url))


def row(url):
    with dbmod.connection():
        return File.get_or_none(File.path == key(url))


def upload(widget, name="passport.png"):
    return widget.upload(name, PNG, "image/png").response["url"]


def test_uploads_record_their_owner_and_size(api, widget, core):
    visitor = widget.register()
    url = upload(widget)
    found = row(url)
    assert (found.owner, found.folder, found.size, found.expires) == (int(visitor["id"]), "widget", len(PNG), None)
    export = row(api.ok("export-settings"))
    assert export.folder == "exports" and export.owner is not None
    assert 3590 <= (export.expires - export.created).total_seconds() <= 3600


def test_a_visitor_attaches_and_shows_only_its_own_uploads(widget, core, snapshot):
    alice = widget.new(first_name="Alice")
    bob = widget.new(first_name="Bob")
    passport = upload(alice)
    own = upload(bob, "mine.png")
    conversation = bob.ok("new-conversation")["details"]["id"]
    before = snapshot()
    for attachments in ([["p.png", passport]], [["m.png", own], ["p.png", passport]],
                        [["x", "http://testserver/uploads/../uploads/" + key(passport)]]):
        result = bob.call("send-message", conversation_id=conversation, message="x", attachments=attachments)
        assert (result.status, result.response) == (400, "invalid-argument")
    result = bob.call("update-user", profile_image=passport)
    assert (result.status, result.response) == (400, "invalid-argument")
    assert snapshot() == before
    bob.ok("send-message", conversation_id=conversation, message="mine", attachments=[["m.png", own]])
    bob.ok("update-user", profile_image=own)
    bob.ok("update-user", profile_image="https://cdn.example/face.png")  # an image elsewhere
    bob.ok("update-user", profile_image="https://cdn.example/uploads/face.png")
    # another host of the install answers the same files under its own URL
    other_host = "https://chat-2.example/uploads/" + key(passport)
    assert bob.call("update-user", profile_image=other_host).status == 400
    alice.ok("update-user", profile_image=other_host)
    assert alice.ok("get-user")["profile_image"] == passport


def test_deleting_keeps_files_something_else_uses(api, widget, core):
    alice = widget.new(first_name="Alice")
    passport = upload(alice)
    mine = alice.ok("new-conversation")["details"]["id"]
    alice.ok("send-message", conversation_id=mine, message="my passport", attachments=[["p.png", passport]])
    # an agent forwards it into another customer's conversation
    other = api.ok("add-user", first_name="Other")
    theirs = api.ok("new-conversation", user_id=other)["details"]["id"]
    api.ok("send-message", user_id=other, conversation_id=theirs, message="fwd", attachments=[["p.png", passport]])
    api.ok("delete-user", user_id=other)
    assert stored(core, passport) and row(passport) is not None
    assert api.client.simulate_get("/uploads/" + key(passport)).status_code == 200
    # alice's conversation is trashed and, a month later, deleted by the daily job
    api.ok("update-conversation-status", conversation_id=mine, status_code=4)
    with dbmod.connection():
        Conversation.update(last_update_time=utcnow() - timedelta(days=31)).where(
            Conversation.id == mine).execute()
    api.ok("clean-data")
    assert not stored(core, passport) and row(passport) is None


def test_deleting_a_user_deletes_its_unused_uploads_and_profile_image(api, widget, core):
    alice = widget.new(first_name="Alice")
    face, loose = upload(alice, "face.png"), upload(alice, "loose.png")
    alice.ok("update-user", profile_image=face)
    with dbmod.connection():
        assert FileUse.select().where(FileUse.user_id == alice.user["id"]).count() == 1
    api.ok("delete-user", user_id=alice.user["id"])
    assert not stored(core, face) and not stored(core, loose)
    assert row(face) is None and row(loose) is None


class FailsAfterDeleting:
    @hookimpl(trylast=True)
    def sbcore_on_users_deleted(self, ctx, user_ids):
        raise ApiError("refused", "a plugin refuses", 409)


def test_files_are_removed_only_after_the_commit(api, widget, core):
    alice = widget.new(first_name="Alice")
    face = upload(alice)
    alice.ok("update-user", profile_image=face)
    core.pm.register(FailsAfterDeleting())
    assert api.call("delete-user", user_id=alice.user["id"]).status == 409
    assert stored(core, face) and row(face) is not None  # rolled back: the file is still there
    core.pm.unregister(name=next(name for name, plugin in core.pm.list_name_plugin()
                                 if isinstance(plugin, FailsAfterDeleting)))
    api.ok("delete-user", user_id=alice.user["id"])
    assert not stored(core, face)


def test_exports_are_served_only_to_an_admin_and_never_cached(api, widget, core):
    export = "/uploads/" + key(api.ok("export-settings"))
    csv = "/uploads/" + key(api.ok("csv-users"))
    widget.register()
    for path in (export, csv):
        for headers in ({}, {"Authorization": f"Bearer {widget.cookie}"}, {"Authorization": "Bearer nope"}):
            answer = api.client.simulate_get(path, headers=headers)
            assert answer.status_code == 401 and answer.headers["cache-control"] == "private, no-store"
        answer = api.client.simulate_get(path, query_string=f"token={api.token}")
        assert answer.status_code == 401  # never a credential in the URL
        answer = api.client.simulate_get(path, headers={"Authorization": f"Bearer {api.token}"})
        assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-store"
        assert answer.headers["content-disposition"] == "attachment"


def test_exports_expire_after_an_hour(api, core):
    url = api.ok("export-settings")
    fresh = api.ok("csv-users")
    admin = {"Authorization": f"Bearer {api.token}"}
    with dbmod.connection():
        File.update(expires=utcnow()).where(File.path == key(url)).execute()
    assert api.client.simulate_get("/uploads/" + key(url), headers=admin).status_code == 404
    with dbmod.connection():
        assert expire_files(core.context()) == 1
    assert not stored(core, url) and row(url) is None
    assert stored(core, fresh)
    assert api.client.simulate_get("/uploads/" + key(fresh), headers=admin).status_code == 200


def test_the_daily_job_deletes_visitor_uploads_nothing_uses(api, widget, core):
    alice = widget.new(first_name="Alice")
    conversation = alice.ok("new-conversation")["details"]["id"]
    attached, face, loose, recent = (upload(alice, f"{n}.png") for n in ("a", "f", "l", "r"))
    alice.ok("send-message", conversation_id=conversation, message="x", attachments=[["a.png", attached]])
    alice.ok("update-user", profile_image=face)
    avatar = api.ok("get-avatar", first_name="Ann")  # not a visitor's upload
    with dbmod.connection():
        File.update(created=utcnow() - timedelta(hours=25)).where(
            File.path.in_([key(u) for u in (attached, face, loose, avatar)])).execute()
    assert api.ok("clean-data") is True
    assert [stored(core, u) for u in (attached, face, loose, recent, avatar)] == [True, True, False, True, True]
    assert row(loose) is None


def test_storage_keys_of_urls(core):
    assert uploads.key_of_url(core.config, "http://testserver/uploads/widget/a.png") == "widget/a.png"
    for url in ("http://testserver/uploads/../x", "https://elsewhere/uploads/a.png", None, 3):
        assert uploads.key_of_url(core.config, url) is None


@pytest.mark.parametrize("path", ["exports/x.csv", "backups/x.json"])
def test_private_folders_answer_401_even_for_missing_files(api, path):
    assert api.client.simulate_get(f"/uploads/{path}").status_code == 401
    assert api.client.simulate_get(f"/uploads/{path}",
                                   headers={"Authorization": f"Bearer {api.token}"}).status_code == 404


def test_uploaded_since_counts_a_visitors_files_and_bytes(widget, core):
    alice = widget.new()
    hour_ago = utcnow() - timedelta(hours=1)
    upload(alice)
    upload(alice, "b.png")
    widget.new().upload("c.png", PNG, "image/png")
    with dbmod.connection():
        assert uploads.uploaded_since(alice.user["id"], hour_ago) == (2, 2 * len(PNG))
        assert uploads.uploaded_since(alice.user["id"], utcnow() + timedelta(seconds=1)) == (0, 0)


def plan(query):
    sql, params = query.sql()
    return " ".join(row[3] for row in dbmod.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))


def test_file_queries_use_indexes(ctx):
    if dbmod.kind() != "sqlite":
        pytest.skip("the plan's wording is SQLite's; the indexes exist on every database")
    from peewee import JOIN, fn
    now = utcnow()
    queries = {
        "sb_files_folder_created": File.select(File.id).join(FileUse, JOIN.LEFT_OUTER, on=(FileUse.file == File.id))
        .where((File.folder == "widget") & (File.created < now) & FileUse.id.is_null()),
        "sb_files_expires": File.select(File.id).where(File.expires <= now),
        "sb_files_owner_created": File.select(fn.COUNT(File.id), fn.SUM(File.size)).where(
            (File.owner == 1) & (File.created >= now)),
        "sb_files_path": File.select(File.id).where(File.path.in_(["a", "b"])),
        "sb_file_uses_message_id": FileUse.select().where(FileUse.message_id.in_([1, 2])),
        "sb_file_uses_user_id": FileUse.select().where(FileUse.user_id.in_([1, 2])),
        "sb_file_uses_file_id": FileUse.select(FileUse.file).where(FileUse.file.in_([1, 2])),
    }
    for index, query in queries.items():
        text = plan(query)
        assert index in text, (index, text)
