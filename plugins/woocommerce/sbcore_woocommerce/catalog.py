"""WooCommerce: categories and tags, attributes and their terms, coupons, payment
methods, shipping locations and the store's URLs, in the reference's shapes."""

import html
import logging
import re
import secrets
import string
from datetime import timedelta

from sbcore import AGENT, ApiError, FunctionSet
from sbcore.db import utcnow
from sbcore.errors import invalid_argument
from sbcore.users import require_user

from .client import woocommerce
from .functions import ID, given, gmt, ident, object_id, product_of, text

log = logging.getLogger("sbcore.woocommerce")

functions = FunctionSet()
TAXONOMIES = {"category": "products/categories", "tag": "products/tags"}
BATCH = 100  # WooCommerce's limit of objects per batch request
USER_META = "sbcore_user_id"  # the coupon's meta that links it to an sbcore user
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 2592000,
         "year": 31536000}
EXPIRATION = re.compile(r"^\s*([0-9]{1,9})\s*(second|minute|hour|day|week|month|year)s?\s*$", re.I)


def name_of(resource):
    return html.unescape(text(resource.get("name")))


# --- categories and tags ---


def terms_of(store, kind, language=None):
    return store.pages(TAXONOMIES[kind], lang=language)


def find_taxonomy(store, value, language=None):
    """``("category"|"tag", id)`` of a category or tag given by id, name or slug, or None."""
    wanted = value.strip().lower()
    for kind in ("category", "tag"):
        for term in terms_of(store, kind, language):
            if wanted in (text(term.get("id")), name_of(term).lower(), text(term.get("slug")).lower()):
                return kind, ident(term)
    return None


@functions("woocommerce-get-taxonomies", transaction=False)
def woocommerce_get_taxonomies(ctx, type: str, language: str | bool = False):
    if type not in TAXONOMIES:
        raise invalid_argument("type", "category or tag.")
    terms = terms_of(woocommerce(ctx), type, given(language))
    return [{"id": text(t.get("id")), "name": name_of(t), "slug": text(t.get("slug"))} for t in terms
            if not (type == "category" and t.get("slug") == "uncategorized")]


# --- attributes ---


def attributes_of(store, language=None, with_terms=True):
    """``{slug without pa_: {"id", "name", "slug", "terms": {term slug: term name}}}``; one
    request for the attributes and, with terms, one per attribute (the API has no other way)."""
    result = {}
    for attribute in store.listing("products/attributes", lang=language):
        slug = text(attribute.get("slug"))
        entry = {"id": text(attribute.get("id")), "name": name_of(attribute), "slug": slug}
        if with_terms:
            entry["terms"] = {text(t.get("slug")): name_of(t) for t in
                              store.pages(f"products/attributes/{ident(attribute)}/terms", lang=language)}
        result[slug[3:] if slug.startswith("pa_") else slug] = entry
    return result


def brief(attribute):
    return {"id": attribute["id"], "name": attribute["name"], "slug": attribute["slug"]}


def find_attribute_term(store, term_name, language=None):
    """``(attribute slug, term id)`` of the attribute term named ``term_name``, or None."""
    wanted = term_name.strip().lower()
    for attribute in store.listing("products/attributes", lang=language):
        for term in store.pages(f"products/attributes/{ident(attribute)}/terms", lang=language):
            if name_of(term).lower() == wanted or text(term.get("slug")).lower() == wanted:
                return text(attribute.get("slug")), ident(term)
    return None


@functions("woocommerce-get-attributes", transaction=False)
def woocommerce_get_attributes(ctx, type: str | bool = False, language: str | bool = False):
    """``terms``: every term's name; ``attribute`` (or ``attributes``): the attributes;
    else both, keyed by the attribute's slug."""
    type, language = given(type), given(language)
    if type not in (None, "all", "terms", "attribute", "attributes"):
        raise invalid_argument("type", "terms, attribute or nothing (all).")
    store = woocommerce(ctx)
    if type in ("attribute", "attributes"):
        return [brief(a) for a in attributes_of(store, language, with_terms=False).values()]
    attributes = attributes_of(store, language)
    if type == "terms":
        return [{"name": name} for a in attributes.values() for name in a["terms"].values()]
    return attributes


@functions("woocommerce-get-attribute-by-name", transaction=False)
def woocommerce_get_attribute_by_name(ctx, name: str):
    wanted = name.strip().lower()
    for attribute in attributes_of(woocommerce(ctx), with_terms=False).values():
        if attribute["name"].lower() == wanted:
            return brief(attribute)
    return False


@functions("woocommerce-get-attribute-by-term", transaction=False)
def woocommerce_get_attribute_by_term(ctx, term_name: str):
    wanted = term_name.strip().lower()
    for attribute in attributes_of(woocommerce(ctx)).values():
        if any(name.lower() == wanted for name in attribute["terms"].values()):
            return brief(attribute)
    return False


@functions("woocommerce-get-product-taxonomies", transaction=False)
def woocommerce_get_product_taxonomies(ctx, product_id: str):
    """The product's categories, tags and terms of global attributes, as WordPress terms.
    The REST API does not expose ``term_group`` (WordPress's alias groups, 0 unless a
    plugin uses them): it is answered as "0"."""
    store = woocommerce(ctx)
    product = product_of(store, product_id)

    def term(item, taxonomy):
        return {"term_id": text(item.get("id")), "name": name_of(item), "slug": text(item.get("slug")),
                "term_group": "0", "taxonomy": taxonomy}
    result = [term(c, "product_cat") for c in product.get("categories") or [] if isinstance(c, dict)]
    result += [term(t, "product_tag") for t in product.get("tags") or [] if isinstance(t, dict)]
    for attribute in product.get("attributes") or []:
        if not isinstance(attribute, dict) or not attribute.get("id"):
            continue  # a custom attribute of this product only: its options are no terms
        options = {html.unescape(text(o)).lower() for o in attribute.get("options") or []}
        slug = attributes_slug(store, ident(attribute))
        for item in store.pages(f"products/attributes/{ident(attribute)}/terms"):
            if name_of(item).lower() in options:
                result.append(term(item, slug))
    return result


def attributes_slug(store, attribute_id):
    return text(store.get(f"products/attributes/{attribute_id}").get("slug"))


# --- coupons ---


def expiration_seconds(expiration):
    match = EXPIRATION.match(expiration or "")
    if not match or int(match.group(1)) == 0:
        raise invalid_argument("expiration", "an amount and a unit, such as 3 days, 1 minutes or 60 seconds.")
    return int(match.group(1)) * UNITS[match.group(2).lower()]


def discount_value(discount):
    value = str(discount).strip()
    if not re.match(r"^[0-9]{1,3}(\.[0-9]{1,2})?$", value) or not 1 <= float(value) <= 100:
        raise invalid_argument("discount", "a percentage from 1 to 100.")
    return value


@functions("woocommerce-coupon", transaction=False)
def woocommerce_coupon(ctx, discount: str, expiration: str, product_id: str | int = "",
                       user_id: int | bool | None = None):
    """A single-use percentage coupon that expires after ``expiration``; with
    ``product_id``, for those products only; with ``user_id``, linked to the user (meta
    ``sbcore_user_id``) and, when the user has an email, usable by that email only."""
    amount = discount_value(discount)
    seconds = expiration_seconds(expiration)
    product_ids = [object_id("product_id", part) for part in str(product_id).split(",") if part.strip()]
    body = {"code": "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12)),
            "discount_type": "percent", "amount": amount, "individual_use": True, "usage_limit": 1,
            "date_expires_gmt": (utcnow() + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S"),
            "product_ids": product_ids}
    if user_id not in (None, False):
        user = require_user(user_id)
        body["meta_data"] = [{"key": USER_META, "value": str(user.id)}]
        body["description"] = f"Support coupon of user {user.id} ({USER_META} {user.id})"
        if user.email:
            body["email_restrictions"] = [user.email]
    coupon = woocommerce(ctx).post("coupons", body)
    return [text(coupon.get("code") or body["code"]), amount]


def linked_user(coupon):
    for meta in coupon.get("meta_data") or []:
        if isinstance(meta, dict) and meta.get("key") == USER_META:
            return text(meta.get("value"))
    return None


def expired(coupon, now):
    expires = gmt(coupon, "date_expires")
    return expires is not None and expires < now


@functions("woocommerce-coupon-check", transaction=False)
def woocommerce_coupon_check(ctx, user_id: int):
    """True when a coupon that has not expired is linked to the user (searched by the
    description woocommerce-coupon writes, confirmed by its meta)."""
    user = require_user(user_id)
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S")
    coupons = woocommerce(ctx).pages("coupons", search=f"{USER_META} {user.id})")
    return any(linked_user(c) == str(user.id) and not expired(c, now) for c in coupons)


def delete_expired(ctx):
    """Delete every coupon whose expiry date has passed, 100 a batch request (the
    first 2,000 coupons a run; the next run goes on). Answers (deleted, failures): the
    batch endpoint answers 200 with an ``error`` on each item it could not delete."""
    store = woocommerce(ctx)
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S")
    ids = [ident(c) for c in store.pages("coupons", partial=True) if expired(c, now)]
    deleted, failures = 0, []
    for start in range(0, len(ids), BATCH):
        answer = store.post("coupons/batch", {"delete": ids[start:start + BATCH]})
        items = answer.get("delete") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise ApiError("woocommerce-error", "woocommerce answered a batch delete without its items.", 502)
        for item in items:
            error = item.get("error") if isinstance(item, dict) else "not an object"
            if error:
                said = error.get("message") if isinstance(error, dict) else str(error)
                failures.append(f"{item.get('id') if isinstance(item, dict) else '?'}: {said}")
            else:
                deleted += 1
    return deleted, failures


@functions("woocommerce-coupon-delete-expired", transaction=False)
def woocommerce_coupon_delete_expired(ctx):
    deleted, failures = delete_expired(ctx)
    if failures:
        raise ApiError("woocommerce-error", f"{len(failures)} expired coupons could not be deleted "
                       f"({deleted} were): {'; '.join(failures[:10])}", 502)
    return True


def hourly_delete_expired(ctx):
    """The worker's hourly run; nothing while WooCommerce is not configured."""
    try:
        woocommerce(ctx)
    except ApiError:
        return
    deleted, failures = delete_expired(ctx)
    if failures:
        log.warning("woocommerce: %d expired coupons could not be deleted: %s", len(failures),
                    "; ".join(failures[:10]))


# --- payment methods and shipping ---


@functions("woocommerce-payment-methods", transaction=False)
def woocommerce_payment_methods(ctx):
    gateways = woocommerce(ctx).listing("payment_gateways")
    return [html.unescape(text(g.get("title") or g.get("method_title"))) for g in gateways if g.get("enabled") is True]


@functions("woocommerce-shipping-locations", transaction=False)
def woocommerce_shipping_locations(ctx, country_code: str | bool = False):
    """From the general settings (selling and shipping locations): ``[names, [[name,
    code], …], except]`` (``except`` true: the store ships everywhere but these), or with
    ``country_code``, whether the store ships there."""
    code = given(country_code)
    if code is not None:
        code = code.upper()
        if not re.match(r"^[A-Z]{2}$", code):
            raise invalid_argument("country_code", "a two-letter country code such as IT.")
    options = {o.get("id"): o for o in woocommerce(ctx).listing("settings/general")}
    value = lambda key, default: options.get(key, {}).get("value") or default  # noqa: E731
    sell, ship = value("woocommerce_allowed_countries", "all"), value("woocommerce_ship_to_countries", "")
    if ship == "disabled":
        return False if code else ["", [], False]
    if ship == "all" or (sell == "all" and not ship):
        return True if code else ["all countries", [], True]
    if ship == "specific":
        countries, exclude = value("woocommerce_specific_ship_to_countries", []), False
    elif sell == "all_except":
        countries, exclude = value("woocommerce_all_except_countries", []), True
    else:
        countries, exclude = value("woocommerce_specific_allowed_countries", []), False
    countries = [str(c).upper() for c in countries]
    if code:
        return (code in countries) != exclude
    names = {}
    for key in ("woocommerce_specific_ship_to_countries", "woocommerce_all_except_countries",
                "woocommerce_specific_allowed_countries"):
        names.update(options.get(key, {}).get("options") or {})
    pairs = [[html.unescape(text(names.get(c, c))), c] for c in countries]
    listed = ", ".join(name for name, _ in pairs)
    return [f"all countries except {listed}" if exclude else listed, pairs, exclude]


# --- URLs ---


PAGES = {"shop": ("products", "woocommerce_shop_page_id"), "cart": ("advanced", "woocommerce_cart_page_id"),
         "checkout": ("advanced", "woocommerce_checkout_page_id")}


@functions("woocommerce-get-url", role=AGENT, transaction=False)
def woocommerce_get_url(ctx, type: str, name: str = "", language: str | bool = False):
    """A category's or tag's page (WooCommerce's default bases ``/product-category/`` and
    ``/product-tag/``), or the shop, cart or checkout page (``?page_id=`` of the page the
    store's settings name, which WordPress redirects to its permalink); "" when there is none."""
    if type not in ("tag", "category", *PAGES):
        raise invalid_argument("type", "tag, category, cart, shop or checkout.")
    store = woocommerce(ctx)
    if type in TAXONOMIES:
        if not name.strip():
            raise invalid_argument("name", f"the {type}'s name.")
        wanted = name.strip().lower()
        for term in terms_of(store, type, given(language)):
            if name_of(term).lower() == wanted:
                base = "product-category" if type == "category" else "product-tag"
                return f"{store.base}/{base}/{text(term.get('slug'))}/"
        return ""
    group, option = PAGES[type]
    page_id = text(store.get(f"settings/{group}/{option}").get("value")).strip()
    return f"{store.base}/?page_id={page_id}" if ID.match(page_id) and int(page_id) else ""
