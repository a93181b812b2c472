"""The users functions: documented answers, not-found answers, bad arguments."""

import re

import pytest

from sbcore import db as dbmod
from sbcore.models import User
from sbcore.testing import assert_shape, reference_example


def test_add_user_defaults_visitor_without_email(api):
    user_id = api.ok("add-user")
    assert isinstance(user_id, int)
    user = api.ok("get-user", user_id=user_id)
    assert user["first_name"] == "User"
    assert re.fullmatch(r"#\d{5}", user["last_name"])
    assert user["user_type"] == "visitor"
    assert user["email"] is None
    assert user["profile_image"] == "http://testserver/static/user.svg"
    assert re.fullmatch(r"[0-9a-f]{40}", user["token"])
    assert user["password"] == ""


def test_add_user_with_email_is_a_user_and_keeps_details(api):
    user_id = api.ok("add-user", first_name="Don", last_name="John", email="Don@Example.com",
                     extra={"phone": ["+44 1234", "Phone"], "city": ["London", "City"]})
    user = api.ok("get-user", user_id=user_id, extra=True)
    assert user["user_type"] == "user"
    assert user["email"] == "don@example.com"
    assert {(d["slug"], d["name"], d["value"]) for d in user["details"]} == {
        ("phone", "Phone", "+44 1234"), ("city", "City", "London")}


def test_get_user_matches_the_reference_shape(api):
    user_id = api.ok("add-user", email="shape@example.com", extra={"location": ["NY", "Location"]})
    assert_shape(api.ok("get-user", user_id=user_id, extra=True), reference_example("get-user"))


def test_get_user_not_found_is_false(api):
    assert api.call("get-user", user_id=999999).json == {"success": True, "response": False}


def test_passwords_are_bcrypt_and_never_returned(api, core):
    user_id = api.ok("add-user", email="pw@example.com", password="hunter22")
    from sbcore import db as dbmod
    from sbcore.models import User
    with dbmod.connection():
        stored = User.get_by_id(user_id).password
    assert stored.startswith("$2b$") and "hunter22" not in stored
    for function, fields in (("get-user", {"user_id": user_id, "extra": True}),
                             ("get-users", {}), ("search-users", {"search": "pw"})):
        assert stored not in str(api.ok(function, **fields))


def test_duplicate_email_is_409_and_creates_nothing(api, snapshot):
    api.ok("add-user", email="dup@example.com")
    before = snapshot()
    result = api.call("add-user", email="DUP@example.com")
    assert (result.status, result.response) == (409, "duplicate-email")
    assert snapshot() == before


@pytest.mark.parametrize("fields, code", [
    ({"user_type": "superuser"}, "invalid-user-type"),
    ({"user_type": "bot"}, "invalid-user-type"),
    ({"email": "not-an-email"}, "invalid-email"),
    ({"extra": "[1, 2]"}, "invalid-argument"),
    ({"extra": {"Bad Slug!": ["x", "X"]}}, "invalid-detail"),
    ({"extra": {"phone": ["x" * 600, "Phone"]}}, "invalid-argument"),
    ({"first_name": "x" * 300}, "invalid-argument"),
    ({"password": "x" * 80}, "password-too-long"),
])
def test_add_user_bad_arguments_change_nothing(api, snapshot, fields, code):
    before = snapshot()
    result = api.call("add-user", **fields)
    assert result.status == 400, result
    assert result.response == code
    assert snapshot() == before


def test_update_user(api):
    user_id = api.ok("add-user", email="old@example.com", extra={"phone": ["1", "Phone"]})
    assert api.ok("update-user", user_id=user_id, first_name="New", email="new@example.com",
                  user_type="lead", settings_extra={"phone": ["2", "Phone"], "city": ["Rome", "City"]}) is True
    user = api.ok("get-user", user_id=user_id, extra=True)
    assert (user["first_name"], user["email"], user["user_type"]) == ("New", "new@example.com", "lead")
    assert {d["slug"]: d["value"] for d in user["details"]} == {"phone": "2", "city": "Rome"}
    assert api.ok("update-user", user_id=user_id, email="NULL")
    assert api.ok("get-user", user_id=user_id)["email"] is None


def test_update_user_errors_change_nothing(api, snapshot):
    api.ok("add-user", email="taken@example.com")
    user_id = api.ok("add-user", email="mine@example.com")
    before = snapshot()
    for fields, status, code in (
            ({"user_id": user_id, "email": "taken@example.com"}, 409, "duplicate-email"),
            ({"user_id": user_id, "user_type": "king", "first_name": "X"}, 400, "invalid-user-type"),
            ({"user_id": 999999, "first_name": "X"}, 404, "user-not-found")):
        result = api.call("update-user", **fields)
        assert (result.status, result.response) == (status, code)
    assert snapshot() == before


def test_update_user_to_lead(api, snapshot):
    user_id = api.ok("add-user")
    assert api.ok("update-user-to-lead", user_id=user_id) is True
    assert api.ok("get-user", user_id=user_id)["user_type"] == "lead"
    before = snapshot()
    assert api.call("update-user-to-lead", user_id=424242).status == 404
    assert snapshot() == before


def test_get_user_by(api):
    user_id = api.ok("add-user", first_name="Don", last_name="John", email="example@example.com",
                     extra={"phone": ["3203057977", "Phone"]})
    expected = {"id": str(user_id), "first_name": "Don", "last_name": "John",
                "email": "example@example.com", "user_type": "user", "department": None}
    assert api.ok("get-user-by", by="email", value="Example@example.com") == expected
    assert api.ok("get-user-by", by="phone", value="3203057977") == expected
    assert api.ok("get-user-by", by="first_name", value="Don") == expected
    assert_shape(expected, reference_example("get-user-by"))
    assert api.call("get-user-by", by="phone", value="0").json["response"] is False
    # "password" is read as a detail's slug, never the column: no way to probe password hashes
    api.ok("update-user", user_id=user_id, password="a-long-password")
    with dbmod.connection():
        stored_hash = User.get_by_id(user_id).password
    assert stored_hash and api.ok("get-user-by", by="password", value=stored_hash) is False
    bad = api.call("get-user-by", by="email; DROP TABLE sb_users", value="x")
    assert (bad.status, bad.response) == (400, "invalid-detail")


def test_get_user_extra(api):
    user_id = api.ok("add-user", extra={"browser": ["Chrome", "Browser"], "os": ["Linux", "OS"]})
    details = api.ok("get-user-extra", user_id=user_id)
    assert_shape(details, reference_example("get-user-extra"))
    assert {d["slug"] for d in details} == {"browser", "os"}
    assert api.ok("get-user-extra", user_id=user_id, slug="os") == "Linux"
    assert api.ok("get-user-extra", user_id=user_id, slug="city", default="none") == "none"
    assert api.ok("get-user-extra", user_id=user_id, slug="city") is False
    assert api.ok("get-user-extra", user_id=999999) == []
    assert api.call("get-user-extra", user_id=user_id, slug="../x").status == 400


def test_get_user_language(api):
    es = api.ok("add-user", extra={"language": ["es", "Language"]})
    en = api.ok("add-user", extra={"language": ["en", "Language"]})
    browser = api.ok("add-user", extra={"browser_language": ["it", "Browser language"]})
    assert api.ok("get-user-language", user_id=es) == "es"
    assert api.ok("get-user-language", user_id=en) is False
    assert api.ok("get-user-language", user_id=browser) == "it"
    assert api.ok("get-user-language", user_id=999999) is False


def test_get_users_pages_sorts_filters(api, core):
    from sbcore import db as dbmod
    from sbcore.models import User
    ids = [api.ok("add-user", first_name=f"N{i:03d}") for i in range(105)]
    lead = api.ok("add-user", first_name="Lead", user_type="lead")
    first_page = api.ok("get-users")
    assert len(first_page) == 100
    assert_shape(first_page, reference_example("get-users"))
    assert "password" not in first_page[0]
    second = api.ok("get-users", pagination=1)
    all_ids = {row["id"] for row in first_page + second}
    assert {str(i) for i in ids} | {str(lead)} <= all_ids
    assert len(first_page) + len(second) == len(all_ids)
    with dbmod.connection():
        User.update(creation_time="2020-01-01 00:00:00").where(User.id == ids[50]).execute()
    assert api.ok("get-users", sorting=["creation_time", "ASC"])[0]["id"] == str(ids[50])
    names = [r["first_name"] for r in api.ok("get-users", sorting=["first_name", "DESC"])]
    assert names == sorted(names, reverse=True)
    leads = api.ok("get-users", user_types=["lead"])
    assert [r["id"] for r in leads] == [str(lead)]
    only = api.ok("get-users", user_ids=[ids[0], ids[1]])
    assert {r["id"] for r in only} == {str(ids[0]), str(ids[1])}
    assert [r["id"] for r in api.ok("get-users", search="N007")] == [str(ids[7])]


@pytest.mark.parametrize("fields", [
    {"sorting": ["password", "ASC"]}, {"sorting": ["first_name", "SIDEWAYS"]},
    {"sorting": ["id; DROP TABLE sb_users", "ASC"]}, {"user_types": ["wizard"]},
    {"pagination": -1}, {"extra": ["Bad Slug"]}, {"user_ids": "[\"x\"]"},
])
def test_get_users_refuses_what_is_not_allowed(api, fields):
    result = api.call("get-users", **fields)
    assert result.status == 400, result
    assert result.json["success"] is False and result.json["message"]


def test_get_users_extra(api):
    user_id = api.ok("add-user", first_name="Xtra", extra={"phone": ["55", "Phone"], "city": ["Oslo", "City"]})
    row = api.ok("get-users", user_ids=[user_id], extra=True)[0]
    assert (row["phone"], row["city"]) == ("55", "Oslo")
    row = api.ok("get-users", user_ids=[user_id], extra=["city"])[0]
    assert row["city"] == "Oslo" and "phone" not in row


def test_get_new_users_by_id_and_date(api, core):
    from sbcore import db as dbmod
    from sbcore.models import User
    old = api.ok("add-user")
    new = api.ok("add-user")
    with dbmod.connection():
        User.update(creation_time="2020-05-13 08:00:00").where(User.id == old).execute()
        User.update(creation_time="2020-05-14 09:00:00").where(User.id == new).execute()
    assert [r["id"] for r in api.ok("get-new-users", datetime=str(old))] == [str(new)]
    by_date = {r["id"] for r in api.ok("get-new-users", datetime="2020-05-13 13:35:59")}
    assert str(new) in by_date and str(old) not in by_date
    by_day = {r["id"] for r in api.ok("get-new-users", datetime="2020-05-13")}
    assert {str(old), str(new)} <= by_day
    assert_shape(api.ok("get-new-users", datetime="0"), reference_example("get-new-users"))
    assert api.call("get-new-users", datetime="yesterday").status == 400


def test_get_users_with_details(api):
    a = api.ok("add-user", email="albert@example.com", extra={"phone": ["+4462367136", "Phone"]})
    b = api.ok("add-user", email="jessica@example.com")
    agent = api.ok("add-user", email="agent@example.com", user_type="agent",
                   extra={"phone": ["+1", "Phone"]})
    result = api.ok("get-users-with-details", details=["email", "phone"])
    assert {"id": a, "value": "albert@example.com"} in result["email"]
    assert {"id": b, "value": "jessica@example.com"} in result["email"]
    assert {"id": a, "value": "+4462367136"} in result["phone"]
    only_b = api.ok("get-users-with-details", details=["email"], user_ids=f"{b}")
    assert only_b == {"email": [{"id": b, "value": "jessica@example.com"}]}
    listed = api.ok("get-users-with-details", details=["phone"], user_ids=[a])
    assert listed == {"phone": [{"id": a, "value": "+4462367136"}]}
    agents = api.ok("get-users-with-details", details=["phone"], user_ids="agents")
    assert agents == {"phone": [{"id": agent, "value": "+1"}]}
    assert api.call("get-users-with-details", details=["no such!"]).status == 400


def test_search_users_covers_names_email_and_details(api):
    don = api.ok("add-user", first_name="Don", last_name="Johnson", email="don@example.com",
                 extra={"city": ["Springfield", "City"]})
    api.ok("add-user", first_name="Mary", last_name="Smith")
    for text in ("don", "Johns", "don@example.com", "springf", "DON john"):
        assert [r["id"] for r in api.ok("search-users", search=text)] == [str(don)], text
    assert_shape(api.ok("search-users", search="don"), reference_example("search-users"))
    assert api.ok("search-users", search="nobody") == []


@pytest.mark.parametrize("text", ['"', "'", "%", "*", "don\" OR \"", "NEAR(a b)", "a:*", "-", "()",
                                  "don AND", "+don -x", "\\", "';--"])
def test_search_text_is_never_syntax(api, text):
    api.ok("add-user", first_name="Don")
    result = api.call("search-users", search=text)
    assert result.status == 200 and isinstance(result.response, list), result
    result = api.call("get-users", search=text)
    assert result.status == 200 and isinstance(result.response, list), result


def test_search_follows_updates_and_deletes(api):
    user_id = api.ok("add-user", first_name="Before")
    api.ok("update-user", user_id=user_id, first_name="Afterwards")
    assert api.ok("search-users", search="before") == []
    assert [r["id"] for r in api.ok("search-users", search="afterwards")] == [str(user_id)]
    api.ok("delete-user", user_id=user_id)
    assert api.ok("search-users", search="afterwards") == []


def test_count_users(api):
    for user_type in ("visitor", "visitor", "lead", "user"):
        api.ok("add-user", user_type=user_type)
    api.ok("add-user", user_type="agent", email="a@example.com")
    counts = api.ok("count-users")
    assert counts == {"all": "4", "lead": "1", "user": "1", "visitor": "2"}
    assert_shape(counts, reference_example("count-users"))
