"""The agent workspace's server side: sign-in, the session cookie's rules, CSRF on
/admin/api, the role check in the registry, and the workspace's extension functions."""

import re
import time

import pytest
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore.models import RateHit, WorkspaceSession
from sbcore.registry import ADMIN, AGENT
from sbcore.web.admin import session as S

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin-password"


class Workspace:
    """A browser on /admin: signs in with the form, keeps the cookie, reads the CSRF
    token from the page's meta tag, and calls /admin/api with it."""

    def __init__(self, app):
        self.client = TestClient(app)
        self.cookie = None
        self.csrf = None

    def sign_in(self, email, password, headers=None):
        result = self.client.simulate_post("/admin/sign-in", params_csv=False, headers=headers,
                                           body=f"email={email}&password={password}",
                                           content_type="application/x-www-form-urlencoded")
        if result.status_code == 303:
            self.cookie = result.cookies[S.COOKIE].value
            self.csrf = self.page_csrf()
        return result

    def headers(self, csrf=True):
        headers = {"Cookie": f"{S.COOKIE}={self.cookie}"} if self.cookie else {}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf if csrf is True else csrf
        return headers

    def page(self):
        return self.client.simulate_get("/admin", headers=self.headers(csrf=False))

    def page_csrf(self):
        found = re.search(r'<meta name="csrf-token" content="([^"]+)">', self.page().text)
        return found.group(1) if found else None

    def call(self, function, csrf=True, **fields):
        return self.client.simulate_post("/admin/api", json={"function": function, **fields},
                                         headers=self.headers(csrf))


@pytest.fixture
def admin(app, api):
    workspace = Workspace(app)
    assert workspace.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 303
    return workspace


@pytest.fixture
def agent(app, api):
    agent_id = int(api.ok("add-user", first_name="Alex", last_name="Agent", email="alex@example.com",
                          password="agent-password", user_type="agent"))
    workspace = Workspace(app)
    assert workspace.sign_in("alex@example.com", "agent-password").status_code == 303
    workspace.user_id = agent_id
    return workspace


def test_the_sign_in_form_then_the_page_with_its_csrf_token(app, api):
    workspace = Workspace(app)
    form = workspace.page()
    assert form.status_code == 200
    assert 'type="email"' in form.text and 'type="password"' in form.text
    assert "csrf-token" not in form.text
    result = workspace.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert result.status_code == 303 and result.headers["location"] == "/admin"
    cookie = result.cookies[S.COOKIE]
    assert cookie.http_only and cookie.same_site == "Strict" and cookie.path == "/admin"
    assert not cookie.secure  # SB_PUBLIC_URL is http here
    assert cookie.max_age == 12 * 3600
    assert workspace.csrf and len(workspace.csrf) >= 32
    page = workspace.page()
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text  # no inline script


def test_a_sign_in_posted_to_admin_itself_or_as_json(app, api):
    client = TestClient(app)
    form = client.simulate_post("/admin", body=f"email={ADMIN_EMAIL}&password={ADMIN_PASSWORD}",
                                content_type="application/x-www-form-urlencoded")
    assert form.status_code == 303 and S.COOKIE in form.cookies
    as_json = client.simulate_post("/admin/sign-in", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert as_json.status_code == 303 and S.COOKIE in as_json.cookies
    assert client.simulate_post("/admin", json={"email": ADMIN_EMAIL, "password": "no"}).status_code == 401


def test_the_cookie_is_secure_when_the_public_url_is_https(core, api):
    from sbcore.web import create_app
    core.config = core.config.replace(public_url="https://desk.example")
    workspace = Workspace(create_app(core=core, start_worker=False))
    result = workspace.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert result.cookies[S.COOKIE].secure


def test_the_session_is_stored_hashed(core, admin):
    with dbmod.connection():
        keys = [row.id for row in WorkspaceSession.select()]
    assert keys == [S.token_key(admin.cookie)] and admin.cookie not in keys


def test_wrong_password_unknown_email_and_visitors_do_not_sign_in(app, api, widget):
    widget.register(email="visitor@example.com", password="visitor-password")
    for email, password in ((ADMIN_EMAIL, "wrong"), ("nobody@example.com", ADMIN_PASSWORD),
                            ("visitor@example.com", "visitor-password"), (ADMIN_EMAIL, "")):
        result = Workspace(app).sign_in(email, password)
        assert result.status_code == 401, email
        assert S.COOKIE not in result.cookies
        assert "Wrong email or password." in result.text


def test_an_unknown_email_runs_bcrypt_as_a_wrong_password_does(core, api, monkeypatch):
    checked = []
    real = S.U.check_password
    monkeypatch.setattr(S.U, "check_password", lambda p, h: checked.append(h) or real(p, h))
    assert S.sign_in(core, "1.2.3.4", "nobody@example.com", "x") is None
    assert S.sign_in(core, "1.2.3.4", ADMIN_EMAIL, "x") is None
    assert len(checked) == 2 and all(h.startswith("$2") for h in checked)
    assert checked[0] == S.dummy_hash(core.config.bcrypt_rounds)


def test_failed_sign_ins_are_limited_per_address_and_per_account(core, app, api):
    with dbmod.connection():
        core.settings.set("workspace-sign-in-limit", 3)
    workspace = Workspace(app)
    for _ in range(3):
        assert workspace.sign_in(ADMIN_EMAIL, "wrong").status_code == 401
    # the account is locked for a while, even with the right password ...
    assert workspace.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 429
    # ... and from another address
    other = {"X-Forwarded-For": "10.0.0.9"}
    with dbmod.connection():
        core.settings.set("widget-trust-forwarded-for", True)
    assert workspace.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, headers=other).status_code == 429
    # the address is limited whatever the account
    for index in range(3):
        assert workspace.sign_in(f"guess{index}@example.com", "x",
                                 headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 401
    api.ok("add-user", first_name="Bo", email="bo@example.com", password="bo-password", user_type="agent")
    assert workspace.sign_in("bo@example.com", "bo-password",
                             headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 429
    assert workspace.sign_in("bo@example.com", "bo-password",
                             headers={"X-Forwarded-For": "10.0.0.8"}).status_code == 303
    # once the window has passed, the account signs in again
    with dbmod.connection():
        from datetime import timedelta
        RateHit.update(time=dbmod.utcnow() - timedelta(seconds=10_000)).execute()
    assert workspace.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 303


def test_a_form_from_another_origin_is_refused(app, api):
    result = Workspace(app).sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, headers={"Origin": "https://evil.example"})
    assert result.status_code == 403 and S.COOKIE not in result.cookies


def test_admin_api_needs_the_session_and_the_csrf_token(app, admin):
    assert admin.call("count-users").json["success"] is True
    no_token = admin.call("count-users", csrf=False)
    assert no_token.status_code == 403 and no_token.json["response"] == "invalid-csrf-token"
    wrong = admin.call("count-users", csrf="x" * 43)
    assert wrong.status_code == 403
    anonymous = TestClient(app).simulate_post("/admin/api", json={"function": "count-users"},
                                              headers={"X-CSRF-Token": admin.csrf})
    assert anonymous.status_code == 401 and anonymous.json["response"] == "not-signed-in"
    # the admin token is no session
    assert TestClient(app).simulate_post("/admin/api", json={"function": "count-users"}, headers={
        "Authorization": "Bearer x", "X-CSRF-Token": admin.csrf}).status_code == 401
    unknown = admin.call("no-such-function")
    assert unknown.status_code == 404 and unknown.json["response"] == "function-not-found"


def test_a_call_without_the_token_changes_nothing(app, api, admin):
    user_id = int(api.ok("add-user", first_name="Kim"))
    assert admin.call("delete-user", csrf=False, user_id=user_id).status_code == 403
    assert api.ok("get-user", user_id=user_id)


def test_an_agent_is_refused_admin_functions(app, api, agent):
    refused = agent.call("get-settings")
    assert refused.status_code == 403 and refused.json == {
        "success": False, "response": "forbidden", "message": "'get-settings' is for admins only."}
    user_id = int(api.ok("add-user", first_name="Kim"))
    assert agent.call("delete-user", user_id=user_id).status_code == 403
    assert api.ok("get-user", user_id=user_id)
    assert agent.call("get-conversations").json["success"]
    # aliases take the role of their function
    page = agent.page()
    assert 'data-role="agent"' in page.text and 'data-view="settings"' not in page.text


def test_the_role_table():
    """Agents get what answering customers needs; the rest is the admins'."""
    from sbcore.plugins import get_plugin_manager
    from sbcore.registry import canonical_functions, collect_functions
    functions = canonical_functions(collect_functions(get_plugin_manager(load_entrypoints=True)))
    agent_needs = {"get-conversations", "get-conversation", "get-new-conversations", "get-new-messages",
                   "search-conversations", "send-message", "add-note", "get-notes", "delete-note",
                   "get-user", "get-users", "saved-replies", "get-articles", "set-typing", "is-typing",
                   "agents-online", "transcript", "update-conversation-status",
                   "update-conversation-agent", "update-conversation-department",
                   "update-conversation-tags", "count-conversations", "get-departments",
                   "current-url", "get-user-language", "get-user-conversations"}
    admins_only = {"get-settings", "save-settings", "add-user", "update-user", "delete-user",
                   "delete-users", "get-setting", "get-events", "get-settings-registry",
                   "get-webhook-deliveries", "replay-webhook", "test-webhook", "login", "update"}
    for name in agent_needs:
        assert functions[name].role == AGENT, name
        assert functions[name].may_call("agent") and functions[name].may_call("admin")
    for name in admins_only:
        assert functions[name].role == ADMIN, name
        assert not functions[name].may_call("agent") and functions[name].may_call("admin")


def test_sign_out_ends_the_session(app, admin):
    cookie = admin.cookie
    refused = admin.client.simulate_post("/admin/sign-out", headers=admin.headers(csrf=False))
    assert refused.status_code == 403
    assert admin.call("count-users").status_code == 200
    result = admin.client.simulate_post("/admin/sign-out", headers=admin.headers())
    assert result.status_code == 303
    admin.cookie = cookie
    assert admin.call("count-users").status_code == 401
    assert "csrf-token" not in admin.page().text


def test_a_new_password_or_deletion_ends_the_session(api, agent):
    assert agent.call("count-users").status_code == 200
    api.ok("update-user", user_id=agent.user_id, password="another-password")
    assert agent.call("count-users").status_code == 401
    assert agent.sign_in("alex@example.com", "another-password").status_code == 303
    assert agent.call("count-users").status_code == 200
    api.ok("update-user", user_id=agent.user_id, user_type="user")  # no longer an agent
    assert agent.call("count-users").status_code == 401
    api.ok("update-user", user_id=agent.user_id, user_type="agent")
    assert agent.sign_in("alex@example.com", "another-password").status_code == 303
    api.ok("delete-user", user_id=agent.user_id)
    assert agent.call("count-users").status_code == 401


def test_an_expired_session_is_over(core, admin):
    assert admin.call("count-users").status_code == 200
    with dbmod.connection():
        WorkspaceSession.update(expires=dbmod.utcnow()).execute()
    assert admin.call("count-users").status_code == 401


def test_user_for_request(core, admin, agent):
    class Request:
        def __init__(self, cookie):
            self.cookies = {S.COOKIE: cookie} if cookie else {}
    assert S.user_for_request(core, Request(admin.cookie))[1] == "admin"
    assert S.user_for_request(core, Request(agent.cookie)) == (agent.user_id, "agent")
    assert S.user_for_request(core, Request("forged")) is None
    assert S.user_for_request(core, Request(None)) is None


def test_an_agent_answers_through_the_session(api, widget, agent):
    widget.register(first_name="Cus")
    conversation_id = int(widget.ok("new-conversation")["details"]["id"])
    widget.ok("send-message", conversation_id=conversation_id, message="<b>hello</b>")
    rows = agent.call("get-conversations").json["response"]
    assert [r["conversation_id"] for r in rows] == [str(conversation_id)]
    sent = agent.call("send-message", user_id=agent.user_id, conversation_id=conversation_id,
                      message="Hi, how can I help?")
    assert sent.status_code == 200
    messages = widget.ok("get-conversation", conversation_id=conversation_id)["messages"]
    assert [m["message"] for m in messages] == ["<b>hello</b>", "Hi, how can I help?"]
    assert agent.call("update-conversation-tags", conversation_id=conversation_id,
                      tags=["vip", " billing ", "vip"]).json["response"] == ["vip", "billing"]
    assert [r["conversation_id"] for r in api.ok("get-conversations", tag="billing")] == [str(conversation_id)]
    bad = agent.call("update-conversation-tags", conversation_id=conversation_id, tags=["a" * 65])
    assert bad.status_code == 400
    assert agent.call("get-conversations", unassigned=True).json["response"]
    api.ok("update-conversation-agent", conversation_id=conversation_id, agent_id=agent.user_id)
    assert agent.call("get-conversations", unassigned=True).json["response"] == []
    assert len(agent.call("get-conversations", routing=True).json["response"]) == 1


def test_admin_upload_goes_through_the_allow_list(app, admin):
    def upload(name, csrf=True):
        boundary = "sbcoreboundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\ndata\r\n--{boundary}--\r\n").encode()
        return admin.client.simulate_post("/admin/upload", body=body, headers={
            **admin.headers(csrf), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    good = upload("invoice.pdf")
    assert good.status_code == 200 and good.json["response"]["url"].startswith("http://testserver/uploads/")
    assert upload("run.exe").json["response"] == "extension-not-allowed"
    assert upload("invoice.pdf", csrf=False).status_code == 403


def test_settings_registry_groups_plugins(admin):
    rows = admin.call("get-settings-registry").json["response"]
    by_id = {row["id"]: row for row in rows}
    assert by_id["workspace-session-hours"] == {
        "id": "workspace-session-hours", "type": "number", "default": 12, "value": 12,
        "description": by_id["workspace-session-hours"]["description"], "owner": "sbcore.web.admin.session"}
    assert by_id["webhooks"]["type"] == "multi-input"


def test_webhook_log_test_delivery_and_replay(core, api, admin, receiver, widget):
    assert admin.call("test-webhook").json["response"] == "webhooks-not-configured"
    api.ok("save-settings", settings={"webhooks": {"webhooks-active": True, "webhooks-url": receiver.url,
                                                   "webhooks-key": "k", "webhooks-allowed": ""}})
    refused = admin.call("test-webhook").json["response"]  # the outbound guard holds
    assert refused["delivered"] is False and refused["error"].startswith("refused")
    core.config = core.config.replace(allow_private_network=True)
    answer = admin.call("test-webhook").json["response"]
    assert answer == {"delivered": True, "error": ""}
    assert receiver.bodies()[-1]["function"] == "ping"
    widget.register(first_name="Kim")
    conversation_id = int(widget.ok("new-conversation")["details"]["id"])
    widget.ok("send-message", conversation_id=conversation_id, message="hello")
    log = admin.call("get-webhook-deliveries").json["response"]
    assert log and log[0]["status"] == "pending"
    from sbcore.models import Event
    with dbmod.connection():
        Event.update(status="failed", attempts=40).where(Event.id == int(log[0]["id"])).execute()
    assert admin.call("get-webhook-deliveries", status="failed").json["response"][0]["id"] == log[0]["id"]
    replayed = admin.call("replay-webhook", event_id=int(log[0]["id"])).json["response"]
    assert replayed["status"] == "pending"
    assert admin.call("replay-webhook", event_id=999999).status_code == 404
    assert admin.call("get-webhook-deliveries", status="nope").status_code == 400


def test_inbox_pages_by_keyset(api, ctx, assert_query_count):
    """``before`` (the last row's time and id) pages by the index alone: every row
    once, newest first, across rows of the same second; one query a page."""
    from sbcore.models import Conversation
    user_id = int(api.ok("add-user", first_name="Kim"))
    ids = [int(api.ok("new-conversation", user_id=user_id)["details"]["id"]) for _ in range(5)]
    moment = dbmod.utcnow()
    Conversation.update(last_update_time=moment).where(Conversation.id.in_(ids[:3])).execute()
    from sbcore.functions.conversations import get_conversations
    from sbcore import conversations as C
    C_PAGE, C.PAGE_SIZE = C.PAGE_SIZE, 2
    try:
        seen, before = [], ""
        for _ in range(4):
            with assert_query_count(1):
                rows = get_conversations(ctx, before=before)
            if not rows:
                break
            seen += [int(r["conversation_id"]) for r in rows]
            before = f'{rows[-1]["last_update_time"]},{rows[-1]["conversation_id"]}'
    finally:
        C.PAGE_SIZE = C_PAGE
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert api.call("get-conversations", before="yesterday").status == 400


AGENT_INDEX = "sb_conversations_agent_id_box_last_update_time"


def test_the_assignee_inboxes_use_their_index(core, ctx):
    """Migration 41 adds the index to a database that lacks it, and the "unassigned"
    and "assigned to me" pages read it (the plan names it)."""
    from sbcore.functions.conversations import routing_filter
    from sbcore import conversations as C
    from sbcore.models import Conversation
    from sbcore.schema import add_agent_inbox_index
    database = core.database
    database.execute_sql(f"DROP INDEX {AGENT_INDEX}" + (" ON sb_conversations" if dbmod.kind() == "mysql" else ""))
    assert AGENT_INDEX not in {i.name for i in database.get_indexes("sb_conversations")}
    add_agent_inbox_index(database, None)
    add_agent_inbox_index(database, None)  # idempotent
    assert AGENT_INDEX in {i.name for i in database.get_indexes("sb_conversations")}
    for condition in (Conversation.agent_id.is_null(), Conversation.agent_id == 5):
        query = C.newest_first(C.list_query().where((Conversation.box == 0) & condition)).limit(100)
        sql, params = query.sql()
        kind = dbmod.kind()
        if kind == "postgres":
            database.execute_sql("SET enable_seqscan = off")
        prefix = "EXPLAIN QUERY PLAN " if kind == "sqlite" else "EXPLAIN "
        plan = " ".join(str(cell) for row in database.execute_sql(prefix + sql, params).fetchall()
                        for cell in row)
        if kind == "postgres":
            database.execute_sql("SET enable_seqscan = on")
        if kind == "postgres":  # on empty tables its planner may take another index
            assert "Seq Scan on sb_conversations" not in plan, plan
        else:
            assert AGENT_INDEX in plan, plan


def test_a_webhook_log_page_beyond_any_offset_is_an_invalid_argument(api):
    """Schemathesis found it: a page whose offset no database holds was a 500."""
    result = api.call("get-webhook-deliveries", pagination=9223372036854775806)
    assert (result.status, result.response) == (400, "invalid-argument")
    assert api.ok("get-webhook-deliveries", pagination=0) == []
