"""The WooCommerce REST API v3 (``{site}/wp-json/wc/v3/…``, the consumer key and secret
as HTTP Basic credentials) and the WordPress REST API (``{site}/wp-json/wp/v2/…``, a
user's application password), through the core's outbound helper: the private-address
guard, timeouts, no redirects, and a refusal answered as a 502 with the site's own
sentence (``{"code": "woocommerce_rest_…", "message": "…", "data": {"status": 404}}``).

Lists are paged (``page``, ``per_page`` up to 100) and the site tells how many pages
there are in ``X-WP-TotalPages``; a whole list is read page by page up to ``MAX_PAGES``.

The official ``woocommerce`` package is not used: it calls ``requests`` itself, so its
requests would skip the outbound guard; Basic authentication is all it would add."""

import logging

from sbcore import ApiError, outbound

log = logging.getLogger("sbcore.woocommerce")
PER_PAGE = 100
MAX_PAGES = 20  # a whole list is at most 2,000 items


def rest_error(response):
    """The WP REST API's error sentence with its code."""
    body = outbound.json_body(response)
    if isinstance(body, dict) and body.get("message"):
        return f"{body['message']} ({body['code']})" if body.get("code") else str(body["message"])
    return None


def site_url(ctx):
    """The site's base URL: ``SB_URL_WOOCOMMERCE`` when set, else ``woocommerce-url``."""
    return outbound.service_url(ctx, "woocommerce", "woocommerce-url")


class Site:
    """One REST namespace of the site (``wc/v3`` or ``wp/v2``) with its credentials."""

    def __init__(self, ctx, base, namespace, auth, service):
        self.config = ctx.config
        self.base = base
        self.namespace = namespace
        self.auth = auth
        self.service = service

    def url(self, path):
        return f"{self.base}/wp-json/{self.namespace}/{path.lstrip('/')}"

    def call(self, method, path, params=None, json=None):
        """The response of a request; ApiError ``<service>-error`` (502) when refused."""
        response = outbound.call_service(self.config, method, self.url(path), self.service,
                                         error_message=rest_error, params=params, json=json,
                                         auth=self.auth, headers={"Accept": "application/json"})
        return response

    def get(self, path, **params):
        """One resource (a JSON object)."""
        return self.expect(self.json(self.call("GET", path, params=clean(params))), dict, path)

    def listing(self, path, **params):
        """An unpaged list (its objects)."""
        return [item for item in self.expect(self.json(self.call("GET", path, params=clean(params))), list, path)
                if isinstance(item, dict)]

    def post(self, path, body):
        return self.expect(self.json(self.call("POST", path, json=body)), dict, path)

    def expect(self, body, kind, path):
        if not isinstance(body, kind):
            raise ApiError(f"{self.service}-error", f"{self.service} answered {path} without "
                           f"{'an object' if kind is dict else 'a list'}.", 502)
        return body

    def json(self, response):
        body = outbound.json_body(response)
        if body is None:
            raise ApiError(f"{self.service}-error", f"{self.service} answered {response.status_code} "
                           "without JSON (is the REST API reachable at this URL?).", 502)
        return body

    def pages(self, path, max_pages=MAX_PAGES, partial=False, **params):
        """Every item of a paged list, following ``X-WP-TotalPages`` up to ``max_pages``.
        A longer list is an error (never a partial list answered as a whole one), unless
        ``partial``: then the first ``max_pages`` pages, logged."""
        items, page, total = [], 1, 1
        while page <= min(total, max_pages):
            response = self.call("GET", path, params=clean({**params, "page": page, "per_page": PER_PAGE}))
            body = self.expect(self.json(response), list, path)
            items.extend(item for item in body if isinstance(item, dict))
            try:
                total = int(response.headers.get("X-WP-TotalPages") or 1)
            except ValueError:
                total = 1
            if not body:
                return items  # an empty page ends the list, whatever the store said
            page += 1
        if total > max_pages:
            if not partial:
                raise ApiError(f"{self.service}-list-too-long",
                               f"{self.service}'s {path} list has {total} pages of {PER_PAGE}; sbcore reads at "
                               f"most {max_pages * PER_PAGE} items in one call: narrow the request.", 502)
            log.warning("%s: only the first %d of %d pages were read", path, max_pages, total)
        return items

    def page(self, path, page, **params):
        """One page of a list (``page`` counted from 1)."""
        return self.listing(path, **params, page=page, per_page=PER_PAGE)


def clean(params):
    """Query parameters without the unset ones; booleans as WordPress reads them."""
    result = {}
    for key, value in params.items():
        if value is None or value == "":
            continue
        result[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return result


def woocommerce(ctx):
    """The WooCommerce REST API v3 of the configured store; ``woocommerce-not-active`` (400)
    until the URL, consumer key and consumer secret are set."""
    base = site_url(ctx)
    key = (ctx.settings.get("woocommerce-consumer-key") or "").strip()
    secret = (ctx.settings.get("woocommerce-consumer-secret") or "").strip()
    if not (base and key and secret):
        raise ApiError("woocommerce-not-active", "WooCommerce is not configured: set woocommerce-url, "
                       "woocommerce-consumer-key and woocommerce-consumer-secret.", 400)
    return Site(ctx, base, "wc/v3", (key, secret), "woocommerce")


def wordpress(ctx):
    """The WordPress REST API v2 of the same site, as the user of ``wordpress-username``
    with an application password; ``wordpress-not-active`` (400) until both are set."""
    base = site_url(ctx)
    user = (ctx.settings.get("wordpress-username") or "").strip()
    password = (ctx.settings.get("wordpress-application-password") or "").strip()
    if not (base and user and password):
        raise ApiError("wordpress-not-active", "WordPress is not configured: set woocommerce-url, "
                       "wordpress-username and wordpress-application-password.", 400)
    return Site(ctx, base, "wp/v2", (user, password), "wordpress")
