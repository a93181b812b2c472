"""pusher-trigger through the pusher SDK against a faked Channels API (responses): the
signed request, its host from the settings or SB_URL_PUSHER, and Pusher's errors."""

import hashlib
import hmac
import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

SECRET = "pusher-app-secret"
EVENTS = re.compile(r"https://api-eu\.pusher\.com(:443)?/apps/1234567/events\?.*")


@pytest.fixture
def channels(api, core):
    core.config = core.config.replace(allow_private_network=True)  # responses fakes the network
    api.ok("save-settings", settings={"pusher": {"pusher-active": True, "pusher-id": "1234567",
                                                 "pusher-key": "app-key", "pusher-secret": SECRET,
                                                 "pusher-cluster": "eu"}})
    with responses.RequestsMock() as mock:
        yield mock


def check_signature(request, app_id="1234567"):
    """Pusher's request signature, computed as the Channels HTTP API documents it."""
    parts = urlsplit(request.url)
    query = dict(parse_qsl(parts.query))
    signature = query.pop("auth_signature")
    assert query["auth_key"] == "app-key" and query["auth_version"] == "1.0"
    assert query["body_md5"] == hashlib.md5(request.body if isinstance(request.body, bytes)
                                            else request.body.encode()).hexdigest()
    signed = "\n".join(["POST", f"/apps/{app_id}/events", "&".join(f"{k}={v}" for k, v in sorted(query.items()))])
    assert signature == hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest()
    assert SECRET not in request.url


def test_trigger_sends_a_signed_event(api, channels):
    channels.add(responses.POST, EVENTS, body="{}", status=200)
    assert api.ok("pusher-trigger", channel="private-agents", event="new-message",
                  data={"conversation_id": 12, "message": "Hi"}) is True
    request = channels.calls[0].request
    assert urlsplit(request.url).path == "/apps/1234567/events"
    check_signature(request)
    assert json.loads(request.body) == {"name": "new-message", "channels": ["private-agents"],
                                        "data": json.dumps({"conversation_id": 12, "message": "Hi"})}


def test_pushers_errors_are_502_with_its_message(api, channels):
    channels.add(responses.POST, EVENTS, status=401, body="Invalid signature: Expected HMAC SHA256 hex digest")
    result = api.call("pusher-trigger", channel="agents", event="x", data={})
    assert (result.status, result.response) == (502, "pusher-error")
    assert "Invalid signature" in result.json["message"] and SECRET not in result.json["message"]
    channels.replace(responses.POST, EVENTS, status=403, body="Application is over quota")
    assert "over quota" in api.call("pusher-trigger", channel="agents", event="x", data={}).json["message"]
    channels.replace(responses.POST, EVENTS, status=500, body="Internal error")
    assert api.call("pusher-trigger", channel="agents", event="x", data={}).status == 502


def test_sb_url_pusher_points_the_sdk_at_another_host(api, core, channels):
    core.config = core.config.replace(url_overrides={"pusher": "http://127.0.0.1:6001"})
    channels.add(responses.POST, re.compile(r"http://127\.0\.0\.1:6001/apps/1234567/events\?.*"), body="{}")
    assert api.ok("pusher-trigger", channel="agents", event="ping", data="plain text") is True
    check_signature(channels.calls[0].request)
    assert json.loads(channels.calls[0].request.body)["data"] == "plain text"


@pytest.mark.parametrize("channel, event", [("", "x"), ("bad channel", "x"), ("a" * 165, "x"), ("ok", ""),
                                            ("ok", "e" * 201), ("private-encrypted-x", "x"), ("a/b", "x")])
def test_bad_channels_and_events_are_400(api, channels, channel, event):
    result = api.call("pusher-trigger", channel=channel, event=event, data={})
    assert (result.status, result.response) == (400, "invalid-argument")
    assert len(channels.calls) == 0


def test_too_much_data_is_400(api, channels):
    result = api.call("pusher-trigger", channel="agents", event="x", data={"text": "x" * 40000})
    assert (result.status, result.response) == (400, "invalid-argument")


def test_pusher_off_or_incomplete(api, core):
    result = api.call("pusher-trigger", channel="agents", event="x", data={})
    assert (result.status, result.response) == (400, "pusher-not-active")
    api.ok("save-settings", settings={"pusher": {"pusher-active": True, "pusher-id": "1", "pusher-key": "k",
                                                 "pusher-secret": SECRET}})
    result = api.call("pusher-trigger", channel="agents", event="x", data={})
    assert (result.status, result.response) == (400, "pusher-not-configured")
    assert "pusher-cluster" in result.json["message"] and SECRET not in result.json["message"]
    api.ok("save-settings", settings={"pusher": {"pusher-active": True, "pusher-id": "app", "pusher-key": "k",
                                                 "pusher-secret": SECRET, "pusher-cluster": "eu"}})
    assert api.call("pusher-trigger", channel="agents", event="x", data={}).response == "pusher-not-configured"
    api.ok("save-settings", settings={"pusher": {"pusher-active": True, "pusher-id": "1", "pusher-key": "k",
                                                 "pusher-secret": SECRET, "pusher-cluster": "eu"},
                                      "pusher-url": "http://10.0.0.1"})
    assert api.call("pusher-trigger", channel="agents", event="x", data={}).response == "url-not-allowed"


def test_the_cluster_cannot_move_the_host(api, channels):
    api.ok("save-settings", settings={"pusher": {"pusher-active": True, "pusher-id": "1", "pusher-key": "k",
                                                 "pusher-secret": SECRET, "pusher-cluster": "evil.example/x"}})
    result = api.call("pusher-trigger", channel="agents", event="x", data={})
    assert (result.status, result.response) == (400, "pusher-not-configured")
    assert len(channels.calls) == 0
