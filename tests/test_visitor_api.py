"""The visitor API (/widget/api): a visitor reaches only its own user and conversations."""


import pytest

from sbcore import db as dbmod
from sbcore.models import Message, User
from sbcore.testing import assert_shape, reference_webhook


def events(api, name):
    return [e["data"] for e in api.ok("get-events", limit=500)["events"] if e["function"] == name]


def test_register_answers_user_and_cookie(widget, api):
    answer = widget.ok("register", first_name="Don", last_name="John")
    assert set(answer) == {"user", "login-cookie"}
    user = answer["user"]
    assert user["first_name"] == "Don" and user["user_type"] == "visitor"
    assert "token" not in user and "password" not in user
    widget.cookie = answer["login-cookie"]
    assert widget.ok("get-user")["id"] == user["id"]
    assert events(api, "registration") == []  # an anonymous visitor did not register a form


def test_registration_with_email_fires_the_webhook_without_the_password(widget, api):
    user = widget.register(first_name="Don", email="Don@Example.com", password="long-password",
                           extra={"phone": ["+02123456789", "Phone"]})
    assert user["user_type"] == "user" and user["email"] == "don@example.com"
    [data] = events(api, "registration")
    example = reference_webhook("registration")["data"]
    assert set(data) == set(example)
    assert_shape(data["user"], example["user"], path="registration.user")
    assert data["user"]["email"] == ["don@example.com", "Email"]
    assert data["extra"] == {"phone": ["+02123456789", "Phone"]}
    assert data["user"]["password"] == ["", "Password"] and "long-password" not in str(data)


def test_every_private_function_needs_a_live_cookie(widget):
    for name in ("get-user", "update-user", "new-conversation", "get-user-conversations",
                 "get-conversation", "send-message", "get-new-messages", "set-typing",
                 "is-agent-typing", "set-rating", "rich-message", "subscribe", "logout",
                 "article-ratings"):
        result = widget.call(name, conversation_id=1)
        assert result.status == 401 and result.response == "invalid-login-cookie", (name, result)
    widget.cookie = "forged.cookie.value"
    assert widget.call("get-user").status == 401
    widget.cookie = None
    widget.register()
    cookie = widget.cookie
    assert widget.ok("logout") is True
    widget.cookie = cookie
    assert widget.call("get-user").status == 401  # logout ended it


def test_cookie_in_the_body_works_too(widget):
    widget.register()
    cookie, widget.cookie = widget.cookie, None
    assert widget.ok("get-user", **{"login-cookie": cookie})["id"] == widget.user["id"]


def test_web_api_functions_are_not_reachable(widget, api, admin_token):
    widget.register()
    for name in ("get-users", "delete-user", "get-settings", "save-settings", "add-user",
                 "update-conversation-status", "get-events", "nonsense"):
        result = widget.call(name, user_id=widget.user["id"], token=admin_token)
        assert result.status == 404 and result.response == "function-not-found", (name, result)
    # nor does the admin token open the visitor API's private functions, as a field or a header
    widget.cookie = None
    for headers in ({}, {"Authorization": f"Bearer {admin_token}"}):
        anonymous = type(widget)(widget.client.app, headers=headers)
        result = anonymous.call("get-user", token=admin_token)
        assert (result.status, result.response) == (401, "invalid-login-cookie") or \
            (result.status == 401 and result.response.startswith(("missing-", "invalid-"))), result


def test_a_visitor_cannot_reach_another_visitors_conversation(widget, api, snapshot):
    alice = widget.new(first_name="Alice")
    bob = widget.new(first_name="Bob")
    cid = int(alice.ok("new-conversation", title="Mine")["details"]["id"])
    mid = alice.ok("send-message", conversation_id=cid, message="secret")["message-id"]
    missing = cid + 1000
    before = snapshot()
    for name, fields in [
        ("get-conversation", {}), ("send-message", {"message": "hi"}),
        ("get-new-messages", {"datetime": "0"}), ("set-typing", {}), ("is-agent-typing", {}),
        ("set-rating", {"rating": 1}),
        ("rich-message", {"message_id": mid, "type": "buttons", "values": {"choice": "A"}}),
        ("subscribe", {"email": "bob@example.com"}),
    ]:
        theirs = bob.call(name, conversation_id=cid, **fields)
        absent = bob.call(name, conversation_id=missing, **fields)
        assert theirs.status == absent.status == 404, (name, theirs)
        assert theirs.json["response"] == absent.json["response"] == "conversation-not-found"
        assert theirs.json["message"].replace(str(cid), "#") == absent.json["message"].replace(
            str(missing), "#")
    assert snapshot() == before
    assert bob.ok("get-user-conversations") == []
    assert [c["conversation_id"] for c in alice.ok("get-user-conversations")] == [str(cid)]


def test_user_id_is_always_the_callers_own(widget, api):
    alice = widget.new()
    bob = widget.new()
    cid = int(bob.ok("new-conversation")["details"]["id"])
    sent = bob.ok("send-message", conversation_id=cid, message="as bob", user_id=alice.user["id"])
    with dbmod.connection():
        assert Message.get_by_id(sent["message-id"]).user_id == int(bob.user["id"])
    result = bob.call("get-user", user_id=alice.user["id"])
    assert result.status == 404 and result.response == "user-not-found"
    result = bob.call("update-user", user_id=alice.user["id"], first_name="Mallory")
    assert result.status == 404
    assert api.ok("get-user", user_id=alice.user["id"])["first_name"] == "User"


@pytest.mark.parametrize("field, value", [("user_type", "admin"), ("token", "abc"),
                                          ("department", 1)])
def test_a_visitor_cannot_change_its_type_token_or_department(widget, api, field, value, snapshot):
    widget.register()
    before = snapshot()
    result = widget.call("update-user", first_name="New", **{field: value})
    assert result.status == 403 and result.response == "not-allowed"
    assert snapshot() == before


def test_update_own_user(widget, api):
    widget.register()
    assert widget.ok("update-user", first_name="Ann", last_name="Lee",
                     extra={"city": ["London", "City"]}) is not False
    user = api.ok("get-user", user_id=widget.user["id"], extra=True)
    assert (user["first_name"], user["last_name"]) == ("Ann", "Lee")
    assert {"slug": "city", "name": "City", "value": "London"} in user["details"]
    result = widget.call("update-user", profile_image="javascript:alert(1)")
    assert result.status == 400 and result.response == "invalid-argument"


def test_chat_with_an_agent(widget, api, agent):
    widget.register(first_name="Don")
    cid = int(widget.ok("new-conversation", title="Help")["details"]["id"])
    first = widget.ok("send-message", conversation_id=cid, message="Hello")
    assert first["status"] == "success"
    inbox = api.ok("get-conversations")
    assert inbox[0]["conversation_id"] == str(cid) and inbox[0]["conversation_status_code"] == "2"
    api.ok("set-typing", user_id=agent, conversation_id=cid)
    assert widget.ok("is-agent-typing", conversation_id=cid)["id"] == str(agent)
    reply = api.ok("send-message", user_id=agent, conversation_id=cid, message="Hi, Don")
    new = widget.ok("get-new-messages", conversation_id=cid, datetime=str(first["message-id"]))
    assert [(m["id"], m["message"]) for m in new] == [(str(reply["message-id"]), "Hi, Don")]
    conversation = widget.ok("get-conversation", conversation_id=cid)
    assert [m["message"] for m in conversation["messages"]] == ["Hello", "Hi, Don"]
    assert widget.ok("set-rating", conversation_id=cid, rating=1) is True
    assert api.ok("get-rating", user_id=agent) == [1, 0]


def test_new_conversation_checks_the_department(widget, api):
    api.ok("save-settings", settings={"departments": [
        {"department-id": "3", "department-name": "Sales", "department-color": "red",
         "department-image": ""}]})
    widget.register()
    assert widget.ok("new-conversation", department=3)["details"]["department"] == "3"
    result = widget.call("new-conversation", department=9)
    assert result.status == 400 and result.response == "invalid-argument"


def test_login_and_the_login_webhook(widget, api):
    widget.register(email="ann@example.com", password="long-password")
    other = type(widget)(widget.client.app)
    assert other.ok("login", email="ann@example.com", password="wrong-password") is False
    answer = other.ok("login", email="ANN@example.com", password="long-password")
    assert answer["user"]["email"] == "ann@example.com" and "token" not in answer["user"]
    other.cookie = answer["login-cookie"]
    assert other.ok("get-user")["id"] == widget.user["id"]
    [data] = events(api, "login")
    assert data["details"]["email"] == "ann@example.com" and data["details"]["password"] == ""


def test_registration_and_login_are_rate_limited_per_address(widget, api, snapshot):
    api.ok("save-settings", settings={"widget-rate-limit": 3, "widget-rate-window": 600})
    for _ in range(3):
        widget.call("register")
    before = snapshot()
    result = widget.call("register", first_name="Fourth")
    assert result.status == 429 and result.response == "too-many-requests"
    assert widget.call("login", email="a@example.com", password="whatever1").status == 429
    with dbmod.connection():
        assert not User.select().where(User.first_name == "Fourth").exists()
    # the counted hits aside, the refused calls changed nothing
    after = snapshot()
    assert {t: rows for t, rows in after.items() if t != "sb_rate_hits"} == \
        {t: rows for t, rows in before.items() if t != "sb_rate_hits"}
    # behind a trusted proxy, each forwarded address has its own allowance
    api.ok("save-settings", settings={"widget-trust-forwarded-for": True})
    proxied = type(widget)(widget.client.app, headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.call("register").ok
    # the limit can be turned off
    api.ok("save-settings", settings={"widget-rate-limit": 0, "widget-trust-forwarded-for": False})
    assert widget.call("register").ok


def test_cors_follows_the_allowed_origins(widget, api):
    client = widget.client
    answer = client.simulate_options("/widget/api", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in answer.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in answer.headers
    api.ok("save-settings", settings={"widget-allowed-origins": "https://shop.example"})
    answer = client.simulate_post("/widget/api", json={"function": "get-translation",
                                                       "language_code": "it"},
                                  headers={"Origin": "https://shop.example"})
    assert answer.headers["access-control-allow-origin"] == "https://shop.example"
    answer = client.simulate_post("/widget/api", json={"function": "get-translation",
                                                       "language_code": "it"},
                                  headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers


def upload(widget, name, data=b"\x89PNG\r\n\x1a\nrest", content_type="image/png"):
    boundary = "sbcoreboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if widget.cookie:
        headers["Authorization"] = f"Bearer {widget.cookie}"
    from sbcore.testing import ApiResult
    return ApiResult(widget.client.simulate_post("/widget/upload", body=body, headers=headers))


def test_upload_and_attach(widget, api, core):
    assert upload(widget, "a.png").status == 401
    widget.register()
    stored = upload(widget, "photo.png")
    assert stored.ok, stored
    assert stored.response["name"] == "photo.png"
    assert stored.response["url"].startswith("http://testserver/uploads/widget/")
    served = widget.client.simulate_get(stored.response["url"][len("http://testserver"):])
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
    for bad in ("page.html", "run.php", "x.svg", "noext"):
        result = upload(widget, bad, b"<script>alert(1)</script>", "text/html")
        assert result.status == 400 and result.response == "extension-not-allowed", (bad, result)
    api.ok("save-settings", settings={"widget-upload-max-bytes": 10})
    assert upload(widget, "big.png", b"x" * 200_000).status == 413
    cid = int(widget.ok("new-conversation")["details"]["id"])
    result = widget.call("send-message", conversation_id=cid,
                         attachments=[["evil", "https://evil.example/x.png"]])
    assert result.status == 400 and result.response == "invalid-argument"
    sent = widget.ok("send-message", conversation_id=cid,
                     attachments=[["photo.png", stored.response["url"]]])
    message = api.ok("get-conversation", conversation_id=cid)["messages"][-1]
    assert str(sent["message-id"]) == message["id"]
    assert message["attachments"] == [["photo.png", stored.response["url"]]] or \
        message["attachments"] in (f'[["photo.png", "{stored.response["url"]}"]]',)


def test_rich_message_form_fires_the_webhook_and_is_stored(widget, api, agent):
    widget.register()
    cid = int(widget.ok("new-conversation")["details"]["id"])
    mid = api.ok("send-message", user_id=agent, conversation_id=cid,
                 message='[inputs id="example" values="Name,Your Email"]')["message-id"]
    assert widget.ok("rich-message", conversation_id=cid, message_id=mid, type="inputs",
                     id="example", values={"name": ["Don Jhon", "Name"],
                                           "your-email": ["example@gmail.com", "Your Email"]}) is True
    [data] = events(api, "rich-message")
    example = reference_webhook("rich-message")["data"]
    assert set(data) == set(example) and set(data["data"]) == set(example["data"])
    assert data == {"result": True, "id": "example", "data": {"type": "inputs", "result": {
        "name": ["Don Jhon", "Name"], "your-email": ["example@gmail.com", "Your Email"]}}}
    stored = api.ok("get-conversation", conversation_id=cid)["messages"][-1]["payload"]
    assert "example@gmail.com" in str(stored)
    result = widget.call("rich-message", conversation_id=cid, message_id=mid + 99, type="inputs",
                         values={"a": "b"})
    assert result.status == 404 and result.response == "message-not-found"
    result = widget.call("rich-message", conversation_id=cid, message_id=mid, type="script",
                         values={"a": "b"})
    assert result.status == 400


def test_email_given_in_the_chat(widget, api, make_user, snapshot):
    widget.register(first_name="Don", last_name="John")
    assert widget.ok("subscribe", email="Don@Example.com") is True
    user = api.ok("get-user", user_id=widget.user["id"])
    assert (user["email"], user["user_type"]) == ("don@example.com", "lead")
    assert events(api, "new-email-address") == [{"name": "Don John", "email": "don@example.com"}]
    assert_shape(events(api, "new-email-address")[0], reference_webhook("new-email-address")["data"])
    make_user(email="taken@example.com")
    before = snapshot()
    result = widget.call("subscribe", email="taken@example.com")
    assert result.status == 409 and result.response == "duplicate-email"
    assert snapshot() == before


def test_registration_form_in_the_chat(widget, api, agent):
    widget.register()
    cid = int(widget.ok("new-conversation")["details"]["id"])
    mid = api.ok("send-message", user_id=agent, conversation_id=cid,
                 message='[registration id="reg"]')["message-id"]
    widget.ok("rich-message", conversation_id=cid, message_id=mid, type="registration", id="reg",
              values={"first_name": "Don", "last_name": "John", "email": "don@example.com",
                      "password": "long-password", "password-check": "long-password",
                      "city": ["London", "City"]})
    user = api.ok("get-user", user_id=widget.user["id"], extra=True)
    assert (user["first_name"], user["email"], user["user_type"]) == ("Don", "don@example.com", "user")
    [data] = events(api, "registration")
    assert data["id"] == "reg" and data["conversation_id"] == str(cid)
    assert data["extra"] == {"city": ["London", "City"]}
    [form] = events(api, "rich-message")
    payload = api.ok("get-conversation", conversation_id=cid)["messages"][-1]["payload"]
    assert "long-password" not in str(form) + str(payload) + str(data)
    assert form["data"]["result"]["password"] == ["", ""]
    other = type(widget)(widget.client.app)
    assert other.ok("login", email="don@example.com", password="long-password")


def test_public_reads_need_no_cookie(widget, api):
    assert widget.ok("get-translation", language_code="it")
    assert widget.ok("get-articles") == []  # no article yet, and no cookie needed to say so
    assert widget.ok("search-articles", search="refund") == []
    assert widget.call("get-translation", language_code="../../etc").status == 400


def test_json_bodies_and_bad_input_never_500(widget):
    widget.register()
    client = widget.client
    headers = {"Authorization": f"Bearer {widget.cookie}"}
    for body in (b"{", b"[]", b'{"function": 5}', b'{"function": "send-message"}',
                 b'{"function": "get-conversation", "conversation_id": "x"}'):
        answer = client.simulate_post("/widget/api", body=body, headers={
            **headers, "Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, (body, answer.status_code)
        assert answer.json["success"] is False
    assert client.simulate_get("/widget/api").status_code == 405


def test_a_lead_who_registers_becomes_a_user(widget, api, agent):
    widget.register()
    widget.ok("subscribe", email="lead@example.com")
    cid = int(widget.ok("new-conversation")["details"]["id"])
    mid = api.ok("send-message", user_id=agent, conversation_id=cid,
                 message="[registration]")["message-id"]
    widget.ok("rich-message", conversation_id=cid, message_id=mid, type="registration",
              values={"first_name": "Lea", "password": "long-password"})
    assert api.ok("get-user", user_id=widget.user["id"])["user_type"] == "user"


def test_widget_script_carries_its_config_safely(widget, api):
    api.ok("save-settings", settings={"widget-title": "</script><script>alert(1)</script>",
                                      "color-1": "#123456"})
    answer = widget.client.simulate_get("/widget.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    first, _, rest = answer.text.partition("\n")
    assert first.startswith("window.SBCORE_CONFIG = {") and first.endswith("};")
    assert "</script>" not in first and "\\u003c/script\\u003e" in first
    import json
    config = json.loads(first[len("window.SBCORE_CONFIG = "):-1])
    assert config["title"] == "</script><script>alert(1)</script>"
    assert config["colors"]["color-1"] == "#123456" and config["url"] == "http://testserver"
    assert "fetch(" in rest  # the widget itself follows


def test_chat_page_escapes_the_title_and_locks_scripts_to_itself(widget, api):
    api.ok("save-settings", settings={"widget-title": "<b>Help</b>"})
    answer = widget.client.simulate_get("/chat")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;Help&lt;/b&gt;" in answer.text and "<b>Help</b>" not in answer.text
    assert 'src="/widget.js"' in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]


def test_a_polling_visitor_is_online_and_gets_no_reply_email(widget, api, core, agent):
    from sbcore.testing import offline
    widget.register()
    cid = int(widget.ok("new-conversation")["details"]["id"])
    offline(core, int(widget.user["id"]))
    assert widget.user["id"] not in [u["id"] for u in api.ok("get-online-users") or []]
    widget.ok("get-new-messages", conversation_id=cid, datetime="0")  # the widget's poll
    assert widget.user["id"] in [u["id"] for u in api.ok("get-online-users")]
    with dbmod.connection():
        seen = User.get_by_id(int(widget.user["id"])).last_activity
    widget.ok("get-new-messages", conversation_id=cid, datetime="0")
    with dbmod.connection():
        assert User.get_by_id(int(widget.user["id"])).last_activity == seen  # no write per poll
