"""The two envelope dialects: /include/api.php answers as Support Board 3.8 does,
/api keeps sbcore's HTTP statuses."""

import pytest

SB = "/include/api.php"


def post(api, body, path=SB):
    return api.client.simulate_post(path, json=body)


@pytest.mark.parametrize("body, status, code", [
    ({}, 400, "missing-function-name"),
    ({"token": "x"}, 400, "missing-function-name"),
    # the function is checked before the token
    ({"function": "no-such-function"}, 404, "function-not-found"),
    ({"function": "GET-USER", "token": "f" * 40}, 404, "function-not-found"),
    ({"function": "get-user"}, 401, "token-not-found"),
    ({"function": "get-user", "token": ""}, 401, "token-not-found"),
    ({"function": "get-user", "token": "f" * 40}, 401, "invalid-token"),
])
def test_gate_errors_in_3_8_order(api, body, status, code):
    result = post(api, body)
    assert result.status_code == status
    assert list(result.json) == ["status", "response", "message"]
    assert result.json["status"] == "error"
    assert result.json["response"] == code
    assert result.json["message"]


def test_gate_messages_are_3_8s(api):
    assert post(api, {}).json["message"] == "Function name is required. Get it from the docs."
    assert post(api, {"function": "nope"}).json["message"] == \
        "Function nope not found. Check the function name."
    assert post(api, {"function": "get-user"}).json["message"].startswith("Admin token is required.")
    assert post(api, {"function": "get-user", "token": "f" * 40}).json["message"] == \
        "Use a token of an administrator."


def test_missing_argument_is_a_400_gate_error_naming_it(api):
    result = post(api, {"function": "get-user", "token": api.token})
    assert result.status_code == 400
    assert result.json == {"status": "error", "response": "missing-argument",
                           "message": "Missing argument: user_id"}


def test_an_agent_token_is_an_invalid_token(api, make_user):
    agent_id = make_user(email="agent@example.com", user_type="agent")
    agent_token = api.ok("get-user", user_id=agent_id)["token"]
    result = post(api, {"function": "get-users", "token": agent_token})
    assert (result.status_code, result.json["response"]) == (401, "invalid-token")


def test_other_failures_are_http_200_success_false(api, make_user):
    make_user(email="taken@example.com")
    result = post(api, {"function": "add-user", "token": api.token, "email": "taken@example.com"})
    assert result.status_code == 200
    assert result.json["success"] is False
    assert result.json["response"] == "duplicate-email"
    assert list(result.json) == ["success", "response", "message"]
    # the same failure on /api keeps its HTTP status
    on_api = post(api, {"function": "add-user", "token": api.token,
                        "email": "taken@example.com"}, path="/api")
    assert on_api.status_code == 409
    assert on_api.json["response"] == "duplicate-email"


def test_invalid_argument_is_200_on_sb_and_400_on_api(api):
    body = {"function": "get-user", "token": api.token, "user_id": "abc"}
    sb = post(api, body)
    assert (sb.status_code, sb.json["success"], sb.json["response"]) == (200, False, "invalid-argument")
    assert post(api, body, path="/api").status_code == 400


def test_invalid_json_and_a_get_are_missing_function_name(api):
    result = api.client.simulate_post(SB, body="{not json", content_type="application/json")
    assert (result.status_code, result.json["response"]) == (400, "missing-function-name")
    result = api.client.simulate_get(SB, query_string=f"function=get-users&token={api.token}")
    assert (result.status_code, result.json["response"]) == (400, "missing-function-name")


def test_api_keeps_its_statuses_and_order(api):
    # /api checks the token first
    result = post(api, {"function": "no-such-function"}, path="/api")
    assert (result.status_code, result.json["response"]) == (401, "missing-token")
    result = post(api, {"function": "get-user", "token": api.token}, path="/api")
    assert result.status_code == 400
    assert result.json["success"] is False
    assert result.json["response"] == "missing-argument"


def test_a_failure_changes_nothing_on_sb(api, make_user, core):
    make_user(email="taken@example.com")
    before = api.ok("count-users")
    post(api, {"function": "add-user", "token": api.token, "email": "taken@example.com",
               "first_name": "Dup"})
    assert api.ok("count-users") == before
