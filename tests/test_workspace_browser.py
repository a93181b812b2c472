"""The agent workspace in a real browser (Debian's headless Chromium through
Playwright), against the app on a loopback port: an admin signs in and answers a
customer who chats in the widget; new messages arrive without a reload; customers'
markup shows as text; an agent is refused the admin pages and functions."""

import time

import pytest
import requests
from playwright.sync_api import expect

from sbcore.web import create_app
from test_widget_browser import (MARKUP, admin, browser, free_port, open_page,  # noqa: F401
                                 port, sb_config, server, serving, web_api)

pytestmark = pytest.mark.slow
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin-password"
WAIT = 15000  # generous, for a loaded machine; the page polls every 1.5 s


def sign_in(context, server, email, password, expect_ready=True):
    """Sign in as a person does (the fields, Enter); by default wait until the
    workspace's modules have started (body.ready), so that clicks are heard."""
    page, errors = open_page(context, f"{server}/admin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")
    if expect_ready:
        expect(page.locator("body.ready")).to_have_count(1, timeout=WAIT)
    return page, errors


def test_admin_answers_a_customer_who_sees_it_in_the_widget(browser, server, admin):  # noqa: F811
    customer = browser.new_context(locale="en-US")
    chat, chat_errors = open_page(customer, f"{server}/chat")
    box = chat.get_by_role("textbox", name="Write a message...")
    box.fill("Where is my parcel? " + MARKUP)
    box.press("Enter")
    expect(chat.locator(".sb-msg.sb-own")).to_have_count(1)

    desk = browser.new_context(locale="en-US")
    page, errors = sign_in(desk, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.locator('meta[name="csrf-token"]')).to_have_count(1)
    item = page.locator(".conversation-item")
    expect(item).to_have_count(1, timeout=WAIT)
    expect(item.locator(".last")).to_contain_text("Where is my parcel? <b>x</b>")
    item.click()
    first = page.locator("#messages .message")
    expect(first).to_have_count(1, timeout=WAIT)
    expect(first.locator(".body")).to_have_text("Where is my parcel? " + MARKUP)  # as text
    assert page.locator("#messages b, #messages script, #messages img").count() == 0
    assert page.evaluate("window.__sbcoreXss") is None

    page.keyboard.press("Escape")
    page.locator("body").press("r")  # the shortcut to the reply box
    reply = page.get_by_label("Reply")
    expect(reply).to_be_focused()
    reply.fill("It left our warehouse today.")
    reply.press("Enter")
    expect(page.locator("#messages .message.from-agent .body")).to_have_text(
        "It left our warehouse today.", timeout=WAIT)
    expect(reply).to_have_value("")

    # the customer sees the answer in the widget
    expect(chat.locator(".sb-msg:not(.sb-own) .sb-text")).to_have_text(
        "It left our warehouse today.", timeout=WAIT)
    # typing shows both ways
    admin("save-settings", settings={"presence-typing-seconds": 60})
    box.type("Thanks")
    expect(page.locator("#typing")).to_contain_text("is typing…", timeout=WAIT)
    reply.type("Let me")
    expect(chat.locator(".sb-typing")).to_have_text("Ada Admin is typing...", timeout=WAIT)
    reply.fill("")
    # and their next message appears in the open conversation without a reload
    box.fill("Thanks! Tracking number?")
    box.press("Enter")
    expect(page.locator("#messages .message.from-customer .body").last).to_have_text(
        "Thanks! Tracking number?", timeout=WAIT)
    expect(item.locator(".last")).to_have_text("Thanks! Tracking number?", timeout=WAIT)

    # search finds it; archive moves it out of the inbox
    page.get_by_label("Search conversations").fill("parcel")
    page.get_by_label("Search conversations").press("Enter")
    expect(page.locator(".conversation-item")).to_have_count(1, timeout=WAIT)
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("button", name="Restore")).to_be_visible(timeout=WAIT)
    conversation_id = int(admin("get-conversations", status_code=3)[0]["conversation_id"])
    assert admin("get-conversation", conversation_id=conversation_id)["details"][
        "conversation_status_code"] == "3"
    assert errors == [] and chat_errors == []
    desk.close()
    customer.close()


def test_a_new_conversation_appears_without_a_reload(browser, server, admin):  # noqa: F811
    desk = browser.new_context()
    page, errors = sign_in(desk, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.get_by_text("No conversations here.")).to_be_visible(timeout=WAIT)
    user_id = int(admin("add-user", first_name="Nina", last_name="Novak"))
    conversation_id = int(admin("new-conversation", user_id=user_id)["details"]["id"])
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message="First message")
    expect(page.locator(".conversation-item .name")).to_have_text("Nina Novak", timeout=WAIT)
    other_id = int(admin("add-user", first_name="Otto", last_name="Olsen"))
    other = int(admin("new-conversation", user_id=other_id)["details"]["id"])
    admin("send-message", user_id=other_id, conversation_id=other, message="Second")
    expect(page.locator(".conversation-item .name")).to_have_text(["Otto Olsen", "Nina Novak"], timeout=WAIT)
    # the keyboard: j / k move through the list and open the conversation
    page.locator("body").press("j")
    expect(page.locator("#conversation-title")).to_have_text("Otto Olsen", timeout=WAIT)
    page.keyboard.press("j")
    expect(page.locator("#conversation-title")).to_have_text("Nina Novak", timeout=WAIT)
    expect(page.locator('.conversation-item[aria-current="true"] .name')).to_have_text("Nina Novak")
    page.keyboard.press("k")
    expect(page.locator("#conversation-title")).to_have_text("Otto Olsen", timeout=WAIT)
    assert errors == []
    desk.close()


def test_an_agent_is_refused_admin_pages_and_functions(browser, server, admin):  # noqa: F811
    admin("add-user", first_name="Alex", email="alex@example.com", password="agent-password",
          user_type="agent")
    desk = browser.new_context()
    page, errors = sign_in(desk, server, "alex@example.com", "agent-password")
    expect(page.get_by_role("tab", name="Inbox")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Settings")).to_have_count(0)
    expect(page.get_by_role("button", name="Agents")).to_have_count(0)
    # the page's own token, an admin function: the server refuses it
    answer = page.evaluate("""async () => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const response = await fetch('/admin/api', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRF-Token': token},
            body: JSON.stringify({function: 'get-settings'})});
        return [response.status, await response.json()];
    }""")
    assert answer[0] == 403 and answer[1]["response"] == "forbidden"
    without = page.evaluate("""async () => {
        const response = await fetch('/admin/api', {method: 'POST', headers: {
            'Content-Type': 'application/json'}, body: JSON.stringify({function: 'get-conversations'})});
        return response.status;
    }""")
    assert without == 403
    assert errors == []
    desk.close()


def test_a_wrong_password_does_not_sign_in(browser, server, admin):  # noqa: F811
    desk = browser.new_context()
    page, errors = sign_in(desk, server, ADMIN_EMAIL, "not-the-password", expect_ready=False)
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.locator('meta[name="csrf-token"]')).to_have_count(0)
    assert desk.cookies() == []
    assert errors == []
    desk.close()


def test_admin_pages_and_phone_width(browser, server, admin):  # noqa: F811
    user_id = int(admin("add-user", first_name="Maria", last_name="Rossi"))
    conversation_id = int(admin("new-conversation", user_id=user_id)["details"]["id"])
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message="Hello")
    desk = browser.new_context(viewport={"width": 390, "height": 844})
    page, errors = sign_in(desk, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.locator(".conversation-item").click()
    expect(page.get_by_role("button", name="← Conversations")).to_be_visible(timeout=WAIT)
    expect(page.locator("#inbox")).to_be_hidden()
    page.get_by_role("button", name="← Conversations").click()
    expect(page.locator("#inbox")).to_be_visible()

    page.get_by_role("button", name="Agents").click()
    page.get_by_role("button", name="Add an agent").click()
    form = page.get_by_role("form", name="Add an agent")
    form.get_by_label("First name").fill("Sam")
    form.get_by_label("Email").fill("sam@example.com")
    form.get_by_label("Password").fill("sam-password")
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_role("cell", name="sam@example.com")).to_be_visible(timeout=WAIT)

    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_role("group", name="Core")).to_be_visible(timeout=WAIT)
    page.get_by_label("widget-title (text)").fill("Talk to us")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator("#status")).to_have_text("Saved 1 setting(s).", timeout=WAIT)
    assert admin("get-setting", setting="widget-title") == "Talk to us"
    # a multi-input setting is a control per key
    page.locator("#setting-welcome-message input[data-key=active]").check()
    page.locator("#setting-welcome-message input[data-key=message]").fill("Welcome!")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator("#status")).to_have_text("Saved 1 setting(s).", timeout=WAIT)
    assert admin("get-setting", setting="welcome-message") == {
        "active": True, "title": "", "message": "Welcome!"}
    assert errors == []
    desk.close()


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_conversation_tools(browser, server, admin):  # noqa: F811
    admin("save-settings", settings={"saved-replies": [{"reply-name": "Greeting", "reply-text": "Hello there!"}],
                                     "departments": [{"department-id": 7, "department-name": "Billing",
                                                      "department-color": "", "department-image": ""}]})
    agent_id = int(admin("add-user", first_name="Alex", last_name="Agent", email="alex@example.com",
                         password="agent-password", user_type="agent"))
    user_id = int(admin("add-user", first_name="Maria", last_name="Rossi", email="maria@example.com"))
    conversation_id = int(admin("new-conversation", user_id=user_id)["details"]["id"])
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message="Invoice?",
          attachments=[["scan.pdf", f"{server}/uploads/scan.pdf"]])
    desk = browser.new_context()
    page, errors = sign_in(desk, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.locator(".conversation-item").click()
    expect(page.get_by_role("link", name="scan.pdf")).to_have_attribute("href", f"{server}/uploads/scan.pdf")
    expect(page.locator("#customer")).to_contain_text("maria@example.com", timeout=WAIT)

    # a saved answer and an image attachment through /admin/upload
    page.get_by_label("Saved answer").select_option(label="Greeting")
    expect(page.get_by_label("Reply", exact=True)).to_have_value("Hello there!")
    page.get_by_label("Attach files").set_input_files(files=[{"name": "photo.png", "mimeType": "image/png",
                                                               "buffer": PNG}])
    page.get_by_role("button", name="Send").click()
    image = page.locator("#messages .from-agent .attachments img")
    expect(image).to_have_count(1, timeout=WAIT)
    assert image.get_attribute("src").startswith(f"{server}/uploads/")
    last = admin("get-conversation", conversation_id=conversation_id)["messages"][-1]
    assert last["message"] == "Hello there!" and "photo.png" in last["attachments"]

    # an internal note stays out of the conversation
    page.get_by_label("Internal note").check()
    page.get_by_label("Reply", exact=True).fill("VIP customer, be nice")
    page.get_by_label("Reply", exact=True).press("Enter")
    expect(page.locator("#notes li .body")).to_have_text("VIP customer, be nice", timeout=WAIT)
    assert [n["message"] for n in admin("get-notes", conversation_id=conversation_id)] == ["VIP customer, be nice"]
    assert len(admin("get-conversation", conversation_id=conversation_id)["messages"]) == 2

    # assignment, department, tags, trash and restore
    page.get_by_label("Agent", exact=True).select_option(label="Alex Agent")
    page.get_by_label("Department", exact=True).select_option(label="Billing")
    page.get_by_label("Tags").fill("vip, invoice")
    page.get_by_label("Tags").press("Enter")
    expect(page.locator("#status")).to_have_text("Tags saved.", timeout=WAIT)
    row = admin("get-conversations")[0]
    assert (row["agent_id"], row["department"], row["tags"]) == (str(agent_id), "7", "vip,invoice")
    page.get_by_role("button", name="Trash").click()
    expect(page.get_by_role("button", name="Restore")).to_be_visible(timeout=WAIT)
    assert admin("get-conversations", status_code=4)[0]["conversation_id"] == str(conversation_id)
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("button", name="Trash")).to_be_visible(timeout=WAIT)
    assert admin("get-conversations")[0]["conversation_id"] == str(conversation_id)
    page.get_by_role("tab", name="Trash").click()
    expect(page.get_by_text("No conversations here.")).to_be_visible(timeout=WAIT)
    assert errors == []
    desk.close()


def test_departments_and_saved_replies_pages(browser, server, admin):  # noqa: F811
    desk = browser.new_context()
    page, errors = sign_in(desk, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("button", name="Departments").click()
    page.get_by_role("button", name="Add a row").click()
    page.get_by_label("Name", exact=True).fill("Billing")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_have_text("Saved.", timeout=WAIT)
    assert admin("get-departments") == {"1": {"name": "Billing", "color": "", "image": ""}}

    page.get_by_role("button", name="Saved replies").click()
    page.get_by_role("button", name="Add a row").click()
    page.get_by_label("Name", exact=True).fill("Greeting")
    page.get_by_label("Text", exact=True).fill("Hello! <b>How</b> can I help?")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_have_text("Saved.", timeout=WAIT)
    assert admin("saved-replies") == [{"reply-name": "Greeting", "reply-text": "Hello! <b>How</b> can I help?"}]

    page.get_by_role("button", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Delivery log")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Send a test delivery").click()
    expect(page.locator("#status")).to_contain_text("webhooks-url", timeout=WAIT)  # not configured yet
    assert errors == []
    desk.close()


# --- the event stream (/admin/events) and its fallback to polling ---

POLLS = ("get-new-messages", "get-new-conversations", "is-typing")


def customer_conversation(admin, first_name, message):  # noqa: F811
    user_id = int(admin("add-user", first_name=first_name, last_name="Rossi"))
    conversation_id = int(admin("new-conversation", user_id=user_id)["details"]["id"])
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message=message)
    return user_id, conversation_id


def polls_of(page):
    """The polls the page makes from now on, as (seconds, function)."""
    made = []

    def seen(request):
        if request.url.endswith("/admin/api") and request.method == "POST":
            name = (request.post_data_json or {}).get("function")
            if name in POLLS:
                made.append((time.monotonic(), name))
    page.on("request", seen)
    return made


def test_messages_come_over_the_event_stream(browser, server, admin, tmp_path):  # noqa: F811
    user_id, conversation_id = customer_conversation(admin, "Maria", "Hello")
    desk = browser.new_context(locale="en-US")
    streams = []
    desk.on("request", lambda request: streams.append(request.url) if "/admin/events" in request.url
            else None)
    page, errors = sign_in(desk, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.locator("body")).to_have_attribute("data-stream", "up", timeout=WAIT)
    page.locator(".conversation-item").click()
    expect(page.locator("#messages .message")).to_have_count(1, timeout=WAIT)
    page.wait_for_timeout(1000)  # the one poll after opening a conversation
    polls = polls_of(page)
    page.wait_for_timeout(4600)  # polling every 1.5 s would make three of each
    assert polls == []

    # the customer types and writes (through the Web API): both arrive as events
    admin("save-settings", settings={"presence-typing-seconds": 60})
    admin("set-typing", user_id=user_id, conversation_id=conversation_id)
    expect(page.locator("#typing")).to_have_text("Maria Rossi is typing…", timeout=WAIT)
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message="Over the stream")
    expect(page.locator("#messages .message.from-customer .body").last).to_have_text(
        "Over the stream", timeout=WAIT)
    expect(page.locator("#typing")).to_have_text("")
    item = page.locator(".conversation-item")
    expect(item.locator(".last")).to_have_text("Over the stream", timeout=WAIT)
    # a new conversation, and an archived one leaves the inbox
    _, other_id = customer_conversation(admin, "Otto", "Second customer")
    expect(item.locator(".name")).to_have_text(["Otto Rossi", "Maria Rossi"], timeout=WAIT)
    admin("update-conversation-status", conversation_id=other_id, status_code=3)
    expect(item.locator(".name")).to_have_text(["Maria Rossi"], timeout=WAIT)
    names = [name for _, name in polls]
    # the open conversation fetched nothing; the inbox fetched once per burst of events
    assert "get-new-messages" not in names and "is-typing" not in names, names
    assert names.count("get-new-conversations") <= 4, names
    assert streams and streams[0] == f"{server}/admin/events"  # nothing in the URL
    page.screenshot(path=str(tmp_path / "workspace-stream.png"))
    assert errors == []
    desk.close()


def test_the_workspace_polls_when_the_stream_fails(browser, server, admin):  # noqa: F811
    user_id, conversation_id = customer_conversation(admin, "Maria", "Hello")
    desk = browser.new_context(locale="en-US")
    tries = []

    def refuse(route):
        tries.append(time.monotonic())
        route.fulfill(status=503, body="down")
    desk.route("**/admin/events*", refuse)
    page, errors = sign_in(desk, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.locator(".conversation-item").click()
    expect(page.locator("#messages .message")).to_have_count(1, timeout=WAIT)
    polls = polls_of(page)
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message="By polling")
    expect(page.locator("#messages .message.from-customer .body").last).to_have_text(
        "By polling", timeout=WAIT)
    expect(page.locator(".conversation-item .last")).to_have_text("By polling", timeout=WAIT)
    page.wait_for_timeout(3000)
    assert page.locator("body").get_attribute("data-stream") != "up"
    names = [name for _, name in polls]
    assert names.count("get-new-messages") >= 2 and names.count("get-new-conversations") >= 2, names
    # the stream is tried again with backoff (1 s, 2 s, 4 s …), not at every poll
    assert 2 <= len(tries) <= 5, tries
    assert errors == []
    desk.close()


@pytest.fixture
def short_streams(core, port):
    """A server whose streams end every 2 s, so that the page reconnects."""
    app = create_app(core=core, start_worker=False, stream_options={"heartbeat": 1, "max_seconds": 2})
    yield from serving(app, port)


def test_a_reconnect_resumes_after_the_last_event_and_misses_nothing(browser, short_streams,
                                                                     admin_token):
    admin = web_api(short_streams, admin_token)  # noqa: F811
    user_id, conversation_id = customer_conversation(admin, "Maria", "Hello")
    desk = browser.new_context(locale="en-US")
    streams, down = [], []

    def events(route):
        streams.append((route.request.url, bool(down)))
        if down:
            route.fulfill(status=503, body="down")
        else:
            route.continue_()
    desk.route("**/admin/events*", events)
    page, errors = sign_in(desk, short_streams, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.locator(".conversation-item").click()
    expect(page.locator("#messages .message")).to_have_count(1, timeout=WAIT)
    expect(page.locator("body")).to_have_attribute("data-stream", "up", timeout=WAIT)
    # from now on the open conversation can only learn of messages from the stream
    page.route("**/admin/api", lambda route: route.abort() if (
        route.request.post_data_json or {}).get("function") == "get-new-messages" else route.continue_())
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message="one")
    bodies = page.locator("#messages .message.from-customer .body")
    expect(bodies.last).to_have_text("one", timeout=WAIT)
    down.append(True)  # the stream ends (in 2 s) and cannot come back for now
    expect(page.locator("body")).to_have_attribute("data-stream", "down", timeout=WAIT)
    admin("send-message", user_id=user_id, conversation_id=conversation_id, message="two")
    page.wait_for_timeout(1500)
    expect(bodies).to_have_text(["Hello", "one"])
    down.clear()
    expect(bodies).to_have_text(["Hello", "one", "two"], timeout=WAIT)  # replayed on reconnect
    resumed = [url for url, refused in streams if not refused and "last_event_id=" in url]
    assert resumed, streams
    assert streams[0][0] == f"{short_streams}/admin/events"
    assert errors == []
    desk.close()
