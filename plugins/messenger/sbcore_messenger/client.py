"""The Messenger Platform's Send API and the user profile, for Facebook Pages and the
Instagram accounts linked to them (Graph API), through the core's outbound helper.
The page access token goes in the Authorization header, never in a URL."""

from sbcore import outbound
from sbcore.channels import meta_error

SERVICE = "messenger"
DEFAULT_URL = "https://graph.facebook.com/v21.0"


class PageApi:
    """One Facebook Page: its id and its page access token."""

    def __init__(self, core, page_id, token):
        self.core = core
        self.page_id = page_id
        self.token = token
        self.base = outbound.service_url(core, SERVICE, "messenger-url")

    def call(self, method, url, **kwargs):
        return outbound.service_json(self.core.config, method, url, SERVICE, error_message=meta_error,
                                     headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def send(self, body):
        """``POST /{page-id}/messages`` (the Send API): ``{"recipient_id", "message_id"}``."""
        return self.call("POST", f"{self.base}/{self.page_id}/messages", json=body)

    def profile(self, user_id, fields):
        """``GET /{psid or igsid}?fields=…``: the person's public profile."""
        return self.call("GET", f"{self.base}/{user_id}", params={"fields": fields})
