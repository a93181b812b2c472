"""The Slack plugin against a fake Web API (responses), with the request and answer
shapes and the error bodies of Slack's method reference (docs.slack.dev/reference/methods:
chat.postMessage, conversations.create/join/archive/list, users.list, users.info,
users.getPresence) and the Events API's payloads (url_verification, event_callback with a
message event, the v0 request signature)."""

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore.models import Message
from sbcore.testing import assert_shape, reference_example, reference_webhook
from sbcore.worker import run_due_jobs
from sbcore_slack import plugin
from sbcore_slack.models import SlackChannel, SlackOutbox

API = "https://slack.com/api"
TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
OK = {"ok": True}


def channel(id_="C0EAQDV4Z", name="endeavor", **more):
    """A conversation object as conversations.create and conversations.list answer it."""
    value = {"id": id_, "name": name, "is_channel": True, "is_group": False, "is_im": False,
             "created": 1504554479, "creator": "U0123456", "is_archived": False, "is_general": False,
             "unlinked": 0, "name_normalized": name, "is_shared": False, "is_ext_shared": False,
             "is_org_shared": False, "pending_shared": [], "is_pending_ext_shared": False,
             "is_member": True, "is_private": False, "is_mpim": False, "updated": 1678229664302,
             "topic": {"value": "", "creator": "", "last_set": 0},
             "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": [], "num_members": 1}
    value.update(more)
    return value


def posted(channel_id="C0EAQDV4Z", ts="1503435956.000247", text="Hello"):
    """chat.postMessage's answer."""
    return {"ok": True, "channel": channel_id, "ts": ts,
            "message": {"bot_id": "B19LU7CSY", "subtype": "bot_message", "text": text, "ts": ts,
                        "type": "message", "username": "ecto1"}}


def member(id_, name, email, **more):
    value = {"id": id_, "team_id": "T012AB3C4", "name": name.split()[0].lower(), "deleted": False,
             "real_name": name, "is_admin": False, "is_bot": False,
             "profile": {"real_name": name, "display_name": name.split()[0], "email": email,
                         "image_48": "https://avatars.slack-edge.com/48.png"}}
    value.update(more)
    return value


MEMBERS = [member("U328T701Z", "Support Schio", "ada@example.com"),
           member("UR5F0GK7T", "Robert Pitt", "robert@example.com"),
           member("W012A3CDE", "Spengler Bot", "", is_bot=True),
           member("USLACKBOT", "Slackbot", ""),
           member("U0GONE000", "Gone Away", "gone@example.com", deleted=True)]


@pytest.fixture
def sbcore_plugins():
    return [plugin]


@pytest.fixture
def sb_config(sb_config):
    return sb_config.replace(allow_private_network=True)  # responses fakes the network


@pytest.fixture
def slack(api, core):
    api.ok("save-settings", settings={"slack": {"slack-active": True, "slack-token": TOKEN,
                                                "slack-signing-secret": SECRET}})
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client(app):
    return TestClient(app)


def body_of(call):
    return json.loads(call.request.body)


def query_of(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def events(api, name):
    return [e["data"] for e in api.ok("get-events")["events"] if e["function"] == name]


def new_user(api, first="Federico", last="Schiocchet", email="", user_type="user"):
    return api.ok("add-user", first_name=first, last_name=last, email=email, user_type=user_type)


def new_conversation(api, user_id):
    return int(api.ok("new-conversation", user_id=user_id)["details"]["id"])


# --- send-slack-message ---


def test_the_first_message_makes_the_conversations_channel_then_posts_in_it(api, slack):
    user = new_user(api)
    cid = new_conversation(api, user)
    slack.post(f"{API}/conversations.create", json={"ok": True, "channel": channel()})
    slack.post(f"{API}/chat.postMessage", json=posted())
    answer = api.ok("send-slack-message", user_id=user, full_name="Federico S.",
                    profile_image="https://example.com/fs.png", message="Hi <b> & bye",
                    attachments=[["manual.pdf", "https://example.com/manual.pdf"]], conversation_id=cid)
    assert answer == ["C0EAQDV4Z"]
    assert_shape(answer, reference_example("send-slack-message"))
    create, post = slack.calls
    assert create.request.url == f"{API}/conversations.create"
    assert create.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert create.request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert body_of(create) == {"name": f"federico-schiocchet-{cid}"}
    assert post.request.url == f"{API}/chat.postMessage"
    assert post.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert body_of(post) == {"channel": "C0EAQDV4Z", "username": "Federico S.",
                             "icon_url": "https://example.com/fs.png",
                             "text": "Hi &lt;b&gt; &amp; bye\n<https://example.com/manual.pdf|manual.pdf>"}
    [data] = events(api, "slack-message-sent")
    assert_shape(data, reference_webhook("slack-message-sent")["data"])
    assert data == {"message": "Hi <b> & bye", "conversation_id": str(cid), "slack_channel": "C0EAQDV4Z"}
    # the next message goes to the same channel without making another
    slack.post(f"{API}/chat.postMessage", json=posted(ts="1503435957.000100"))
    assert api.ok("send-slack-message", user_id=user, full_name="F", message="Again",
                  conversation_id=cid) == ["C0EAQDV4Z"]
    assert [c.request.url for c in slack.calls[2:]] == [f"{API}/chat.postMessage"]


def test_a_taken_name_gets_a_suffix_and_the_users_newest_conversation_is_used(api, slack):
    user = new_user(api)
    new_conversation(api, user)
    cid = new_conversation(api, user)
    slack.post(f"{API}/conversations.create", json={"ok": False, "error": "name_taken"})
    slack.post(f"{API}/conversations.create", json={"ok": True, "channel": channel("C0NEW0001")})
    slack.post(f"{API}/chat.postMessage", json=posted("C0NEW0001"))
    assert api.ok("send-slack-message", user_id=user, full_name="Federico", message="Hi") == ["C0NEW0001"]
    first, second = body_of(slack.calls[0])["name"], body_of(slack.calls[1])["name"]
    assert first == f"federico-schiocchet-{cid}"
    assert second.startswith(f"federico-schiocchet-{cid}-") and len(second) == len(first) + 7
    with dbmod.connection():
        assert SlackChannel.get(SlackChannel.channel == "C0NEW0001").conversation_id == cid


def test_a_given_channel_is_joined_when_the_bot_is_not_in_it(api, slack):
    user = new_user(api)
    slack.post(f"{API}/chat.postMessage", json={"ok": False, "error": "not_in_channel"})
    slack.post(f"{API}/conversations.join", json={"ok": True, "channel": channel("C011JFFGSKY")})
    slack.post(f"{API}/chat.postMessage", json=posted("C011JFFGSKY"))
    assert api.ok("send-slack-message", user_id=user, full_name="Federico", message="Hi",
                  channel="C011JFFGSKY") == ["C011JFFGSKY"]
    assert [c.request.url.rsplit("/", 1)[1] for c in slack.calls] == [
        "chat.postMessage", "conversations.join", "chat.postMessage"]
    assert body_of(slack.calls[1]) == {"channel": "C011JFFGSKY"}


def test_an_archived_channel_is_replaced(api, slack):
    user = new_user(api)
    cid = new_conversation(api, user)
    with dbmod.connection():
        SlackChannel.create(channel="C0OLD0001", user=user, conversation=cid)
    slack.post(f"{API}/chat.postMessage", json={"ok": False, "error": "is_archived"})
    slack.post(f"{API}/conversations.create", json={"ok": True, "channel": channel("C0NEW0002")})
    slack.post(f"{API}/chat.postMessage", json=posted("C0NEW0002"))
    assert api.ok("send-slack-message", user_id=user, full_name="F", message="Hi",
                  conversation_id=cid) == ["C0NEW0002"]
    with dbmod.connection():
        assert [r.channel for r in SlackChannel.select()] == ["C0NEW0002"]


def test_a_slack_error_is_a_502_with_slacks_error_and_changes_nothing(api, slack):
    user = new_user(api)
    slack.post(f"{API}/chat.postMessage", json={"ok": False, "error": "channel_not_found"})
    result = api.call("send-slack-message", user_id=user, full_name="F", message="Hi", channel="C0NOPE000")
    assert (result.status, result.response) == (502, "slack-error")
    assert "channel_not_found" in result.json["message"] and TOKEN not in result.json["message"]
    assert events(api, "slack-message-sent") == []
    slack.post(f"{API}/chat.postMessage", status=429, headers={"Retry-After": "30"},
               json={"ok": False, "error": "ratelimited"})
    result = api.call("send-slack-message", user_id=user, full_name="F", message="Hi", channel="C0NOPE000")
    assert (result.status, result.response) == (502, "slack-error")
    assert "429" in result.json["message"] and "ratelimited" in result.json["message"]


def test_missing_scope_names_the_scope(api, slack):
    slack.get(f"{API}/users.list", json={"ok": False, "error": "missing_scope", "needed": "users:read",
                                         "provided": "chat:write"})
    result = api.call("slack-users")
    assert (result.status, result.response) == (502, "slack-error")
    assert "missing_scope (needed: users:read)" in result.json["message"]


def test_not_active_and_bad_arguments(api, core):
    user = new_user(api)
    for name, fields in (("send-slack-message", {"user_id": user, "full_name": "F", "message": "Hi"}),
                         ("slack-users", {}), ("slack-channels", {}), ("slack-presence", {}),
                         ("archive-slack-channels", {})):
        result = api.call(name, **fields)
        assert (result.status, result.response) == (400, "slack-not-active"), name
    api.ok("save-settings", settings={"slack": {"slack-active": True, "slack-token": ""}})
    assert api.call("slack-users").response == "slack-not-active"  # no token: not active either
    api.ok("save-settings", settings={"slack": {"slack-active": True, "slack-token": TOKEN}})
    assert api.call("send-slack-message", user_id=user, full_name="F", message="Hi",
                    channel="#general; drop").response == "invalid-argument"
    assert api.call("send-slack-message", user_id=user, full_name="F", message=" ").response == "empty-message"
    assert api.call("send-slack-message", user_id=999999, full_name="F", message="Hi").status == 404
    bad = api.call("save-settings", settings={"slack-agents": {"not an id": "x"}})
    assert (bad.status, bad.response) == (400, "invalid-setting-value")


def test_the_base_url_setting_and_its_environment_override(api, slack, core):
    user = new_user(api)
    api.ok("save-settings", settings={"slack-url": "https://slack-proxy.example/api/"})
    slack.post("https://slack-proxy.example/api/chat.postMessage", json=posted("C011JFFGSKY"))
    api.ok("send-slack-message", user_id=user, full_name="F", message="Hi", channel="C011JFFGSKY")
    core.config = core.config.replace(url_overrides={"slack": "https://env-proxy.example/api"})
    slack.post("https://env-proxy.example/api/chat.postMessage", json=posted("C011JFFGSKY"))
    api.ok("send-slack-message", user_id=user, full_name="F", message="Hi", channel="C011JFFGSKY")
    assert [c.request.url for c in slack.calls] == ["https://slack-proxy.example/api/chat.postMessage",
                                                    "https://env-proxy.example/api/chat.postMessage"]


def test_a_private_address_is_refused(api, core):
    core.config = core.config.replace(allow_private_network=False)
    api.ok("save-settings", settings={"slack": {"slack-active": True, "slack-token": TOKEN},
                                      "slack-url": "http://127.0.0.1:9/api"})
    result = api.call("slack-channels")
    assert (result.status, result.response) == (400, "url-not-allowed")


# --- slack-users, slack-channels, slack-presence, archive-slack-channels ---


def test_slack_users_pages_through_users_list_and_links_by_setting_and_email(api, slack):
    ada = api.ok("get-users", user_types=["admin"])[0]["id"]
    robert = new_user(api, "Robert", "Pitt", "robert@example.com", "agent")
    new_user(api, "Carla", "Rossi", "carla@example.com", "agent")
    api.ok("save-settings", settings={"slack-agents": {"U328T701Z": str(ada)}})
    slack.get(f"{API}/users.list", json={"ok": True, "members": MEMBERS[:2],
                                         "response_metadata": {"next_cursor": "dXNlcjpVMEc5V0ZYTlo="}})
    slack.get(f"{API}/users.list", json={"ok": True, "members": MEMBERS[2:],
                                         "response_metadata": {"next_cursor": ""}})
    answer = api.ok("slack-users")
    assert_shape(answer, reference_example("slack-users"))
    assert answer["slack_users"] == [{"id": "U328T701Z", "name": "Support Schio"},
                                     {"id": "UR5F0GK7T", "name": "Robert Pitt"}]
    assert {"id": str(robert), "name": "Robert Pitt"} in answer["agents"]
    assert answer["saved"] == {"U328T701Z": str(ada), "UR5F0GK7T": str(robert)}
    assert query_of(slack.calls[0]) == {"limit": "200"}
    assert query_of(slack.calls[1]) == {"limit": "200", "cursor": "dXNlcjpVMEc5V0ZYTlo="}
    assert slack.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_slack_channels_answers_every_channel_including_archived_ones(api, slack):
    example = reference_example("slack-channels")
    slack.get(f"{API}/conversations.list", json={"ok": True, "channels": example["channels"][:1],
                                                 "response_metadata": {"next_cursor": "dGVhbTpDMDYxRkE1UEI="}})
    slack.get(f"{API}/conversations.list", json={"ok": True, "channels": example["channels"][1:],
                                                 "response_metadata": {"next_cursor": ""}})
    answer = api.ok("slack-channels")
    assert_shape(answer, example)
    assert answer["channels"] == example["channels"]
    assert query_of(slack.calls[0]) == {"exclude_archived": "false", "limit": "200"}
    assert query_of(slack.calls[1])["cursor"] == "dGVhbTpDMDYxRkE1UEI="


def test_slack_presence_of_one_agent_of_any_and_the_list(api, slack):
    ada = api.ok("get-users", user_types=["admin"])[0]["id"]
    robert = new_user(api, "Robert", "Pitt", "robert@example.com", "agent")
    api.ok("save-settings", settings={"slack-agents": {"U328T701Z": str(ada)}})
    presence = {"U328T701Z": "away", "UR5F0GK7T": "active"}

    def answer(request):
        return 200, {}, json.dumps({"ok": True, "presence": presence[query_of_url(request.url)["user"]]})
    slack.get(f"{API}/users.list", json={"ok": True, "members": MEMBERS, "response_metadata": {"next_cursor": ""}})
    slack.add_callback(responses.GET, f"{API}/users.getPresence", callback=answer)
    assert api.ok("slack-presence", agent_id=robert) == "online"
    assert api.ok("slack-presence", agent_id=ada) == "offline"
    assert api.ok("slack-presence", list=True) == [str(robert)]
    assert api.ok("slack-presence") == "online"
    presence["UR5F0GK7T"] = "away"
    assert api.ok("slack-presence") == "offline"
    assert api.ok("slack-presence", list=True) == []
    assert api.call("slack-presence", agent_id=999999).status == 404


def query_of_url(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_archive_slack_channels_archives_all_but_general(api, slack):
    user = new_user(api)
    with dbmod.connection():
        SlackChannel.create(channel="C0AAA0001", user=user, conversation=None)
    slack.get(f"{API}/conversations.list", json={"ok": True, "response_metadata": {"next_cursor": ""}, "channels": [
        channel("C0GENERAL", "general", is_general=True), channel("C0AAA0001", "a"),
        channel("C0BBB0002", "b", is_member=False), channel("C0CCC0003", "c")]})
    slack.post(f"{API}/conversations.archive", json=OK)
    slack.post(f"{API}/conversations.archive", json={"ok": False, "error": "not_in_channel"})
    slack.post(f"{API}/conversations.join", json={"ok": True, "channel": channel("C0BBB0002")})
    slack.post(f"{API}/conversations.archive", json=OK)
    slack.post(f"{API}/conversations.archive", json={"ok": False, "error": "cant_archive_required"})
    assert api.ok("archive-slack-channels") is True
    assert query_of(slack.calls[0]) == {"exclude_archived": "true", "limit": "200"}
    assert [(c.request.url.rsplit("/", 1)[1], body_of(c)) for c in slack.calls[1:]] == [
        ("conversations.archive", {"channel": "C0AAA0001"}), ("conversations.archive", {"channel": "C0BBB0002"}),
        ("conversations.join", {"channel": "C0BBB0002"}), ("conversations.archive", {"channel": "C0BBB0002"}),
        ("conversations.archive", {"channel": "C0CCC0003"})]
    with dbmod.connection():
        assert SlackChannel.select().count() == 0


# --- inbound: the Events API ---


def signed(body, secret=SECRET, timestamp=None):
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw,
                                 hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp,
                 "X-Slack-Signature": signature}


def post_event(client, body, **sign):
    raw, headers = signed(body, **sign)
    return client.simulate_post("/channels/slack/events", body=raw, headers=headers)


def message_event(text="Hello, I am Robert", ts="1355517523.000005", channel_id="C0EAQDV4Z", user="UR5F0GK7T",
                  event_id="Ev08MFMKH6", **more):
    event = {"type": "message", "channel": channel_id, "user": user, "text": text, "ts": ts,
             "event_ts": ts, "channel_type": "channel"}
    event.update(more)
    return {"token": "XXYYZZ", "team_id": "T123ABC456", "api_app_id": "A123ABC456", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": 1355517523,
            "authorizations": [{"team_id": "T123ABC456", "user_id": "U0BOT0001", "is_bot": True,
                                "is_enterprise_install": False}]}


@pytest.fixture
def linked(api, slack):
    """A user's conversation with its Slack channel, and an agent with the Slack user's email."""
    user = new_user(api)
    cid = new_conversation(api, user)
    agent = new_user(api, "Robert", "Pitt", "robert@example.com", "agent")
    with dbmod.connection():
        SlackChannel.create(channel="C0EAQDV4Z", user=user, conversation=cid)
    return {"user": user, "conversation": cid, "agent": agent}


def test_url_verification_answers_the_challenge(client, slack):
    body = {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"}
    result = post_event(client, body)
    assert result.status_code == 200
    assert result.text == body["challenge"] and result.headers["content-type"].startswith("text/plain")


def test_an_agents_message_in_the_channel_reaches_the_conversation_once(api, client, linked, slack):
    slack.get(f"{API}/users.info", json={"ok": True, "user": MEMBERS[1]})
    assert post_event(client, message_event("Sure &amp; fast: <https://example.com/a|the guide> &lt;3")).status_code == 200
    assert query_of(slack.calls[0]) == {"user": "UR5F0GK7T"}
    assert post_event(client, message_event("Sure")).status_code == 200  # Slack's retry: the same ts
    messages = api.ok("get-conversation", conversation_id=linked["conversation"])["messages"]
    assert [(m["message"], int(m["user_id"])) for m in messages] == [
        ("Sure & fast: the guide (https://example.com/a) <3", linked["agent"])]
    assert [e["data"]["message"] for e in api.ok("get-events")["events"] if e["function"] == "message-sent"] == [
        messages[0]["message"]]
    # the slack-agents setting links a Slack user without asking Slack for their email
    api.ok("save-settings", settings={"slack-agents": {"U328T701Z": str(linked["agent"])}})
    post_event(client, message_event("From the setting", ts="1355517524.000001", user="U328T701Z"))
    assert len(slack.calls) == 1
    assert len(api.ok("get-conversation", conversation_id=linked["conversation"])["messages"]) == 2


def test_what_is_not_an_agents_message_is_not_stored(api, client, linked, slack):
    slack.get(f"{API}/users.info", json={"ok": True, "user": member("U0STRANGR", "Who Knows", "who@example.org")})
    cases = [message_event(bot_id="B19LU7CSY", subtype="bot_message", ts="1.1"),  # our own post
             message_event(user="U0BOT0001", ts="1.2"),  # the bot user itself
             message_event(subtype="message_changed", ts="1.3"),
             message_event(channel_id="C0UNKNOWN", ts="1.4"),  # not a conversation's channel
             message_event(user="U0STRANGR", ts="1.5"),  # no agent has this email
             dict(message_event(ts="1.6"), type="app_rate_limited")]
    for body in cases:
        assert post_event(client, body).status_code == 200
    assert api.ok("get-conversation", conversation_id=linked["conversation"])["messages"] == []


def test_a_request_failing_the_signature_changes_nothing(api, client, linked, slack):
    body = message_event()
    assert post_event(client, body, secret="not-the-secret").status_code == 403
    assert post_event(client, body, timestamp=int(time.time()) - 301).status_code == 403  # replayed
    raw, headers = signed(body)
    assert client.simulate_post("/channels/slack/events", body=raw + b" ", headers=headers).status_code == 403
    assert client.simulate_post("/channels/slack/events", body=raw,
                                headers={"Content-Type": "application/json"}).status_code == 403
    headers["X-Slack-Request-Timestamp"] = "soon"
    assert client.simulate_post("/channels/slack/events", body=raw, headers=headers).status_code == 403
    api.ok("save-settings", settings={"slack": {"slack-active": True, "slack-token": TOKEN,
                                                "slack-signing-secret": ""}})
    assert post_event(client, body).status_code == 403  # no secret: nothing is accepted
    assert api.ok("get-conversation", conversation_id=linked["conversation"])["messages"] == []
    assert len(slack.calls) == 0


# --- outbound: users' messages go to Slack after the commit ---


def test_a_users_message_is_posted_by_the_worker_and_fires_the_webhook(api, core, slack):
    user = new_user(api)
    cid = new_conversation(api, user)
    agent = new_user(api, "Robert", "Pitt", "robert@example.com", "agent")
    api.ok("send-message", user_id=user, conversation_id=cid, message="I need help")
    api.ok("send-message", user_id=agent, conversation_id=cid, message="An agent's reply stays here")
    assert len(slack.calls) == 0  # nothing is sent inside the call
    with dbmod.connection():
        assert SlackOutbox.select().count() == 1
    slack.post(f"{API}/conversations.create", json={"ok": True, "channel": channel()})
    slack.post(f"{API}/chat.postMessage", json=posted())
    assert "slack-outbox" in run_due_jobs(core, force=True)
    assert body_of(slack.calls[1]) == {"channel": "C0EAQDV4Z", "text": "I need help",
                                       "username": "Federico Schiocchet"}
    with dbmod.connection():
        assert SlackOutbox.get().status == "sent"
    assert events(api, "slack-message-sent") == [
        {"message": "I need help", "conversation_id": str(cid), "slack_channel": "C0EAQDV4Z"}]
    run_due_jobs(core, force=True)
    assert len(slack.calls) == 2  # sent once


def test_a_failed_post_is_retried_later(api, core, slack):
    user = new_user(api)
    cid = new_conversation(api, user)
    with dbmod.connection():
        SlackChannel.create(channel="C0EAQDV4Z", user=user, conversation=cid)
    api.ok("send-message", user_id=user, conversation_id=cid, message="Anyone?")
    slack.post(f"{API}/chat.postMessage", status=503, body="upstream down")
    run_due_jobs(core, force=True)
    with dbmod.connection():
        row = SlackOutbox.get()
        assert (row.status, row.attempts) == ("pending", 1) and "503" in row.last_error
        SlackOutbox.update(next_attempt=0).execute()
    slack.post(f"{API}/chat.postMessage", json=posted())
    run_due_jobs(core, force=True)
    with dbmod.connection():
        assert SlackOutbox.get().status == "sent"
        assert Message.select().count() == 1
    assert len(events(api, "slack-message-sent")) == 1


def test_rows_another_worker_holds_are_never_posted_twice(api, core, slack):
    from sbcore.worker import claim_due
    user = new_user(api)
    cid = new_conversation(api, user)
    with dbmod.connection():
        SlackChannel.create(channel="C0EAQDV4Z", user=user, conversation=cid)
    api.ok("send-message", user_id=user, conversation_id=cid, message="Only once")
    with dbmod.connection():
        [held] = claim_due(SlackOutbox, time.time(), "slow-worker", 10, 300)
    run_due_jobs(core, force=True)  # a second worker while the first one is still posting
    assert len(slack.calls) == 0
    with dbmod.connection():  # the first worker's lease runs out: the row is due again
        SlackOutbox.update(lease_until=time.time() - 1).execute()
    slack.post(f"{API}/chat.postMessage", json=posted())
    run_due_jobs(core, force=True)
    assert len(slack.calls) == 1
    with dbmod.connection():
        row = SlackOutbox.get()
        assert (row.status, row.lease_until) == ("sent", 0)
        # the slow worker that lost its lease cannot overwrite what the new owner wrote
        assert SlackOutbox.update(status="pending").where(
            (SlackOutbox.id == held.id) & (SlackOutbox.lease_owner == "slow-worker")).execute() == 0


def test_nothing_is_queued_while_slack_is_off(api, core):
    user = new_user(api)
    cid = new_conversation(api, user)
    api.ok("send-message", user_id=user, conversation_id=cid, message="Hello")
    with dbmod.connection():
        assert SlackOutbox.select().count() == 0


def test_a_shared_file_is_downloaded_with_the_bot_token(api, client, linked, slack):
    slack.get(f"{API}/users.info", json={"ok": True, "user": MEMBERS[1]})
    url = "https://files.slack.com/files-pri/T123ABC456-F0S43PZDF/download/manual.pdf"
    slack.get(url, body=b"%PDF-1.4 test", content_type="application/pdf")
    files = [{"id": "F0S43PZDF", "name": "manual.pdf", "mimetype": "application/pdf", "filetype": "pdf",
              "url_private": "https://files.slack.com/files-pri/T123ABC456-F0S43PZDF/manual.pdf",
              "url_private_download": url}]
    post_event(client, message_event("Here it is", subtype="file_share", files=files))
    assert slack.calls[1].request.url == url
    assert slack.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"
    [message] = api.ok("get-conversation", conversation_id=linked["conversation"])["messages"]
    [[name, link]] = json.loads(message["attachments"])
    assert name == "manual.pdf" and link.startswith("http://testserver/uploads/channels/") and link.endswith(".pdf")


def test_a_users_channel_without_a_conversation_uses_the_newest_or_opens_one(api, client, slack):
    agent = new_user(api, "Robert", "Pitt", "robert@example.com", "agent")
    api.ok("save-settings", settings={"slack-agents": {"UR5F0GK7T": str(agent)}})
    user, other = new_user(api), new_user(api, "Carla", "Rossi")
    older, newer = new_conversation(api, user), new_conversation(api, user)
    with dbmod.connection():
        SlackChannel.create(channel="C0USER001", user=user, conversation=None)
        SlackChannel.create(channel="C0USER002", user=other, conversation=None)
    post_event(client, message_event("To the newest", channel_id="C0USER001", ts="2.1"))
    assert api.ok("get-conversation", conversation_id=older)["messages"] == []
    assert [m["message"] for m in api.ok("get-conversation", conversation_id=newer)["messages"]] == ["To the newest"]
    post_event(client, message_event("Hello there", channel_id="C0USER002", ts="2.2"))  # no conversation yet
    [row] = api.ok("get-user-conversations", user_id=other)
    assert row["message"] == "Hello there"
    with dbmod.connection():  # the channel is the new conversation's from now on
        assert SlackChannel.get(SlackChannel.channel == "C0USER002").conversation_id == int(row["conversation_id"])
        assert SlackChannel.get(SlackChannel.channel == "C0USER001").conversation_id is None
