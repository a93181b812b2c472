"""Newsletter services: add (or update) one subscriber. Each function sends the
service's own request and answers its JSON (True for an empty success); a refusal is
ApiError ``<service>-error`` (502) with the service's own message.

- Mailchimp: ``PUT {base}/lists/{list}/members/{md5(lower email)}``, HTTP basic auth with
  the API key (its ``-usN`` suffix is the data centre, ``{dc}`` in the base URL), body
  ``{"email_address", "status_if_new": "subscribed", "merge_fields": {"FNAME", "LNAME"}}``;
  errors ``{"type", "title", "status", "detail", "instance"}``.
- Brevo (Sendinblue): ``POST {base}/contacts``, header ``api-key``, body ``{"email",
  "attributes": {"FIRSTNAME", "LASTNAME"}, "listIds": [n], "updateEnabled": true}``;
  201 ``{"id"}`` or 204 (updated); errors ``{"code", "message"}``.
- SendGrid: ``PUT {base}/marketing/contacts``, ``Authorization: Bearer``, body
  ``{"list_ids": […], "contacts": [{"email", "first_name", "last_name"}]}``; 202
  ``{"job_id"}``; errors ``{"errors": [{"field", "message"}]}``.
- MailerLite: ``POST {base}/subscribers``, ``Authorization: Bearer``, body ``{"email",
  "fields": {"name", "last_name"}, "groups": [id]}``; 200/201 ``{"data": {…}}``; errors
  ``{"message", "errors": {field: [text]}}``."""

import hashlib
import re
from urllib.parse import quote

from .. import outbound
from ..errors import ApiError

DATA_CENTRE = re.compile(r"^[a-z]{2,4}[0-9]{1,3}$")


def _answer(response):
    body = outbound.json_body(response)
    return True if body in (None, "", {}) else body


def _mailchimp_error(response):
    body = outbound.json_body(response)
    text = ": ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        text += " (" + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors) + ")"
    return text


def mailchimp(config, base_url, key, list_id, email, first_name, last_name):
    centre = key.rsplit("-", 1)[1] if "-" in key else ""
    if not DATA_CENTRE.match(centre) or not list_id:
        raise ApiError("newsletter-not-configured", "Mailchimp needs an API key ending in its data "
                       "centre (…-us6) and an audience (list) id.", 400)
    base = base_url.replace("{dc}", centre)
    member = hashlib.md5(email.lower().encode()).hexdigest()
    body = {"email_address": email, "status_if_new": "subscribed"}
    names = {k: v for k, v in (("FNAME", first_name), ("LNAME", last_name)) if v}
    if names:
        body["merge_fields"] = names
    response = outbound.call_service(config, "PUT", f"{base}/lists/{quote(list_id, safe='')}/members/{member}",
                                     "mailchimp", error_message=_mailchimp_error, json=body, auth=("sbcore", key))
    return _answer(response)


def _brevo_error(response):
    body = outbound.json_body(response)
    return f"{body['message']} ({body['code']})" if body.get("code") else body["message"]


def brevo(config, base_url, key, list_id, email, first_name, last_name):
    if list_id and not list_id.isdecimal():
        raise ApiError("newsletter-not-configured", "A Brevo list id is a number.", 400)
    body = {"email": email, "updateEnabled": True}
    names = {k: v for k, v in (("FIRSTNAME", first_name), ("LASTNAME", last_name)) if v}
    if names:
        body["attributes"] = names
    if list_id:
        body["listIds"] = [int(list_id)]
    response = outbound.call_service(config, "POST", f"{base_url}/contacts", "brevo", error_message=_brevo_error,
                                     json=body, headers={"api-key": key, "Accept": "application/json"})
    return _answer(response)


def _sendgrid_error(response):
    errors = outbound.json_body(response)["errors"]
    return "; ".join((f"{e['field']}: " if e.get("field") else "") + str(e.get("message")) for e in errors)


def sendgrid(config, base_url, key, list_id, email, first_name, last_name):
    contact = {"email": email}
    contact.update({k: v for k, v in (("first_name", first_name), ("last_name", last_name)) if v})
    body = {"contacts": [contact]}
    if list_id:
        body["list_ids"] = [list_id]
    response = outbound.call_service(config, "PUT", f"{base_url}/marketing/contacts", "sendgrid",
                                     error_message=_sendgrid_error, json=body,
                                     headers={"Authorization": f"Bearer {key}"})
    return _answer(response)


def _mailerlite_error(response):
    body = outbound.json_body(response)
    text = body["message"]
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        text += " (" + "; ".join(f"{field}: {' '.join(map(str, why))}" for field, why in errors.items()) + ")"
    return text


def mailerlite(config, base_url, key, list_id, email, first_name, last_name):
    body = {"email": email}
    names = {k: v for k, v in (("name", first_name), ("last_name", last_name)) if v}
    if names:
        body["fields"] = names
    if list_id:
        body["groups"] = [list_id]
    response = outbound.call_service(config, "POST", f"{base_url}/subscribers", "mailerlite",
                                     error_message=_mailerlite_error, json=body,
                                     headers={"Authorization": f"Bearer {key}", "Accept": "application/json"})
    return _answer(response)


# service name: (default base URL, subscribe function)
SERVICES = {
    "mailchimp": ("https://{dc}.api.mailchimp.com/3.0", mailchimp),
    "brevo": ("https://api.brevo.com/v3", brevo),
    "sendgrid": ("https://api.sendgrid.com/v3", sendgrid),
    "mailerlite": ("https://connect.mailerlite.com/api", mailerlite),
}
