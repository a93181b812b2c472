"""push-notification and sbcore.push.send_push through Pusher Beams and OneSignal
(faked with responses): recipients from interests, the exact publish requests, the
services' answers and errors."""

import json

import pytest
import responses

from sbcore import ApiError
from sbcore.testing import assert_shape, reference_example

BEAMS = "https://instance-1.pushnotifications.pusher.com/publish_api/v1/instances/instance-1/publishes/users"
ONESIGNAL = "https://api.onesignal.com/notifications"
BEAMS_SECRET = "beams-secret-key"
ONESIGNAL_KEY = "os_v2_app_secret"


@pytest.fixture
def push(api, core):
    core.config = core.config.replace(allow_private_network=True)  # responses fakes the network

    def configure(provider):
        api.ok("save-settings", settings={"push-notifications": {
            "push-notifications-active": True, "push-notifications-provider": provider,
            "push-notifications-id": "instance-1" if provider == "pusher" else "app-uuid",
            "push-notifications-key": BEAMS_SECRET if provider == "pusher" else ONESIGNAL_KEY}})
    with responses.RequestsMock() as mock:
        mock.configure = configure
        yield mock


@pytest.fixture
def agents(api):
    api.ok("save-settings", settings={"departments": [{"department-id": 3, "department-name": "Sales"}]})
    one = api.ok("add-user", first_name="A", user_type="agent", email="a@example.com", department=3)
    two = api.ok("add-user", first_name="B", user_type="agent", email="b@example.com")
    visitor = api.ok("add-user", first_name="V")
    admin = api.ok("get-user-by", by="email", value="admin@example.com")["id"]
    return {"one": one, "two": two, "visitor": visitor, "admin": int(admin)}


def sent(call):
    return json.loads(call.request.body)


def test_beams_publishes_to_the_agents(api, core, push, agents):
    push.configure("pusher")
    push.post(BEAMS, json={"publishId": "pubid-1df0b272-910b-43f7-9271-7345036aa739"})
    conversation = api.ok("new-conversation", user_id=agents["visitor"])["details"]["id"]
    answer = api.ok("push-notification", title="New message", message="Hello", interests="agents",
                    conversation_id=conversation, icon="https://example.com/icon.png")
    assert answer == {"publishId": "pubid-1df0b272-910b-43f7-9271-7345036aa739"}
    call = push.calls[0]
    assert call.request.headers["Authorization"] == f"Bearer {BEAMS_SECRET}"
    link = f"http://testserver/?conversation={conversation}"
    assert sent(call) == {
        "users": sorted(str(i) for i in (agents["one"], agents["two"], agents["admin"])),
        "web": {"notification": {"title": "New message", "body": "Hello", "deep_link": link,
                                 "icon": "https://example.com/icon.png"}},
        "fcm": {"notification": {"title": "New message", "body": "Hello"}, "data": {"url": link}},
        "apns": {"aps": {"alert": {"title": "New message", "body": "Hello"}}, "data": {"url": link}}}


def test_interests_pick_the_recipients(api, push, agents):
    push.configure("pusher")
    push.post(BEAMS, json={"publishId": "pubid-1"})
    api.ok("push-notification", title="T", message="M", interests="department-3")
    api.ok("push-notification", title="T", message="M", interests=agents["two"])
    api.ok("push-notification", title="T", message="M", interests=[agents["two"], str(agents["one"])])
    assert [sent(c)["users"] for c in push.calls] == [
        [str(agents["one"])], [str(agents["two"])], [str(agents["two"]), str(agents["one"])]]
    assert api.call("push-notification", title="T", message="M", interests=[999]).status == 404
    assert api.call("push-notification", title="T", message="M", interests="department-9").response == "no-recipients"
    for bad in ("everyone", [True], [{"id": 1}], "department-x"):
        assert api.call("push-notification", title="T", message="M", interests=bad).status == 400
    assert api.call("push-notification", title=" ", message="M", interests="agents").status == 400
    assert api.call("push-notification", title="T", message="M", interests="agents", icon="javascript:x").status == 400
    assert api.call("push-notification", title="T", message="M", interests="agents", conversation_id=999).status == 404
    assert len(push.calls) == 3


def test_beams_errors_are_502(api, push, agents):
    push.configure("pusher")
    push.post(BEAMS, status=401, json={"error": "Unauthorized", "description": "Incorrect API Key"})
    result = api.call("push-notification", title="T", message="M", interests="agents")
    assert (result.status, result.response) == (502, "pusher-beams-error")
    assert "Unauthorized: Incorrect API Key" in result.json["message"] and BEAMS_SECRET not in result.json["message"]


def test_onesignal_targets_external_ids(api, push, agents):
    push.configure("onesignal")
    answer = {"id": "8b1c4e05-5e08-4926-86b0-a56ab7817e25", "external_id": None, "errors": {}}
    push.post(ONESIGNAL, json=answer)
    result = api.ok("push-notification", title="New message", message="Hello", interests=agents["one"])
    assert result == answer
    assert_shape(result, reference_example("push-notification"))
    call = push.calls[0]
    assert call.request.headers["Authorization"] == f"Key {ONESIGNAL_KEY}"
    assert sent(call) == {"app_id": "app-uuid", "target_channel": "push",
                          "include_aliases": {"external_id": [str(agents["one"])]},
                          "headings": {"en": "New message"}, "contents": {"en": "Hello"}}
    # nobody reachable: OneSignal answers 200 with an empty id and says why
    nobody = {"id": "", "errors": ["All included players are not subscribed"]}
    push.replace(responses.POST, ONESIGNAL, json=nobody)
    assert api.ok("push-notification", title="T", message="M", interests=agents["one"]) == nobody
    push.replace(responses.POST, ONESIGNAL, status=403, json={"errors": [
        "Access denied.  Please include an 'Authorization: ...' header with a valid API key "
        "(https://documentation.onesignal.com/docs/en/keys-and-ids#api-keys)."]})
    result = api.call("push-notification", title="T", message="M", interests=agents["one"])
    assert (result.status, result.response) == (502, "onesignal-error")
    assert "Access denied." in result.json["message"] and ONESIGNAL_KEY not in result.json["message"]


def test_off_answers_false_and_incomplete_is_400(api, core, agents):
    assert api.ok("push-notification", title="T", message="M", interests="agents") is False
    api.ok("save-settings", settings={"push-notifications": {"push-notifications-active": True}})
    result = api.call("push-notification", title="T", message="M", interests="agents")
    assert (result.status, result.response) == (400, "push-notifications-not-configured")
    result = api.call("save-settings", settings={"push-notifications": {"push-notifications-provider": "fcm"}})
    assert result.response == "invalid-setting-value"


def test_urls_are_settings_with_overrides(api, core, push, agents):
    push.configure("pusher")
    core.config = core.config.replace(url_overrides={"pusher_beams": "http://127.0.0.1:7000",
                                                     "onesignal": "http://127.0.0.1:7001"})
    push.post("http://127.0.0.1:7000/publish_api/v1/instances/instance-1/publishes/users", json={"publishId": "p"})
    api.ok("push-notification", title="T", message="M", interests="agents")
    push.configure("onesignal")
    push.post("http://127.0.0.1:7001/notifications", json={"id": "x", "external_id": None, "errors": {}})
    api.ok("push-notification", title="T", message="M", interests="agents")
    assert len(push.calls) == 2


def test_send_push_from_python(core, push, agents):
    from sbcore import db
    from sbcore.push import send_push
    push.configure("pusher")
    push.post(BEAMS, json={"publishId": "pubid-2"})
    with db.connection():
        ctx = core.context()
        assert send_push(ctx, [agents["one"], agents["one"]], "T", "M", "https://example.com/c") == {
            "publishId": "pubid-2"}
        assert sent(push.calls[0])["users"] == [str(agents["one"])]
        for user_ids in (list(range(1, 1002)), []):
            with pytest.raises(ApiError) as raised:
                send_push(ctx, user_ids, "T", "M", "")
            assert raised.value.code == "invalid-argument"
        assert len(push.calls) == 1


def test_the_instance_id_cannot_move_beams_host(api, push, agents):
    api.ok("save-settings", settings={"push-notifications": {
        "push-notifications-active": True, "push-notifications-id": "evil.example/x",
        "push-notifications-key": BEAMS_SECRET}})
    result = api.call("push-notification", title="T", message="M", interests="agents")
    assert (result.status, result.response) == (400, "push-notifications-not-configured")
    assert len(push.calls) == 0


@pytest.mark.parametrize("interests", ["²", ["１"], [10 ** 20], "department-99999999999999999999", [-1], "1.5"])
def test_odd_interests_are_400_not_500(api, push, agents, interests):
    push.configure("pusher")
    result = api.call("push-notification", title="T", message="M", interests=interests)
    assert (result.status, result.response) == (400, "invalid-argument")
