"""newsletter through Mailchimp, Brevo, SendGrid and MailerLite (faked with responses):
the exact request each service gets, its real answers and its real error bodies."""

import base64
import hashlib
import json

import pytest
import responses

KEY = {"mailchimp": "0123456789abcdef0123456789abcdef-us6", "brevo": "xkeysib-secret-brevo-key",
       "sendgrid": "SG.secret-sendgrid-key", "mailerlite": "eyJ0eXAiOiJKV1Qi.secret-mailerlite"}
MEMBER = hashlib.md5(b"ann@example.com").hexdigest()


@pytest.fixture
def service(api, core):
    core.config = core.config.replace(allow_private_network=True)  # responses fakes the network

    def configure(name, list_id):
        api.ok("save-settings", settings={"newsletter": {
            "newsletter-active": True, "newsletter-service": name, "newsletter-key": KEY[name],
            "newsletter-list-id": list_id}})
    with responses.RequestsMock() as mock:
        mock.configure = configure
        yield mock


def body(call):
    return json.loads(call.request.body)


def test_mailchimp_upserts_the_member(api, service):
    service.configure("mailchimp", "a1b2c3d4e5")
    url = f"https://us6.api.mailchimp.com/3.0/lists/a1b2c3d4e5/members/{MEMBER}"
    member = {"id": MEMBER, "email_address": "ann@example.com", "unique_email_id": "8d3a3c1c4c",
              "status": "subscribed", "merge_fields": {"FNAME": "Ann", "LNAME": "Lee"}, "list_id": "a1b2c3d4e5"}
    service.put(url, json=member)
    assert api.ok("newsletter", email="Ann@Example.com", first_name="Ann", last_name="Lee") == member
    call = service.calls[0]
    assert call.request.method == "PUT" and call.request.url == url
    assert call.request.headers["Authorization"] == "Basic " + base64.b64encode(
        f"sbcore:{KEY['mailchimp']}".encode()).decode()
    assert body(call) == {"email_address": "ann@example.com", "status_if_new": "subscribed",
                          "merge_fields": {"FNAME": "Ann", "LNAME": "Lee"}}
    api.ok("newsletter", email="ann@example.com")  # no names: the stored ones are left alone
    assert body(service.calls[1]) == {"email_address": "ann@example.com", "status_if_new": "subscribed"}


def test_mailchimp_errors_carry_its_title_and_detail(api, service):
    service.configure("mailchimp", "a1b2c3d4e5")
    url = f"https://us6.api.mailchimp.com/3.0/lists/a1b2c3d4e5/members/{MEMBER}"
    service.put(url, status=400, json={
        "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "Member Exists",
        "status": 400, "detail": "ann@example.com is already a list member. Use PUT to insert or update list members.",
        "instance": "85c2fcb7-c094-4d00-85d8-3db71bff8622"})
    result = api.call("newsletter", email="ann@example.com")
    assert (result.status, result.response) == (502, "mailchimp-error")
    assert "Member Exists: ann@example.com is already a list member." in result.json["message"]
    service.replace(responses.PUT, url, status=400, json={
        "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "Invalid Resource",
        "status": 400, "detail": "The resource submitted could not be validated.", "instance": "x",
        "errors": [{"field": "email_address", "message": "This value should be a valid email."}]})
    result = api.call("newsletter", email="ann@example.com")
    assert "Invalid Resource: The resource submitted could not be validated. (email_address: This value " \
           "should be a valid email.)" in result.json["message"]
    service.replace(responses.PUT, url, status=401, json={
        "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "API Key Invalid",
        "status": 401, "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        "instance": "y"})
    result = api.call("newsletter", email="ann@example.com")
    assert "API Key Invalid" in result.json["message"] and KEY["mailchimp"] not in result.json["message"]


def test_mailchimp_needs_a_data_centre_and_a_list(api, service):
    api.ok("save-settings", settings={"newsletter": {"newsletter-active": True, "newsletter-key": "nodc",
                                                     "newsletter-list-id": "x"}})
    result = api.call("newsletter", email="ann@example.com")
    assert (result.status, result.response) == (400, "newsletter-not-configured")
    assert len(service.calls) == 0


def test_brevo_creates_or_updates_the_contact(api, service):
    service.configure("brevo", "36")
    service.post("https://api.brevo.com/v3/contacts", status=201, json={"id": 21})
    assert api.ok("newsletter", email="ann@example.com", first_name="Ann") == {"id": 21}
    call = service.calls[0]
    assert call.request.headers["api-key"] == KEY["brevo"] and call.request.headers["Accept"] == "application/json"
    assert body(call) == {"email": "ann@example.com", "updateEnabled": True, "attributes": {"FIRSTNAME": "Ann"},
                          "listIds": [36]}
    service.replace(responses.POST, "https://api.brevo.com/v3/contacts", status=204)
    assert api.ok("newsletter", email="ann@example.com") is True  # updated: no content
    service.replace(responses.POST, "https://api.brevo.com/v3/contacts", status=400,
                    json={"code": "duplicate_parameter",
                          "message": "Unable to create contact, SMS is already associated with another Contact"})
    result = api.call("newsletter", email="ann@example.com")
    assert (result.status, result.response) == (502, "brevo-error")
    assert result.json["message"].endswith("Unable to create contact, SMS is already associated with another "
                                           "Contact (duplicate_parameter)")
    service.replace(responses.POST, "https://api.brevo.com/v3/contacts", status=401,
                    json={"message": "Key not found", "code": "unauthorized"})
    assert "Key not found (unauthorized)" in api.call("newsletter", email="ann@example.com").json["message"]


def test_brevo_list_ids_are_numbers(api, service):
    service.configure("brevo", "newsletter")
    assert api.call("newsletter", email="ann@example.com").response == "newsletter-not-configured"


def test_sendgrid_upserts_the_contact(api, service):
    service.configure("sendgrid", "ca7a3796-e8a8-4029-9ccb-df8937940562")
    url = "https://api.sendgrid.com/v3/marketing/contacts"
    service.put(url, status=202, json={"job_id": "2387e363-4104-4225-8960-4a5758492351"})
    assert api.ok("newsletter", email="ann@example.com", first_name="Ann", last_name="Lee") == {
        "job_id": "2387e363-4104-4225-8960-4a5758492351"}
    call = service.calls[0]
    assert call.request.headers["Authorization"] == f"Bearer {KEY['sendgrid']}"
    assert body(call) == {"list_ids": ["ca7a3796-e8a8-4029-9ccb-df8937940562"], "contacts": [
        {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee"}]}
    service.replace(responses.PUT, url, status=400, json={"errors": [
        {"field": "contacts[0].email", "message": "must include a valid email address"}]})
    result = api.call("newsletter", email="ann@example.com")
    assert (result.status, result.response) == (502, "sendgrid-error")
    assert "contacts[0].email: must include a valid email address" in result.json["message"]
    service.replace(responses.PUT, url, status=401, json={"errors": [{"field": None,
                                                                      "message": "authorization required"}]})
    assert "401: authorization required" in api.call("newsletter", email="ann@example.com").json["message"]


def test_mailerlite_upserts_the_subscriber(api, service):
    service.configure("mailerlite", "171347547518928518")
    url = "https://connect.mailerlite.com/api/subscribers"
    answer = {"data": {"id": "31897397363737859", "email": "ann@example.com", "status": "active", "source": "api",
                       "fields": {"name": "Ann", "last_name": "Lee"}, "groups": []}}
    service.post(url, status=201, json=answer)
    assert api.ok("newsletter", email="ann@example.com", first_name="Ann", last_name="Lee") == answer
    call = service.calls[0]
    assert call.request.headers["Authorization"] == f"Bearer {KEY['mailerlite']}"
    assert body(call) == {"email": "ann@example.com", "fields": {"name": "Ann", "last_name": "Lee"},
                          "groups": ["171347547518928518"]}
    service.replace(responses.POST, url, status=422, json={
        "message": "The email must be a valid email address.",
        "errors": {"email": ["The email must be a valid email address."]}})
    result = api.call("newsletter", email="ann@example.com")
    assert (result.status, result.response) == (502, "mailerlite-error")
    assert "422: The email must be a valid email address. (email: The email must be a valid email address.)" \
        in result.json["message"]
    service.replace(responses.POST, url, status=401, json={"message": "Unauthenticated."})
    assert "401: Unauthenticated." in api.call("newsletter", email="ann@example.com").json["message"]


def test_sb_url_newsletter_overrides_the_chosen_services_url(api, core, service):
    service.configure("mailerlite", "")
    api.ok("save-settings", settings={"newsletter-mailerlite-url": "https://ml-proxy.example/api"})
    service.post("https://ml-proxy.example/api/subscribers", json={"data": {"id": "1"}})
    api.ok("newsletter", email="ann@example.com")
    assert body(service.calls[0]) == {"email": "ann@example.com"}
    core.config = core.config.replace(url_overrides={"newsletter": "http://127.0.0.1:8025"})
    service.post("http://127.0.0.1:8025/subscribers", json={"data": {"id": "1"}})
    api.ok("newsletter", email="ann@example.com")
    assert service.calls[1].request.url == "http://127.0.0.1:8025/subscribers"


def test_newsletter_off_bad_email_and_bad_settings(api, service):
    result = api.call("newsletter", email="ann@example.com")
    assert (result.status, result.response) == (200, False)  # off: Support Board 3.8's false
    service.configure("sendgrid", "")
    for email in ("", "not-an-email", "a@b"):
        assert api.call("newsletter", email=email).status == 400
    assert api.call("newsletter", email="ann@example.com", first_name="x" * 192).status == 400
    api.ok("save-settings", settings={"newsletter": {"newsletter-active": True, "newsletter-key": " "}})
    assert api.call("newsletter", email="ann@example.com").response == "newsletter-not-configured"
    result = api.call("save-settings", settings={"newsletter": {"newsletter-service": "mailgun"}})
    assert (result.status, result.response) == (400, "invalid-setting-value")
    assert len(service.calls) == 0


def test_a_key_cannot_move_mailchimps_host(api, service):
    for key in ("secret-evil.example/x", "secret-us6.evil.example", "secret-"):
        api.ok("save-settings", settings={"newsletter": {"newsletter-active": True, "newsletter-key": key,
                                                         "newsletter-list-id": "a1"}})
        assert api.call("newsletter", email="ann@example.com").response == "newsletter-not-configured"
    assert len(service.calls) == 0
