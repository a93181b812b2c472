"""get-avatar, csv-users, and deleting users with everything that is theirs."""

import csv
import io
import json
import os

from PIL import Image

from sbcore import db as dbmod
from sbcore.models import Conversation, LoginSession, Message, User, UserDetail


def local_path(core, url):
    assert url.startswith("http://testserver/uploads/")
    return os.path.join(core.config.uploads_dir, url[len("http://testserver/uploads/"):])


def test_get_avatar_draws_a_png_of_the_initials(api, core):
    url = api.ok("get-avatar", first_name="Ann", last_name="Lee")
    path = local_path(core, url)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (256, 256)
        colours = image.getcolors(256 * 256)
    assert len(colours) > 2  # a background and antialiased letters, not a blank square
    other = api.ok("get-avatar", first_name="Bob", last_name="Marsh")
    assert other != url
    with open(path, "rb") as a, open(local_path(core, other), "rb") as b:
        assert a.read() != b.read()


def test_csv_users_writes_every_user_with_details(api, core):
    a = api.ok("add-user", first_name="Ann", email="ann@example.com", extra={"phone": ["1", "Phone"]})
    b = api.ok("add-user", first_name="=HYPERLINK(evil)", extra={"city": ["Oslo", "City"]})
    url = api.ok("csv-users")
    with open(local_path(core, url), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_id = {row["id"]: row for row in rows}
    assert {str(a), str(b)} <= set(by_id)
    assert by_id[str(a)]["email"] == "ann@example.com" and by_id[str(a)]["phone"] == "1"
    assert by_id[str(b)]["city"] == "Oslo"
    assert by_id[str(b)]["first_name"] == "'=HYPERLINK(evil)"
    assert all(row["user_type"] != "bot" for row in rows)
    only = api.ok("csv-users", user_ids=[a])
    with open(local_path(core, only), encoding="utf-8") as handle:
        assert [row["id"] for row in csv.DictReader(handle)] == [str(a)]
    assert api.client.simulate_get(url.split("http://testserver", 1)[1]).status_code == 401
    served = api.client.simulate_get(url.split("http://testserver", 1)[1],
                                     headers={"Authorization": f"Bearer {api.token}"})
    assert served.status_code == 200
    assert len(list(csv.reader(io.StringIO(served.text)))) == len(rows) + 1


def test_csv_export_runs_two_queries_per_thousand(api, core, assert_query_count, ctx, tmp_path):
    from sbcore.functions.files import export_users
    with dbmod.database.atomic():
        User.insert_many([{"first_name": f"U{i}", "token": f"t{i:039d}", "user_type": "visitor"}
                          for i in range(2500)]).execute()
    with assert_query_count(1 + 2 * 3 + 1):  # slugs, 3 batches x (users, details), the empty batch
        assert export_users(ctx, str(tmp_path / "x.csv")) == 2501


def seed_conversation(core, user_id, attachment_url):
    with dbmod.connection():
        conversation = Conversation.create(user=user_id, title="Help")
        Message.create(user=user_id, conversation=conversation, message="hi",
                       attachments=json.dumps([["file.txt", attachment_url]]))
        return conversation.id


def test_delete_user_removes_conversations_messages_details_sessions_and_files(api, core):
    os.makedirs(os.path.join(core.config.uploads_dir, "files"), exist_ok=True)
    attachment = os.path.join(core.config.uploads_dir, "files", "a.txt")
    with open(attachment, "w") as handle:
        handle.write("x")
    avatar_url = api.ok("get-avatar", first_name="Del", last_name="Me")
    user_id = api.ok("add-user", email="del@example.com", password="pw-pw-pw",
                     profile_image=avatar_url, extra={"phone": ["1", "Phone"]})
    keep_id = api.ok("add-user", email="keep@example.com")
    api.ok("login", email="del@example.com", password="pw-pw-pw")
    conversation_id = seed_conversation(core, user_id, "http://testserver/uploads/files/a.txt")
    kept_conversation = seed_conversation(core, keep_id, "https://elsewhere.example/f.txt")
    assert api.ok("delete-user", user_id=user_id) is True
    with dbmod.connection():
        assert not User.select().where(User.id == user_id).exists()
        assert not UserDetail.select().where(UserDetail.user == user_id).exists()
        assert not LoginSession.select().where(LoginSession.user == user_id).exists()
        assert not Conversation.select().where(Conversation.id == conversation_id).exists()
        assert not Message.select().where(Message.conversation == conversation_id).exists()
        assert Conversation.select().where(Conversation.id == kept_conversation).exists()
    assert not os.path.exists(attachment)
    assert not os.path.exists(local_path(core, avatar_url))
    assert api.ok("get-user", user_id=keep_id)["email"] == "keep@example.com"
    result = api.call("delete-user", user_id=user_id)
    assert (result.status, result.response) == (200, True)  # gone already: as Support Board 3.8


def test_delete_users_and_leads(api, core, snapshot):
    a, b, c = (api.ok("add-user") for _ in range(3))
    lead1 = api.ok("add-user", user_type="lead")
    lead2 = api.ok("add-user", user_type="lead")
    seed_conversation(core, lead1, "")
    assert api.ok("delete-users", user_ids=[a, b]) is True
    assert api.ok("get-user", user_id=a) is False and api.ok("get-user", user_id=c)
    before = snapshot()
    assert api.call("delete-users", user_ids="[\"x\"]").status == 400
    assert api.call("delete-users", user_ids="{}").status == 400
    assert snapshot() == before
    assert api.ok("delete-leads") is True
    assert api.ok("get-user", user_id=lead1) is False and api.ok("get-user", user_id=lead2) is False
    assert api.ok("get-user", user_id=c)
    assert api.ok("count-users")["lead"] == "0"
