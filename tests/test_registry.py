"""The registry's shared mechanisms: roles, aliases, argument spellings, junk bounds and
PHP bracket fields."""

import pytest

from sbcore import ADMIN, AGENT, ApiError, FunctionSet
from sbcore.errors import StartupError
from sbcore.registry import INT_MAX, canonical_functions, collect_functions, convert
from sbcore.web.fields import last_values


def make_set():
    functions = FunctionSet()

    @functions("echo-ids", role=AGENT, aliases=("echo-id-list",), spellings={"user_ids": ("users_id",)})
    def echo(ctx, user_ids: list, page: int = 0):
        return {"user_ids": user_ids, "page": page}

    @functions("secret")
    def secret(ctx):
        return True
    return functions


def test_roles_default_to_admin_and_agents_reach_only_agent_functions():
    echo, secret = make_set().api_functions()
    assert (echo.role, secret.role) == (AGENT, ADMIN)
    assert echo.may_call(AGENT) and echo.may_call(ADMIN)
    assert not secret.may_call(AGENT) and secret.may_call(ADMIN)


def test_an_unknown_role_stops_start_up():
    functions = FunctionSet()
    functions("bad", role="visitor")(lambda ctx: None)
    with pytest.raises(StartupError, match="role"):
        functions.api_functions()


def test_a_spelling_of_an_unknown_argument_stops_start_up():
    functions = FunctionSet()
    functions("bad", spellings={"nope": ("nah",)})(lambda ctx: None)
    with pytest.raises(StartupError, match="nope"):
        functions.api_functions()


def test_spellings_bind_the_same_argument():
    echo = make_set().api_functions()[0]
    assert echo.bind({"users_id": "[1,2]"}) == {"user_ids": [1, 2]}
    assert echo.bind({"user_ids": [3], "users_id": [4]}) == {"user_ids": [3]}


class Plugin:
    def __init__(self, functions):
        self.sbcore_register_functions = functions.hook()


def test_aliases_name_the_same_function_and_collide_like_names(pm):
    pm.register(Plugin(make_set()), name="first")
    functions = collect_functions(pm)
    assert functions["echo-id-list"] is functions["echo-ids"]
    assert "echo-id-list" not in canonical_functions(functions)
    clash = FunctionSet()
    clash("echo-id-list")(lambda ctx: None)
    pm.register(Plugin(clash), name="second")
    with pytest.raises(StartupError, match="echo-id-list.*first.*second"):
        collect_functions(pm)


@pytest.mark.parametrize("junk", ["99999999999999999999", 1e308, -1e19, "²", "١٢", "1e3", True, [], {}])
def test_integers_beyond_64_bits_and_other_junk_are_invalid_arguments(junk):
    with pytest.raises(ApiError) as error:
        convert("user_id", int, junk)
    assert (error.value.code, error.value.status) == ("invalid-argument", 400)


def test_integers_within_64_bits_pass():
    assert convert("user_id", int, str(INT_MAX)) == INT_MAX
    assert convert("user_id", int, " -12 ") == -12
    assert convert("user_id", int, 7.0) == 7


def test_php_bracket_fields_build_arrays_and_objects():
    form = {"details[]": ["a", "b"], "extra[phone][]": ["1", "2"], "extra[city]": "Rome",
            "plain": ["x", "y"], "map[3]": "c"}
    assert last_values(form) == {"details": ["a", "b"], "plain": "y", "map": {"3": "c"},
                                 "extra": {"phone": ["1", "2"], "city": "Rome"}}


def test_php_bracket_fields_over_http(api, make_user):
    ids = [make_user(first_name=name) for name in ("Ann", "Bob")]
    body = "&".join(f"user_ids[]={i}" for i in ids) + "&function=delete-users"
    result = api.client.simulate_post("/api", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {api.token}"})
    assert result.json["success"] is True, result.json
    assert api.ok("get-user", user_id=ids[0]) is False


def test_the_function_may_be_named_in_the_path(api, make_user):
    user_id = make_user(first_name="Path")
    result = api.client.simulate_post("/api/get-user", json={"user_id": user_id},
                                      headers={"Authorization": f"Bearer {api.token}"})
    assert result.json["response"]["first_name"] == "Path"
