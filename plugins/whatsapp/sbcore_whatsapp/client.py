"""The WhatsApp Cloud API (Graph API): sending messages and reading media, through
the core's outbound helper (the guard, timeouts, a platform error as a 502)."""

from sbcore import outbound
from sbcore.channels import meta_error

SERVICE = "whatsapp"
DEFAULT_URL = "https://graph.facebook.com/v21.0"


class CloudApi:
    """One business phone number: ``phone_id`` and its access token."""

    def __init__(self, core, phone_id, token):
        self.core = core
        self.phone_id = phone_id
        self.token = token
        self.base = outbound.service_url(core, SERVICE, "whatsapp-url")

    def call(self, method, url, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        return outbound.service_json(self.core.config, method, url, SERVICE, error_message=meta_error,
                                     headers=headers, **kwargs)

    def send(self, body):
        """``POST /{phone-number-id}/messages``: answers ``{"messaging_product",
        "contacts", "messages": [{"id"}]}``."""
        return self.call("POST", f"{self.base}/{self.phone_id}/messages", json=body)

    def media(self, media_id):
        """``GET /{media-id}``: the media's short-lived ``url`` and its ``mime_type``."""
        return self.call("GET", f"{self.base}/{media_id}")

    def auth_headers(self):
        return {"Authorization": f"Bearer {self.token}"}
