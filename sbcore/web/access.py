"""Who is asking: the one place that decides whether an HTTP request comes from an
admin, for what only admins may fetch outside the Web API (exports under /uploads/)."""

from .fields import bearer_token


def request_admin(core, req):
    """The id of the admin making ``req``, or None: an admin token as
    ``Authorization: Bearer <token>`` (never from the query string). The agent
    workspace's session is to be accepted here too, so that every such check follows."""
    token = bearer_token(req)
    if token:
        return core.admin_for_token(token)
    return None
