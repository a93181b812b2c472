"""Hardening against hostile input: body and nesting caps, search caps, credentials in
URLs, headers (issue 15)."""

import json

import pytest
from falcon.testing import TestClient

from sbcore.registry import MAX_DEPTH, SEARCH_MAX_CHARS, SEARCH_MAX_WORDS


def deep(levels):
    return "[" * levels + "]" * levels


# --- request bodies ---


@pytest.mark.parametrize("path", ["/api", "/api/get-users", "/include/api.php", "/widget/api"])
def test_a_body_over_the_cap_answers_413_before_parsing(app, core, path):
    limit = core.config.max_body_bytes
    client = TestClient(app)
    body = b'{"function": "get-users", "x": "' + b"a" * limit + b'"}'
    answer = client.simulate_post(path, body=body, content_type="application/json")
    assert answer.status_code == 413
    assert answer.json["response"] == "body-too-large"


@pytest.mark.parametrize("path", ["/api", "/widget/api"])
def test_deep_json_bodies_answer_400(api, app, path):
    body = '{"function": "get-users", "token": "%s", "x": %s}' % (api.token, deep(100_000))
    answer = TestClient(app).simulate_post(path, body=body, content_type="application/json")
    assert answer.status_code == 400 and answer.json["response"] == "too-deep"
    shallow = '{"function": "get-users", "token": "%s", "x": %s}' % (api.token, deep(MAX_DEPTH))
    if path == "/api":
        assert TestClient(app).simulate_post(path, body=shallow,
                                             content_type="application/json").status_code == 200


def test_deep_json_strings_in_form_fields_answer_400(api):
    answer = api.call("add-user", first_name="Deep", extra=deep(50_000))
    assert answer.status == 400 and answer.json["response"] == "too-deep"
    assert api.call("get-users", user_ids=deep(40)).status == 400
    assert api.ok("search-users", search="Deep") == []


def test_deep_php_bracket_keys_answer_400(api, app):
    key = "extra" + "[a]" * 3000
    answer = TestClient(app).simulate_post("/api", body=f"token={api.token}&function=add-user&{key}=1",
                                           content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400 and answer.json["response"] == "too-deep"


# --- search caps ---


def search_functions(core):
    """Every registered function (and visitor function) with a ``search`` argument."""
    from sbcore import visitor
    found = []
    for source in (core.functions, visitor.functions()):
        for name, function in source.items():
            for param in function.parameters:
                if param.name in ("search", "query", "keyword", "keywords", "q"):
                    found.append((name, function, param))
    return found


def test_every_search_argument_is_capped(core):
    from sbcore.registry import Search
    found = search_functions(core)
    assert {name for name, _, _ in found} >= {"search-users", "search-articles",
                                               "search-conversations", "search-user-conversations"}
    for name, function, param in found:
        assert param.annotation in (Search, Search | None), (name, param.name)


@pytest.mark.parametrize("function", ["search-users", "search-articles", "search-conversations"])
def test_long_or_wordy_searches_answer_400(api, function):
    long = api.call(function, search="a" * (SEARCH_MAX_CHARS + 1))
    assert long.status == 400 and long.json["response"] == "invalid-argument"
    wordy = api.call(function, search=" ".join(["w"] * (SEARCH_MAX_WORDS + 1)))
    assert wordy.status == 400
    assert api.call(function, search="a " * SEARCH_MAX_WORDS).status == 200


def test_visitor_search_is_capped_too(widget):
    answer = widget.call("search-articles", search="x" * 900_000)
    assert answer.status == 400 or answer.status == 413
    answer = widget.call("search-articles", search="x" * (SEARCH_MAX_CHARS + 1))
    assert answer.status == 400 and answer.json["response"] == "invalid-argument"


def test_unicode_digits_in_searches_are_text(api):
    for text in ("²", "١٢", "½", "Ⅻ", "x²"):
        for function in ("search-users", "search-conversations", "search-articles"):
            assert api.call(function, search=text).status == 200, (function, text)
    assert api.call("get-new-messages", conversation_id=1, datetime="²").status == 400
    assert api.call("get-new-messages", conversation_id=1,
                    datetime="9" * 30).status == 400


# --- credentials never in URLs ---


def test_an_admin_token_in_the_query_string_answers_401(api, app):
    client = TestClient(app)
    for path in ("/api", "/api/get-users", "/include/api.php"):
        answer = client.simulate_post(path, query_string=f"token={api.token}",
                                      body="function=get-users",
                                      content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 401, path
    # the same token in the body or the header works
    assert api.call("get-users").ok
    assert api.post_json({"function": "get-users"},
                         headers={"Authorization": f"Bearer {api.token}"}).ok


def test_a_login_cookie_in_the_query_string_answers_401(widget, app):
    widget.register(first_name="Q")
    client = TestClient(app)
    for name in ("login-cookie", "login_cookie", "token"):
        answer = client.simulate_post("/widget/api", query_string=f"{name}={widget.cookie}",
                                      body="function=get-user",
                                      content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 401, name
    answer = client.simulate_post("/widget/upload", query_string=f"login-cookie={widget.cookie}",
                                  body="x", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 401
    assert widget.call("get-user").ok


# --- headers ---


def test_every_answer_says_nosniff(api, app):
    client = TestClient(app)
    for answer in (client.simulate_get("/health"), client.simulate_get("/nope"),
                   client.simulate_post("/api", body="function=get-users",
                                        content_type="application/x-www-form-urlencoded"),
                   client.simulate_get("/chat"), client.simulate_get("/widget.js"),
                   client.simulate_post("/widget/api", body="{}", content_type="application/json")):
        assert answer.headers.get("X-Content-Type-Options") == "nosniff"


def test_a_stalled_body_answers_408_not_500(app, monkeypatch):
    import falcon
    from sbcore.web import handle_unexpected

    resp = falcon.Response()
    handle_unexpected(None, resp, TimeoutError("timed out"), {})
    assert resp.status in (falcon.HTTP_408, 408)
    assert json.loads(resp.text)["response"] == "request-timeout"
