"""The notification flow's SMS and push channels: queued in the message's transaction,
sent by the worker through Twilio and Pusher Beams (faked with responses)."""

import json
from urllib.parse import parse_qs

import pytest
import responses

from sbcore import notifications
from sbcore.testing import agents_offline, offline

SID = "AC" + "2" * 32
TWILIO = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
BEAMS = ("https://instance-1.pushnotifications.pusher.com/publish_api/v1/instances/instance-1/"
         "publishes/users")


def twilio_answer(to, body):
    return {"sid": "SM" + "3" * 32, "status": "queued", "to": to, "body": body, "from": "+15104564545",
            "account_sid": SID, "error_code": None, "error_message": None}


@pytest.fixture
def services(api, core):
    core.config = core.config.replace(allow_private_network=True)  # responses fakes the network
    api.ok("save-settings", settings={
        "sms": {"sms-active": True, "sms-user": SID, "sms-token": "token", "sms-sender": "+15104564545",
                "sms-message-agent": "{recipient_name}: {message}"},
        "push-notifications": {"push-notifications-active": True, "push-notifications-provider": "pusher",
                               "push-notifications-id": "instance-1", "push-notifications-key": "secret"},
        "notifications-sms": True, "notifications-push": True})
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def people(api):
    agent = api.ok("add-user", first_name="Ann", last_name="Agent", user_type="agent",
                   email="ann@example.com", extra={"phone": ["+15305431221", "Phone"]})
    user = api.ok("add-user", first_name="Don", last_name="John",
                  extra={"phone": ["+447700900123", "Phone"]})
    return agent, user


def test_a_users_message_texts_and_pushes_the_offline_agents(api, core, services, people,
                                                             open_conversation):
    agent, user = people
    cid = open_conversation(user)
    agents_offline(core)
    answer = api.ok("send-message", user_id=user, conversation_id=cid, message="Where is my order?")
    assert answer["notifications"] == ["push", "sms"]
    assert len(services.calls) == 0  # nothing is sent inside the request
    services.post(TWILIO, status=201, json=twilio_answer("+15305431221", "Ann Agent: Where is my order?"))
    services.post(BEAMS, json={"publishId": "pubid-1"})
    sent, failed = notifications.deliver_pending(core)
    assert (sent, failed) == (3, 0)  # an SMS to Ann; a push to Ann and to the admin
    texts = [c for c in services.calls if c.request.url == TWILIO]
    assert [parse_qs(c.request.body)["Body"] for c in texts] == [["Ann Agent: Where is my order?"]]
    assert parse_qs(texts[0].request.body)["To"] == ["+15305431221"]
    pushed = sorted(json.loads(c.request.body)["users"][0] for c in services.calls if c.request.url == BEAMS)
    admin = api.ok("get-user-by", by="email", value="admin@example.com")["id"]
    assert pushed == sorted([str(agent), str(admin)])
    body = json.loads(next(c for c in services.calls if c.request.url == BEAMS).request.body)
    assert body["web"]["notification"]["deep_link"] == f"http://testserver/?conversation={cid}"
    assert body["web"]["notification"]["body"] == "Where is my order?"
    assert [e["function"] for e in api.ok("get-events")["events"]].count("sms-sent") == 1


def test_an_agents_reply_texts_the_offline_user_without_a_push(api, core, services, people,
                                                               open_conversation):
    agent, user = people
    cid = open_conversation(user)
    offline(core, user)
    answer = api.ok("send-message", user_id=agent, conversation_id=cid, message="It ships today")
    assert answer["notifications"] == ["sms"]  # push goes to agents' devices only
    services.post(TWILIO, status=201, json=twilio_answer("+447700900123", "It ships today"))
    assert notifications.deliver_pending(core) == (1, 0)
    assert parse_qs(services.calls[0].request.body)["To"] == ["+447700900123"]


def test_the_channels_are_off_unless_their_settings_say(api, core, services, people,
                                                        open_conversation):
    agent, user = people
    api.ok("save-settings", settings={"notifications-sms": False, "notifications-push": False})
    cid = open_conversation(user)
    agents_offline(core)
    assert api.ok("send-message", user_id=user, conversation_id=cid, message="hi")["notifications"] == []
    assert notifications.deliver_pending(core) == (0, 0)


def test_a_twilio_refusal_parks_the_sms_and_a_502_is_retried(api, core, services, people,
                                                              open_conversation):
    agent, user = people
    api.ok("save-settings", settings={"notifications-push": False})
    cid = open_conversation(user)
    offline(core, user)
    api.ok("send-message", user_id=agent, conversation_id=cid, message="first")
    services.post(TWILIO, status=400, json={"code": 21211, "message": "The 'To' number is not valid.",
                                            "more_info": "https://www.twilio.com/docs/errors/21211",
                                            "status": 400})
    assert notifications.deliver_pending(core) == (0, 1)
    from sbcore import db as dbmod
    from sbcore.models import Notification
    with dbmod.connection():
        row = Notification.get()
    assert row.status == notifications.FAILED and "not valid" in row.last_error
    # a Twilio outage (503) is retried later instead
    cid = open_conversation(user)
    api.ok("send-message", user_id=agent, conversation_id=cid, message="second")
    services.post(TWILIO, status=503, body="Service Unavailable")
    assert notifications.deliver_pending(core) == (0, 1)
    with dbmod.connection():
        statuses = [n.status for n in Notification.select().order_by(Notification.id)]
    assert statuses == [notifications.FAILED, notifications.PENDING]


def test_sms_automations_are_texted_as_written(api, core, services, people, snapshot):
    agent, user = people
    api.ok("automations-save", automations={"sms": [
        {"id": "sms1", "name": "Promo", "message": "20% off today", "conditions": []}]})
    assert api.ok("automations-run", automation={"id": "sms1"}, user_id=user) is True
    no_phone = api.ok("add-user", first_name="Nophone")
    before = snapshot()
    result = api.call("automations-run", automation={"id": "sms1"}, user_id=no_phone)
    assert (result.status, result.response) == (400, "user-phone-not-found")
    assert snapshot() == before
    services.post(TWILIO, status=201, json=twilio_answer("+447700900123", "20% off today"))
    assert notifications.deliver_pending(core) == (1, 0)
    assert parse_qs(services.calls[0].request.body)["Body"] == ["20% off today"]  # no template
    assert api.ok("automations-run-all", user_id=no_phone) == []  # no phone: waits
    counts = api.ok("reports", name="sms-automations")["data"]
    assert sum(v[0] for v in counts.values()) == 1
    api.ok("save-settings", settings={"sms": {"sms-active": False}})
    result = api.call("automations-run", automation={"id": "sms1"}, user_id=agent)
    assert (result.status, result.response) == (400, "sms-not-active")


def queue_a_push(api, core, people, open_conversation):
    agent, user = people
    api.ok("save-settings", settings={"notifications-sms": False})
    cid = open_conversation(user)
    agents_offline(core)
    assert "push" in api.ok("send-message", user_id=user, conversation_id=cid, message="hello")["notifications"]


def notification_rows():
    from sbcore import db as dbmod
    from sbcore.models import Notification
    with dbmod.connection():
        return [(n.channel, n.status, n.last_error) for n in Notification.select().order_by(Notification.id)]


def test_a_push_queued_before_push_was_switched_off_fails_for_good(api, core, services, people,
                                                                     open_conversation):
    queue_a_push(api, core, people, open_conversation)
    api.ok("save-settings", settings={"push-notifications": {"push-notifications-active": False}})
    assert notifications.deliver_pending(core) == (0, 2)
    assert len(services.calls) == 0
    rows = notification_rows()
    assert [(channel, status) for channel, status, _ in rows] == [("push", notifications.FAILED)] * 2
    assert all("off" in error for _, _, error in rows)
    assert notifications.deliver_pending(core) == (0, 0)  # never retried


def test_a_onesignal_answer_that_reached_nobody_is_a_failure(api, core, services, people,
                                                             open_conversation):
    api.ok("save-settings", settings={"push-notifications": {
        "push-notifications-active": True, "push-notifications-provider": "onesignal",
        "push-notifications-id": "app-1", "push-notifications-key": "key"}})
    queue_a_push(api, core, people, open_conversation)
    services.post("https://api.onesignal.com/notifications",
                  json={"id": "", "errors": ["All included players are not subscribed"]})
    assert notifications.deliver_pending(core) == (0, 2)
    rows = notification_rows()
    assert {status for _, status, _ in rows} == {notifications.FAILED}
    assert "not subscribed" in rows[0][2]
    assert "email-sent" not in [e["function"] for e in api.ok("get-events")["events"]]
