"""send-sms and sbcore.sms.send_sms through Twilio's Messages resource (faked with
responses), the templates, their translation and the sms-sent webhook."""

import base64
from urllib.parse import parse_qs

import pytest
import responses

from sbcore.testing import assert_shape, reference_example, reference_webhook

SID = "AC" + "1" * 32
TOKEN = "twilio-auth-token-secret"
URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


def twilio_message(to="+15305431221", body="A Test Message", sender="+15104564545"):
    """A Message as Twilio answers a create (201), from its API reference."""
    return {"account_sid": SID, "api_version": "2010-04-01", "body": body, "date_created":
            "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": None, "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api", "error_code": None, "error_message": None, "from": sender,
            "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
            "price_unit": None, "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{SID}/Messages/SM1f0e/Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{SID}/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"}


@pytest.fixture
def twilio(api, core):
    core.config = core.config.replace(allow_private_network=True)  # responses fakes the network
    api.ok("save-settings", settings={"sms": {"sms-active": True, "sms-user": SID, "sms-token": TOKEN,
                                              "sms-sender": "+15104564545"}})
    with responses.RequestsMock() as mock:
        yield mock


def sent_form(call):
    return {key: values if len(values) > 1 else values[0]
            for key, values in parse_qs(call.request.body).items()}


def events(api, name):
    return [e["data"] for e in api.ok("get-events")["events"] if e["function"] == name]


def test_send_sms_posts_to_twilio_and_fires_sms_sent(api, twilio):
    # the reference's answer is Twilio's Message, passed through as Twilio sends it
    message = reference_example("send-sms")
    twilio.post(URL, status=201, json=message)
    answer = api.ok("send-sms", to="+1 (530) 543-1221", message="Hello! How are you?")
    assert answer == message
    call = twilio.calls[0]
    assert call.request.url == URL
    assert call.request.headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent_form(call) == {"To": "+15305431221", "From": "+15104564545", "Body": "Hello! How are you?"}
    [data] = events(api, "sms-sent")
    assert_shape(data, reference_webhook("sms-sent")["data"])
    assert data == {"recipent_id": None, "message": "Hello! How are you?", "Body": "Hello! How are you?",
                    "From": "+15104564545", "To": "+15305431221", "response": answer}


def test_twilio_errors_are_502_with_twilios_message_and_fire_nothing(api, twilio):
    twilio.post(URL, status=400, json={"code": 21211, "message": "The 'To' number +15005550001 is not a valid "
                                       "phone number.", "more_info": "https://www.twilio.com/docs/errors/21211",
                                       "status": 400})
    result = api.call("send-sms", to="+15005550001", message="Hi")
    assert (result.status, result.response) == (502, "twilio-error")
    assert "The 'To' number +15005550001 is not a valid phone number. (error 21211)" in result.json["message"]
    assert TOKEN not in result.json["message"]
    twilio.replace(responses.POST, URL, status=401, json={"code": 20003, "message": "Authenticate",
                                                          "more_info": "https://www.twilio.com/docs/errors/20003",
                                                          "status": 401})
    result = api.call("send-sms", to="+15005550001", message="Hi")
    assert result.status == 502 and "Authenticate (error 20003)" in result.json["message"]
    assert events(api, "sms-sent") == []


def test_sms_off_or_incomplete_answers_400_without_a_request(api, core):
    core.config = core.config.replace(allow_private_network=True)
    with responses.RequestsMock() as mock:
        result = api.call("send-sms", to="+15305431221", message="Hi")
        assert (result.status, result.response) == (400, "sms-not-active")
        api.ok("save-settings", settings={"sms": {"sms-active": True, "sms-user": SID, "sms-token": TOKEN}})
        result = api.call("send-sms", to="+15305431221", message="Hi")
        assert (result.status, result.response) == (400, "sms-not-configured")
        assert "sms-sender" in result.json["message"] and TOKEN not in result.json["message"]
        assert len(mock.calls) == 0


@pytest.mark.parametrize("to", ["", "12345", "+0123456789", "555-CALL-NOW", "+1 530 543 1221 99999999",
                                "whatsapp:+15305431221"])
def test_bad_numbers_are_refused_before_twilio(api, twilio, to):
    result = api.call("send-sms", to=to, message="Hi")
    assert (result.status, result.response) == (400, "invalid-argument")
    assert len(twilio.calls) == 0


def test_bad_arguments(api, twilio):
    assert api.call("send-sms", to="+15305431221", message="  ").status == 400
    assert api.call("send-sms", to="+15305431221", message="x" * 1601).status == 400
    assert api.call("send-sms", to="+15305431221", message="Hi", conversation_id=999).status == 404
    assert api.call("send-sms", to="+15305431221", message="Hi", attachments=["ftp://x/y.png"]).status == 400
    assert api.call("send-sms", to="+15305431221", message="Hi", attachments=["https://x/a.png"] * 11).status == 400
    assert len(twilio.calls) == 0


def test_templates_translated_for_the_recipient(api, twilio):
    api.ok("save-settings", settings={"sms": {
        "sms-active": True, "sms-user": SID, "sms-token": TOKEN, "sms-sender": "MG" + "2" * 32,
        "sms-message-user": "Hi {recipient_name}: {message} Reply at https://example.com/chat{conversation_url_parameter}",
        "sms-message-agent": "[Agent] {message}"}})
    api.ok("save-translations", translations={"it": {"front": {
        "Hi {recipient_name}: {message} Reply at https://example.com/chat{conversation_url_parameter}":
        "Ciao {recipient_name}: {message} Rispondi su https://example.com/chat{conversation_url_parameter}"}}})
    user_id = api.ok("add-user", first_name="Ann", last_name="Lee",
                     extra={"phone": ["+39 333 1234567", "Phone"], "language": ["it", "Language"]})
    agent_id = api.ok("add-user", first_name="Bo", user_type="agent", email="bo@example.com",
                      extra={"phone": ["+447700900123", "Phone"]})
    conversation_id = api.ok("new-conversation", user_id=user_id)["details"]["id"]
    twilio.post(URL, status=201, json=twilio_message())
    api.ok("send-sms", to="+39 333 1234567", message="{recipient_name}, your order shipped.",
           conversation_id=conversation_id, attachments=[["invoice.pdf", "https://example.com/i.pdf"]])
    form = sent_form(twilio.calls[-1])
    assert form["Body"] == (f"Ciao Ann Lee: Ann Lee, your order shipped. Rispondi su "
                            f"https://example.com/chat?conversation={conversation_id}")
    assert form["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in form
    assert form["To"] == "+393331234567" and form["MediaUrl"] == "https://example.com/i.pdf"
    api.ok("send-sms", to="+447700900123", message="New message {message}")
    assert sent_form(twilio.calls[-1])["Body"] == "[Agent] New message {message}"
    api.ok("send-sms", to="+447700900123", message="Plain", template=False)
    assert sent_form(twilio.calls[-1])["Body"] == "Plain"
    recipients = [data["recipent_id"] for data in events(api, "sms-sent")]
    assert recipients == [str(user_id), str(agent_id), str(agent_id)]


def test_the_base_url_is_a_setting_and_sb_url_twilio_overrides_it(api, core, twilio):
    api.ok("save-settings", settings={"sms-url": "https://twilio-proxy.example/"})
    proxied = f"https://twilio-proxy.example/2010-04-01/Accounts/{SID}/Messages.json"
    twilio.post(proxied, status=201, json=twilio_message())
    api.ok("send-sms", to="+15305431221", message="Hi")
    core.config = core.config.replace(url_overrides={"twilio": "https://fake-twilio.test"})
    twilio.post(f"https://fake-twilio.test/2010-04-01/Accounts/{SID}/Messages.json", status=201,
                json=twilio_message())
    api.ok("send-sms", to="+15305431221", message="Hi")
    assert [c.request.url for c in twilio.calls] == [
        proxied, f"https://fake-twilio.test/2010-04-01/Accounts/{SID}/Messages.json"]


def test_send_sms_refuses_private_addresses_unless_allowed(api, core):
    api.ok("save-settings", settings={"sms": {"sms-active": True, "sms-user": SID, "sms-token": TOKEN,
                                              "sms-sender": "+15104564545"},
                                      "sms-url": "http://127.0.0.1:9"})
    result = api.call("send-sms", to="+15305431221", message="Hi")
    assert (result.status, result.response) == (400, "url-not-allowed")


def test_sms_settings_are_checked(api):
    for bad in ({"sms-active": "yes"}, {"sms-password": "x"}, {"sms-user": 12}):
        result = api.call("save-settings", settings={"sms": bad})
        assert (result.status, result.response) == (400, "invalid-setting-value")


def test_send_sms_from_python_for_the_notification_flow(core, twilio, api):
    from sbcore import db
    from sbcore.sms import send_sms
    twilio.post(URL, status=201, json=twilio_message())
    with db.connection():
        assert send_sms(core.context(), "+15305431221", "From the flow")["sid"].startswith("SM")
    assert sent_form(twilio.calls[0])["Body"] == "From the flow"
    assert [d["message"] for d in events(api, "sms-sent")] == ["From the flow"]
