"""GET /openapi.json (OpenAPI 3.1, from the registry) and GET /docs; the answers the
Schemathesis run of .ci/openapi-fuzz found to be 500s, now 400s."""

import types

import pytest
from falcon.testing import TestClient

from sbcore import FunctionSet, hookimpl
from sbcore.registry import IdList, canonical_functions


def demo_plugin():
    functions = FunctionSet()

    @functions("demo-echo")
    def demo_echo(ctx, text: str, times: int = 1, ids: IdList | None = None, loud: bool = False):
        """Echo the text."""
        return text * times

    module = types.ModuleType("demo_openapi_plugin")
    module.sbcore_register_functions = hookimpl(lambda: functions.api_functions())
    return module


@pytest.fixture
def sbcore_plugins():
    return [demo_plugin()]


@pytest.fixture
def spec(app):
    answer = TestClient(app).simulate_get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    return answer.json


def test_the_document_is_valid_openapi_3_1(spec):
    from openapi_spec_validator import OpenAPIV31SpecValidator
    assert spec["openapi"].startswith("3.1")
    errors = list(OpenAPIV31SpecValidator(spec).iter_errors())
    assert not errors, errors[:3]


def test_one_operation_per_function_of_the_core_and_its_plugins(spec, core):
    names = set(canonical_functions(core.functions))
    assert {path.removeprefix("/api/") for path in spec["paths"]} == names
    assert "demo-echo" in names and "get-user" in names
    assert all(set(item) == {"post"} for item in spec["paths"].values())


def test_arguments_carry_types_required_and_defaults_from_the_hints(spec):
    op = spec["paths"]["/api/demo-echo"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["text"]
    props = body["properties"]
    assert props["text"]["type"] == "string"
    assert props["times"]["type"] == "integer" and props["times"]["default"] == 1
    assert props["times"]["maximum"] == 2 ** 63 - 1
    integer = {key: value for key, value in props["times"].items() if key != "default"}
    assert props["ids"]["anyOf"] == [{"type": "array", "items": integer}, {"type": "null"}]
    assert props["loud"] == {"type": "boolean", "default": False}
    assert op["summary"] == "Echo the text."
    user = spec["paths"]["/api/get-user"]["post"]
    assert user["summary"] == "Returns the user details of a user."  # the reference's sentence
    assert user["requestBody"]["content"]["application/json"]["schema"]["properties"]["user_id"][
        "description"] == "The ID of the user."


def test_answers_errors_and_security_are_declared(spec):
    op = spec["paths"]["/api/get-user"]["post"]
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["properties"]["success"] == {"const": True}
    assert ok["properties"]["response"]["examples"][0]["first_name"] == "John"
    assert {"400", "401", "404", "409", "502"} <= set(op["responses"])
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["success", "response", "message"]
    assert spec["security"] == [{"adminToken": []}]
    assert spec["components"]["securitySchemes"]["adminToken"] == {
        "type": "http", "scheme": "bearer", "description": "An admin's token (`sbcore token` prints one)."}


def test_an_operation_answers_as_documented(app, api, spec):
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {api.token}"}
    answer = client.simulate_post("/api/demo-echo", json={"text": "ab", "times": 2}, headers=headers)
    assert answer.json == {"success": True, "response": "abab"}
    missing = client.simulate_post("/api/demo-echo", json={}, headers=headers)
    assert missing.status_code == 400 and set(missing.json) == {"success", "response", "message"}
    assert client.simulate_post("/api/demo-echo", json={"text": "x"}).status_code == 401


def test_docs_page_renders_every_function_without_script_or_cdn(app):
    page = TestClient(app).simulate_get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "//cdn" not in page.text and "https://" not in page.text.split(
        "<main>")[0]
    assert 'id="demo-echo"' in page.text and 'href="/openapi.json"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert TestClient(app).simulate_get("/static/docs.css").status_code == 200


# --- what Schemathesis found (each was a 500) ---

@pytest.mark.parametrize("function, fields", [
    ("get-conversations", {"pagination": 9223372036854775806}),
    ("get-users", {"pagination": 9223372036854775806}),
    ("search-user-conversations", {"search": "\u00b2", "user_id": 1}),
    ("get-events", {"after": "\u00b2"}),
])
def test_fuzzed_inputs_are_invalid_arguments_not_server_errors(api, function, fields):
    result = api.post_json(dict(fields, function=function, token=api.token))
    if function == "search-user-conversations":
        assert result.status == 200 and result.json["response"] == []
    else:
        assert result.status == 400 and result.json["response"] == "invalid-argument", result


def test_php_bracket_keys_with_unicode_digits_stay_keys():
    """``a[²][]=x``: '²' passes str.isdigit() but is no array index (int() fails on it)."""
    from sbcore.web.fields import _php_arrays
    assert _php_arrays({"\u00b2": {"0": "x"}}) == {"\u00b2": ["x"]}
    assert _php_arrays({"0": "a", "1": "b"}) == ["a", "b"]
