"""The HTTP contract: paths, body encodings, envelope, statuses, tokens, health, files."""

import json

import pytest

from sbcore import ApiError, FunctionSet, hookimpl
from sbcore.testing import ApiClient


def test_both_paths_answer_the_same(api, make_user):
    user_id = make_user(first_name="Ann", last_name="Lee")
    for path in ("/api", "/include/api.php"):
        result = api.call("get-user", path=path, user_id=user_id)
        assert result.status == 200
        assert result.json["success"] is True
        assert result.response["first_name"] == "Ann"
        assert result.result.headers["content-type"].startswith("application/json")


def test_json_body_takes_native_values(api, make_user):
    user_id = make_user()
    result = api.post_json({"token": api.token, "function": "get-users",
                            "user_ids": [user_id], "extra": False})
    assert result.ok
    assert [row["id"] for row in result.response] == [str(user_id)]


def test_multipart_body(api, make_user):
    user_id = make_user(first_name="Multi")
    body = (
        "--XyZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + api.token + "\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"function\"\r\n\r\nget-user\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\n" + str(user_id) + "\r\n"
        "--XyZ--\r\n")
    result = api.client.simulate_post("/api", body=body,
                                      content_type="multipart/form-data; boundary=XyZ")
    assert result.status_code == 200
    assert result.json["response"]["first_name"] == "Multi"


def test_bearer_token_frees_the_token_field(api, make_user):
    user_id = make_user(email="bearer@example.com", password="secret-pw")
    user_token = api.ok("get-user", user_id=user_id)["token"]
    result = api.client.simulate_post(
        "/api", headers={"Authorization": f"Bearer {api.token}"},
        json={"function": "login", "user_id": user_id, "token": user_token})
    assert result.status_code == 200
    assert result.json["response"][0]["id"] == str(user_id)


@pytest.mark.parametrize("token, code", [(None, "missing-token"), ("", "missing-token"),
                                         ("f" * 40, "invalid-token")])
def test_missing_or_wrong_token_is_401(api, token, code):
    body = {"function": "get-users"}
    if token is not None:
        body["token"] = token
    result = api.post_json(body)
    assert result.status == 401
    assert result.json == {"success": False, "response": code, "message": result.json["message"]}
    assert result.json["message"]


def test_only_an_admin_token_opens_the_api(api, make_user):
    agent_id = make_user(email="agent@example.com", user_type="agent")
    agent_token = api.ok("get-user", user_id=agent_id)["token"]
    assert api.call("get-users", token=agent_token).status == 401
    visitor_token = api.ok("get-user", user_id=make_user())["token"]
    assert api.call("get-users", token=visitor_token).status == 401


def test_unknown_function_is_404(api):
    result = api.call("no-such-function")
    assert result.status == 404
    assert result.json["response"] == "function-not-found"


def test_missing_function_field_is_400(api):
    result = api.post_json({"token": api.token})
    assert result.status == 400
    assert result.json["response"] == "missing-function"


def test_missing_argument_is_400_with_its_name(api):
    result = api.call("get-user")
    assert result.status == 400
    assert result.json["response"] == "missing-argument"
    assert "user_id" in result.json["message"]


def test_badly_typed_argument_is_400(api):
    result = api.call("get-user", user_id="abc")
    assert result.status == 400
    assert result.json["response"] == "invalid-argument"


def test_malformed_json_body_is_400(api):
    result = api.client.simulate_post("/api", body="{not json", content_type="application/json")
    assert result.status_code == 400
    assert result.json["response"] == "invalid-body"
    result = api.client.simulate_post("/api", body="[1, 2]", content_type="application/json")
    assert result.status_code == 400


def test_unsupported_body_is_415(api):
    result = api.client.simulate_post("/api", body="token=x", content_type="text/plain")
    assert result.status_code == 415
    assert result.json["success"] is False


def test_get_on_the_api_is_405_in_the_envelope(api):
    result = api.client.simulate_get("/api")
    assert result.status_code == 405
    assert result.json["success"] is False


class Exploding:
    functions = FunctionSet()

    @staticmethod
    @functions("explode")
    def explode(ctx, user_id: int):
        from sbcore.models import User
        User.update(first_name="CHANGED").where(User.id == user_id).execute()
        raise RuntimeError("secret internals /etc/passwd")

    @staticmethod
    @functions("refuse")
    def refuse(ctx, user_id: int):
        from sbcore.models import User
        User.update(first_name="CHANGED").where(User.id == user_id).execute()
        raise ApiError("refused", "No.", 403)

    @hookimpl
    def sbcore_register_functions(self):
        return self.functions.api_functions()


@pytest.fixture
def sbcore_plugins():
    return [Exploding()]


def test_unexpected_error_is_500_without_leaking_and_rolls_back(api, make_user):
    user_id = make_user(first_name="Kept")
    result = api.call("explode", user_id=user_id)
    assert result.status == 500
    assert result.json["response"] == "internal-error"
    assert "passwd" not in json.dumps(result.json)
    assert api.ok("get-user", user_id=user_id)["first_name"] == "Kept"


def test_api_error_rolls_back_the_transaction(api, make_user):
    user_id = make_user(first_name="Kept")
    result = api.call("refuse", user_id=user_id)
    assert (result.status, result.json["response"]) == (403, "refused")
    assert api.ok("get-user", user_id=user_id)["first_name"] == "Kept"


def test_health(api):
    result = api.client.simulate_get("/health")
    assert result.status_code == 200
    assert result.json["database"] is True


def test_uploads_serves_written_files_and_nothing_outside(api, core, tmp_path):
    url = api.ok("get-avatar", first_name="Ann", last_name="Lee")
    path = url.split("http://testserver", 1)[1]
    result = api.client.simulate_get(path)
    assert result.status_code == 200
    assert result.headers["content-type"] == "image/png"
    assert result.content.startswith(b"\x89PNG")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    for bad in ("/uploads/../secret.txt", "/uploads/%2e%2e/secret.txt",
                "/uploads/..%2fsecret.txt", "/uploads/avatars/../../secret.txt",
                "/uploads//etc/passwd", "/uploads/"):
        result = api.client.simulate_get(bad)
        assert result.status_code == 404, bad
        assert b"top secret" not in result.content
    folder = "/".join(path.split("/")[:-1])
    assert api.client.simulate_get(folder).status_code == 404


def test_uploads_refuses_symlinks_out(api, core, tmp_path):
    import os
    os.makedirs(core.config.uploads_dir, exist_ok=True)
    (tmp_path / "outside.txt").write_text("outside")
    os.symlink(tmp_path / "outside.txt", os.path.join(core.config.uploads_dir, "link.txt"))
    assert api.client.simulate_get("/uploads/link.txt").status_code == 404


def test_static_default_images(api):
    result = api.client.simulate_get("/static/user.svg")
    assert result.status_code == 200
    assert result.text.startswith("<svg")
    assert api.client.simulate_get("/static/../core.py").status_code == 404


def test_client_for_embedding_posts_like_support_board_clients(app, admin_token):
    client = ApiClient(app, admin_token)
    assert int(client.ok("get-bot-id")) > 0
