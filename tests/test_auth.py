"""login, logout, update-login: bcrypt passwords and signed, expiring, revocable cookies."""

from datetime import timedelta

import pytest

from sbcore import db as dbmod
from sbcore.functions.auth import user_from_cookie
from sbcore.models import LoginSession
from sbcore.testing import assert_shape, reference_example
from wire import assert_has_shape


@pytest.fixture
def member(api):
    user_id = api.ok("add-user", first_name="Mia", email="mia@example.com", password="correct horse")
    return user_id, api.ok("get-user", user_id=user_id)["token"]


def cookie_user(core, cookie):
    with dbmod.connection():
        user = user_from_cookie(core.context(), cookie)
    return None if user is None else user.id


def test_login_with_email_and_password(api, core, member):
    user_id, token = member
    user, cookie = api.ok("login", email="MIA@example.com", password="correct horse")
    assert user == {"id": str(user_id), "profile_image": "http://testserver/static/user.svg",
                    "first_name": "Mia", "last_name": user["last_name"], "email": "mia@example.com",
                    "user_type": "user", "token": token,
                    "url": "http://testserver", "password": ""}  # 3.8's url; never a hash
    assert_has_shape([user, cookie], reference_example("login"))
    assert cookie_user(core, cookie) == user_id
    assert api.ok("is-online", user_id=user_id) is True


def test_login_failures_answer_false(api, member, snapshot):
    before = snapshot()
    assert api.ok("login", email="mia@example.com", password="wrong") is False
    assert api.ok("login", email="nobody@example.com", password="correct horse") is False
    assert api.ok("login", email="mia@example.com", password="x" * 100) is False
    assert snapshot() == before
    # no credentials are wrong credentials, as Support Board 3.8 answers
    assert api.ok("login", email="mia@example.com") is False


def test_login_takes_3_8s_user_token_beside_the_admin_token(api, core, member):
    user_id, token = member
    for path in ("/include/api.php", "/api"):
        result = api.call("login", path=path, user_id=user_id, user_token=token)
        assert result.status == 200 and cookie_user(core, result.response[1]) == user_id
        assert api.call("login", path=path, user_id=user_id, user_token="0" * 40).response is False


def test_login_with_user_id_and_token_needs_bearer(api, core, member):
    user_id, token = member
    result = api.client.simulate_post("/api", headers={"Authorization": f"Bearer {api.token}"},
                                      json={"function": "login", "user_id": str(user_id),
                                              "token": token})
    assert result.status_code == 200
    assert cookie_user(core, result.json["response"][1]) == user_id
    wrong = api.client.simulate_post("/api", headers={"Authorization": f"Bearer {api.token}"},
                                     json={"function": "login", "user_id": user_id, "token": "0" * 40})
    assert wrong.json == {"success": True, "response": False}


def test_cookie_tampering_and_other_keys_fail(api, core, member):
    _, cookie = api.ok("login", email="mia@example.com", password="correct horse")
    assert cookie_user(core, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert cookie_user(core, "garbage") is None
    from itsdangerous import URLSafeTimedSerializer
    forged = URLSafeTimedSerializer("not-the-key", salt="sb-login").dumps({"id": 1, "sid": "x"})
    assert cookie_user(core, forged) is None


def test_cookie_expires(api, core, member):
    _, cookie = api.ok("login", email="mia@example.com", password="correct horse")
    from sbcore.db import utcnow
    with dbmod.connection():
        LoginSession.update(expires=utcnow() - timedelta(seconds=1)).execute()
    assert cookie_user(core, cookie) is None


def test_logout_ends_the_cookie(api, core, member):
    user_id, _ = member
    _, cookie = api.ok("login", email="mia@example.com", password="correct horse")
    _, other = api.ok("login", email="mia@example.com", password="correct horse")
    assert api.ok("logout", login_cookie=cookie) is True
    assert cookie_user(core, cookie) is None
    assert cookie_user(core, other) == user_id
    assert api.ok("logout", user_id=user_id) is True
    assert cookie_user(core, other) is None
    assert api.ok("logout") is True  # nothing to end, as Support Board 3.8 answers
    assert api.call("logout", user_id=999999).status == 404


def test_update_login_rewrites_the_user_and_gives_a_fresh_cookie(api, core, member):
    user_id, _ = member
    _, cookie = api.ok("login", email="mia@example.com", password="correct horse")
    result = api.client.simulate_post("/api", json={
        "token": api.token, "function": "update-login", "login-cookie": cookie,
        "first_name": "Mira", "last_name": "Stone", "email": "mira@example.com", "department": "2"})
    assert result.status_code == 200, result.json
    fields, fresh = result.json["response"]  # Support Board 3.8's [fields, cookie]
    assert fields == {"profile_image": "http://testserver/static/user.svg", "first_name": "Mira",
                      "last_name": "Stone", "email": "mira@example.com", "department": "2"}
    assert isinstance(fresh, str) and fresh != cookie
    assert cookie_user(core, fresh) == user_id
    assert cookie_user(core, cookie) is None
    user = api.ok("get-user", user_id=user_id)
    assert (user["first_name"], user["last_name"], user["email"], user["department"]) == (
        "Mira", "Stone", "mira@example.com", "2")


def test_update_login_refuses_bad_cookie_and_duplicate_email(api, member, snapshot):
    api.ok("add-user", email="other@example.com")
    _, cookie = api.ok("login", email="mia@example.com", password="correct horse")
    before = snapshot()
    result = api.call("update-login", login_cookie="forged", first_name="X")
    assert (result.status, result.response) == (401, "invalid-login-cookie")
    result = api.call("update-login", login_cookie=cookie, email="other@example.com")
    assert (result.status, result.response) == (409, "duplicate-email")
    assert snapshot() == before
