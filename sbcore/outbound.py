"""The one outbound-HTTP helper: every request the server makes on a user's behalf
(webhooks, imports, integrations) goes through ``request``, which allows http and
https only and refuses loopback, private, link-local and reserved addresses unless
``SB_ALLOW_PRIVATE_NETWORK`` is on. Redirects are not followed.

The name is checked when the URL is, and the address is checked again on the socket
that connected (``GuardedAdapter``): a name that resolves to a public address for the
check and to a private one for the connection (DNS rebinding) is refused too."""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .errors import ApiError

DEFAULT_TIMEOUT = 10.0


class OutboundRefused(ValueError):
    """A URL the server will not fetch."""


def public_address(address):
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(config, url):
    """Raise OutboundRefused unless ``url`` is an http(s) URL whose host resolves only
    to public addresses (any address when private networks are allowed)."""
    if not isinstance(url, str) or not url:
        raise OutboundRefused("no URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"only http and https URLs are fetched, not {url!r}")
    if parts.username or parts.password:
        raise OutboundRefused("URLs with credentials are not fetched")
    check_host(config, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    return url


def check_host(config, host, port):
    """Raise OutboundRefused unless ``host`` resolves only to public addresses (any
    address when private networks are allowed); for the non-HTTP clients (SMTP, IMAP)."""
    if config.allow_private_network:
        return host
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundRefused(f"the host {host!r} does not resolve: {error}")
    for info in infos:
        if not public_address(info[4][0]):
            raise OutboundRefused(f"{host} resolves to the private address {info[4][0]}; "
                                  "set SB_ALLOW_PRIVATE_NETWORK to allow it")
    return host


class _CheckPeer:
    """A urllib3 connection that refuses a socket connected to a private address."""

    def _new_conn(self):
        sock = super()._new_conn()
        address = sock.getpeername()[0]
        if not public_address(address):
            sock.close()
            raise OutboundRefused(f"{self.host} connected to the private address {address}; "
                                  "set SB_ALLOW_PRIVATE_NETWORK to allow it")
        return sock


class _HTTPConnection(_CheckPeer, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_CheckPeer, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter whose connections check the address they reached."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def new_session(config, redirects=True):
    """A ``requests.Session`` for outbound calls: guarded unless private networks are
    allowed. ``redirects=False`` for libraries that call ``session.request`` themselves
    (google-auth): a redirect then fails instead of leading past the URL check."""
    value = requests.Session()
    if not redirects:
        value.max_redirects = 0
    if not config.allow_private_network:
        for prefix in ("http://", "https://"):
            value.mount(prefix, GuardedAdapter())
    return value


def request(config, method, url, timeout=DEFAULT_TIMEOUT, session=None, **kwargs):
    """``requests.request`` after the URL check, on a connection whose address is checked
    again; raises OutboundRefused or requests' own exceptions. A ``session`` should come
    from :func:`new_session`."""
    check_url(config, url)
    kwargs.setdefault("allow_redirects", False)
    if session is not None:
        return session.request(method, url, timeout=timeout, **kwargs)
    with new_session(config) as own:
        return own.request(method, url, timeout=timeout, **kwargs)


def service_url(ctx, app, setting_id):
    """The base URL of integration ``app``: the environment's ``SB_URL_<APP>`` when set,
    else the setting ``setting_id``; without a trailing slash."""
    return (ctx.config.url_overrides.get(app) or ctx.settings.get(setting_id) or "").rstrip("/")


def call_service(config, method, url, service, error_message=None, **kwargs):
    """For API functions: a refused URL is a 400, a failed or non-2xx remote a 502.
    ``error_message(response)`` may pick the service's own sentence out of its error
    body (else the body's start is quoted)."""
    try:
        response = request(config, method, url, **kwargs)
    except OutboundRefused as error:
        raise ApiError("url-not-allowed", str(error), 400)
    except requests.RequestException as error:
        raise ApiError(f"{service}-error", f"{service} could not be reached: {error}", 502)
    if not 200 <= response.status_code < 300:
        said = None
        if error_message is not None:
            try:
                said = error_message(response)
            except (ValueError, KeyError, TypeError, AttributeError, IndexError):
                said = None
        raise ApiError(f"{service}-error",
                       f"{service} answered {response.status_code}: {said or response.text[:300]}", 502,
                       remote_status=response.status_code)
    return response


def service_json(config, method, url, service, error_message=None, **kwargs):
    """``call_service`` for an API that answers a JSON object: a 2xx that is not one (an
    HTML error page from a proxy, a truncated body) is the service's failure, a 502."""
    response = call_service(config, method, url, service, error_message=error_message, **kwargs)
    body = json_body(response)
    if not isinstance(body, dict):
        raise ApiError(f"{service}-error", f"{service} answered {response.status_code} without a JSON "
                       f"object: {response.text[:200]!r}", 502, remote_status=response.status_code)
    return body


def json_body(response):
    """The JSON body of ``response``, or None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None
