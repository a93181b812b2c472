"""Pusher Channels through the ``pusher`` SDK: trigger an event on a channel.

The SDK signs the request (``POST /apps/{app_id}/events``); its host, port and scheme
come from the base URL so that a self-hosted Channels server (soketi) or a local fake
stands in for ``api-{cluster}.pusher.com``."""

import json
from urllib.parse import urlsplit

import pusher
import pusher.errors
import requests

from .. import outbound
from ..errors import ApiError

DEFAULT_URL = "https://api-{cluster}.pusher.com"


def client(config, base_url, app_id, key, secret, cluster):
    """A ``pusher.Pusher`` on ``base_url``; ApiError when the URL or credentials cannot work."""
    base_url = base_url.replace("{cluster}", cluster)
    parts = urlsplit(base_url)
    try:
        channels_client = pusher.Pusher(app_id=app_id, key=key, secret=secret, ssl=parts.scheme == "https",
                                        host=parts.hostname, port=parts.port, timeout=outbound.DEFAULT_TIMEOUT,
                                        allow_redirects=False)
    except (ValueError, TypeError):
        raise ApiError("pusher-not-configured", "The Pusher app id is a number (setting pusher, pusher-id).", 400)
    try:
        outbound.check_url(config, base_url)
    except outbound.OutboundRefused as error:
        raise ApiError("url-not-allowed", str(error), 400)
    return channels_client


def trigger(channels_client, channel, event, data):
    """Trigger ``event`` with ``data`` on ``channel``; True, or ApiError ``pusher-error`` (502)."""
    try:
        channels_client.trigger(channel, event, data)
    except pusher.errors.PusherError as error:
        raise ApiError("pusher-error", f"pusher answered: {str(error)[:300]}", 502)
    except json.JSONDecodeError:
        raise ApiError("pusher-error", "pusher answered without JSON.", 502)
    except requests.RequestException as error:
        raise ApiError("pusher-error", f"pusher could not be reached ({type(error).__name__}).", 502)
    except ValueError as error:  # the SDK's own checks: data too large, channel name
        raise ApiError("invalid-argument", f"Pusher refuses the event: {error}", 400)
    return True
