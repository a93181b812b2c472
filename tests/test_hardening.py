"""Hardening against hostile input: body and nesting caps, search caps, credentials in
URLs, headers (issue 15)."""

import json

import pytest
from falcon.testing import TestClient

from sbcore.testing import WidgetClient

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


# --- junk that used to answer 500 ---


def test_a_json_object_where_the_widget_upload_expects_a_file_answers_400(widget, app):
    widget.register(first_name="U")
    client = TestClient(app)
    for file in ({"filename": "a.txt", "data": "text"}, {"filename": "a.txt"}, "a.txt", [1],
                 {"filename": ["x"], "data": "y"}):
        answer = client.simulate_post("/widget/upload", json={"file": file},
                                      headers={"Authorization": f"Bearer {widget.cookie}"})
        assert answer.status_code == 400, (file, answer.text)
        assert answer.json["response"] == "invalid-argument"


@pytest.mark.parametrize("start,end,zone", [("9999-12-30", "9999-12-31", ""),
                                            ("0001-01-01", "0001-01-02", "Pacific/Kiritimati"),
                                            ("", "0001-01-01", ""), ("31/12/9999", "", "")])
def test_report_ranges_at_the_calendars_end_answer_400(api, start, end, zone):
    fields = {k: v for k, v in (("date_start", start), ("date_end", end), ("timezone", zone)) if v}
    answer = api.call("reports", name="conversations", **fields)
    assert answer.status == 400 and answer.json["response"] == "invalid-argument"


def test_bad_time_zones_in_reports_answer_400(api):
    for zone in ("Europe", "../../etc/passwd", "\x01"):
        assert api.call("reports", name="conversations", timezone=zone).status == 400


def test_a_boolean_where_a_list_is_expected_answers_400_or_means_all(api):
    assert api.call("get-users-with-details", details=["email"], user_ids={"a": 1}).status == 400
    assert api.call("csv-users", user_ids=True).status == 200  # true: every user, as false
    assert api.call("send-message", user_id=1, conversation_id=1, message="x",
                    attachments=True).status == 400
    assert api.call("send-message", user_id=1, conversation_id=1, message="x",
                    attachments=[99999999999999999999]).status == 400


@pytest.mark.parametrize("setting,value", [("login-cookie-days", 1e12), ("login-cookie-days", -5),
                                           ("login-cookie-days", 0),
                                           ("presence-online-seconds", 1e308),
                                           ("widget-rate-window", 10 ** 15),
                                           ("smtp-port", 70000)])
def test_numeric_settings_far_out_of_range_answer_400(api, setting, value):
    answer = api.call("save-settings", settings={setting: value})
    assert answer.status == 400 and answer.json["response"] == "invalid-setting-value"
    answer = api.call("save-settings", settings={setting: [value, "number"]})
    assert answer.status == 400


def test_logins_still_work_after_an_out_of_range_cookie_lifetime_was_refused(api, widget):
    api.call("save-settings", settings={"login-cookie-days": 1e12})
    widget.register(email="life@example.com", password="password-1")
    assert widget.call("login", email="life@example.com", password="password-1").ok


def test_integers_beyond_64_bits_answer_400(api):
    for value in ("99999999999999999999", "1e308", "-99999999999999999999", "²"):
        answer = api.call("get-user", user_id=value)
        assert answer.status == 400 and answer.json["response"] == "invalid-argument", value
    answer = api.post_json({"function": "get-user", "user_id": 2 ** 70},
                           headers={"Authorization": f"Bearer {api.token}"})
    assert answer.status == 400
    answer = api.post_json({"function": "get-user", "user_id": 1e308},
                           headers={"Authorization": f"Bearer {api.token}"})
    assert answer.status == 400


# --- per-visitor bounds ---


def test_a_visitor_message_over_the_cap_answers_400(api, widget):
    api.ok("save-settings", settings={"widget-message-max-chars": 100})
    widget.register(first_name="M")
    conversation = widget.ok("new-conversation")["details"]["id"]
    answer = widget.call("send-message", conversation_id=conversation, message="x" * 101)
    assert answer.status == 400 and answer.json["response"] == "message-too-long"
    assert widget.call("send-message", conversation_id=conversation, message="x" * 100).ok
    assert len(widget.ok("get-conversation", conversation_id=conversation)["messages"]) == 1


def upload(client, cookie, size, name="a.txt"):
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + b"x" * size + f"\r\n--{boundary}--\r\n".encode()
    return client.simulate_post("/widget/upload", body=body,
                                headers={"Authorization": f"Bearer {cookie}",
                                         "Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_uploads_are_bounded_per_visitor_per_hour(api, app, widget):
    api.ok("save-settings", settings={"widget-upload-hourly-count": 3,
                                      "widget-upload-hourly-bytes": 1000})
    widget.register(first_name="U")
    client = TestClient(app)
    for _ in range(3):
        assert upload(client, widget.cookie, 10).status_code == 200
    refused = upload(client, widget.cookie, 10)
    assert refused.status_code == 429 and refused.json["response"] == "too-many-uploads"
    other = widget.new(first_name="V")
    assert upload(client, other.cookie, 600).status_code == 200
    assert upload(client, other.cookie, 600).status_code == 429  # 1200 bytes > 1000


def test_details_are_bounded_per_visitor(api, widget):
    api.ok("save-settings", settings={"widget-max-details": 3})
    answer = widget.call("register", first_name="D", extra={f"d{i}": "v" for i in range(4)})
    assert answer.status == 400 and answer.json["response"] == "too-many-details"
    widget.register(first_name="D", extra={"a": "1", "b": "2"})
    assert widget.call("update-user", extra={"c": "3"}).ok
    assert widget.call("update-user", extra={"d": "4"}).status == 400
    assert widget.call("update-user", extra={"a": "changed"}).ok  # an existing one may change
    assert widget.call("update-user", extra={"a": "x" * 513}).status == 400


def test_one_article_rating_per_visitor_per_article(api, widget):
    api.ok("save-articles", articles=[{"title": "Shipping", "content": "Daily."}])
    article_id = api.ok("get-articles")[0]["id"]
    widget.register(first_name="R")
    for rating in (1, 1, 1, 0):
        assert widget.ok("article-ratings", article_id=article_id, rating=rating) is True
    other = widget.new(first_name="S")
    other.ok("article-ratings", article_id=article_id, rating=1)
    import json as _json
    assert sorted(_json.loads(api.ok("article-ratings", article_id=article_id))) == [-1, 1]


def test_article_views_count_once_per_visitor_per_day(api, widget, app, core):
    from sbcore import db as dbmod
    from sbcore.models import Article

    def views():
        with dbmod.connection():
            return Article.get(Article.article_id == article_id).views

    api.ok("save-articles", articles=[{"title": "Shipping", "content": "Daily."}])
    article_id = api.ok("get-articles")[0]["id"]
    widget.register(first_name="R")
    for _ in range(5):
        assert widget.ok("get-articles", id=article_id)
    other = widget.new(first_name="S")
    other.ok("get-articles", id=article_id)
    anonymous = WidgetClient(app)
    for _ in range(3):
        anonymous.ok("get-articles", id=article_id)
    assert views() == 3
    api.ok("get-articles", id=article_id)  # the Web API counts every read, as before
    assert views() == 4


def test_migration_21_brings_an_older_database_the_visitor_bounds(core):
    from sbcore import db as dbmod
    from sbcore.models import AppliedMigration
    from playhouse.migrate import migrate

    from sbcore.migrations import migrator_for
    from sbcore.models import ArticleView
    with dbmod.connection():
        database = core.database
        migrator = migrator_for(database)
        for index in database.get_indexes("sb_article_ratings"):
            if "user_id" in index.columns:
                migrate(migrator.drop_index("sb_article_ratings", index.name))
        migrate(migrator.drop_column("sb_article_ratings", "user_id"))
        database.drop_tables([ArticleView])
        AppliedMigration.delete().where((AppliedMigration.app == "core")
                                        & (AppliedMigration.number == 21)).execute()
    core.init(report=lambda line: None)
    with dbmod.connection():
        assert "user_id" in {c.name for c in core.database.get_columns("sb_article_ratings")}
        assert {("article_id", "user_id")} <= {tuple(i.columns) for i in
                                                core.database.get_indexes("sb_article_ratings")}
        assert core.database.table_exists("sb_article_views")


def test_pages_far_beyond_the_last_answer_400(api):
    for function in ("get-users", "get-conversations"):
        assert api.call(function, pagination=9223372036854775807).status == 400
        assert api.call(function, pagination=-1).status == 400
        assert api.call(function, pagination=3).ok


def test_user_ids_true_lists_everyone_as_false_does(api):
    api.ok("add-user", first_name="Tru")
    assert api.ok("get-users", user_ids=True) == api.ok("get-users", user_ids=False)


def test_an_events_cursor_beyond_64_bits_answers_400(api):
    assert api.call("get-events", after="99999999999999999999").status == 400
    assert api.call("get-events", after="²").status == 400
    assert api.ok("get-events", after="0")["events"] == [] or True


def test_a_rating_with_an_id_beyond_64_bits_answers_400(api):
    for value in (99999999999999999999, 1e999, "²"):
        answer = api.post_json({"function": "set-rating",
                                "settings": {"conversation_id": value, "rating": 1}},
                               headers={"Authorization": f"Bearer {api.token}"})
        assert answer.status == 400, value
