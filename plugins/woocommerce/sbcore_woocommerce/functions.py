"""WooCommerce: customers, orders and products (the ``woocommerce-*`` functions that read
the store), answered in the reference's shapes from the REST API v3's resources.

Every function calls the store, so none holds a database transaction
(``transaction=False``); ids are strings and dates ``YYYY-MM-DD HH:MM:SS`` in UTC (the
resources' ``*_gmt`` dates), as the reference shows."""

import html
import re
from datetime import date, datetime, timedelta, timezone

from sbcore import AGENT, ApiError, FunctionSet
from sbcore.registry import Search
from sbcore.errors import invalid_argument
from sbcore.settings import Setting, invalid
from sbcore.users import detail_value, require_user

from . import sessions
from .client import woocommerce

functions = FunctionSet()
ID = re.compile(r"^[0-9]{1,18}$")
PRICE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
WP_ID = "wp-id"  # the user detail wp-synch writes: the WordPress user (= WooCommerce customer) id
SESSION_KEY = "woocommerce_session_key"  # Support Board's detail slug for the WooCommerce session key


def check_site_url(value):
    value = value.strip().rstrip("/")
    if value and not re.match(r"^https://[^/\s?#]+(/[^\s?#]*)?$", value):
        raise invalid("woocommerce-url", "the site's https:// URL (the REST API's keys travel in "
                      "Basic authentication, which WooCommerce accepts over https only).")
    return value


SETTINGS = [
    Setting("woocommerce-url", "text", "",
            "The WordPress site of the WooCommerce store, https (e.g. https://shop.example.com); the "
            "REST API is {url}/wp-json/wc/v3 and, for wp-synch, {url}/wp-json/wp/v2 "
            "(SB_URL_WOOCOMMERCE overrides).", check_site_url),
    Setting("woocommerce-consumer-key", "password", "",
            "The WooCommerce REST API consumer key (ck_…, WooCommerce > Settings > Advanced > REST API)."),
    Setting("woocommerce-consumer-secret", "password", "", "The WooCommerce REST API consumer secret (cs_…)."),
    Setting("woocommerce-currency-symbol", "text", "",
            "The currency symbol of woocommerce-get-order when the order does not carry one."),
    Setting("wordpress-username", "text", "",
            "The WordPress user (with the list_users capability) whose application password wp-synch uses."),
    Setting("wordpress-application-password", "password", "",
            "An application password of wordpress-username (Users > Profile > Application Passwords)."),
]


# --- conversions ---


def object_id(name, value):
    """A store object's id (digits), else 400."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not ID.match(text) or int(text) == 0:
        raise invalid_argument(name, "a WooCommerce id (a positive whole number).")
    return int(text)


def ident(resource):
    """The id of an object the store answered; 502 when it has none."""
    value = text(resource.get("id")) if isinstance(resource, dict) else ""
    if not ID.match(value):
        raise ApiError("woocommerce-error", "woocommerce answered an object without an id.", 502)
    return int(value)


def gmt(resource, field):
    """``YYYY-MM-DD HH:MM:SS`` from the resource's ``<field>_gmt`` (else ``<field>``), or None."""
    value = resource.get(f"{field}_gmt") or resource.get(field)
    return value.replace("T", " ")[:19] if isinstance(value, str) and value else None


def given(value):
    """An optional text argument: None for false, "false" or empty, else the stripped text
    (form bodies send false as the word)."""
    if value is None or value is False or value is True:
        return None
    value = str(value).strip()
    return None if value.lower() in ("", "false") else value


def text(value):
    return "" if value is None else str(value)


def product_row(product, with_date=True):
    """A product as the reference shows it: the short description, the current price,
    the first image, the average rating ("" when unrated) and the permalink."""
    images = product.get("images") or []
    rated = int(product.get("rating_count") or 0) > 0
    row = {"id": text(product.get("id")), "name": html.unescape(text(product.get("name"))),
           "description": text(product.get("short_description"))}
    if with_date:
        row["date"] = gmt(product, "date_created")
    row.update({"price": text(product.get("price")),
                "image": text(images[0].get("src")) if images and isinstance(images[0], dict) else "",
                "rating": text(product.get("average_rating")) if rated else "",
                "url": text(product.get("permalink"))})
    return row


def address(fields):
    """``First Last`` / address lines / ``postcode city state, country``, one per line; ""
    when empty."""
    fields = fields or {}
    part = lambda key: text(fields.get(key)).strip()  # noqa: E731
    place = " ".join(p for p in (part("postcode"), part("city"), part("state")) if p)
    if part("country"):
        place = f"{place}, {part('country')}" if place else part("country")
    lines = [" ".join(p for p in (part("first_name"), part("last_name")) if p), part("company"),
             part("address_1"), part("address_2"), place]
    return "\n".join(line for line in lines if line)


def order_summary(order):
    return {"id": text(order.get("id")), "date": gmt(order, "date_created"), "total": text(order.get("total")),
            "status": f"wc-{order.get('status', '')}"}


# --- customers and orders ---


def customer_id_of(store, user):
    """The WooCommerce customer of an sbcore user: the WordPress id wp-synch stored, else
    the customer with the user's email (any role), else None."""
    wp_id = detail_value(user.id, WP_ID)
    if wp_id and ID.match(wp_id):
        return int(wp_id)
    if not user.email:
        return None
    found = store.listing("customers", email=user.email, role="all")
    return ident(found[0]) if found else None


@functions("woocommerce-get-customer", role=AGENT, transaction=False)
def woocommerce_get_customer(ctx, session_key: str):
    """A registered customer's session key is the customer's (WordPress user's) id, read
    over the REST API; a guest's is a random key that only WordPress's session table
    knows: read there when woocommerce-wordpress-database is set (false when the guest
    has no live session)."""
    key = session_key.strip()
    if not ID.match(key):
        if not (ctx.settings.get("woocommerce-wordpress-database") or "").strip():
            raise ApiError("woocommerce-session-not-available", "A guest's session lives in WordPress's "
                           "woocommerce_sessions table, which the REST API does not expose: set "
                           "woocommerce-wordpress-database to read it.", 400)
        return guest_customer(sessions.live_session(ctx, key))
    store = woocommerce(ctx)
    customer = store.get(f"customers/{int(key)}")
    billing = customer.get("billing") or {}
    shipping = customer.get("shipping") or {}
    place = lambda field: text(billing.get(field) or shipping.get(field))  # noqa: E731
    return {"customer_id": text(customer.get("id")), "user_id": text(customer.get("id")),
            "username": text(customer.get("username")), "first_name": text(customer.get("first_name")),
            "last_name": text(customer.get("last_name")), "email": text(customer.get("email")),
            "date_last_active": None, "date_registered": gmt(customer, "date_created"),
            "country": place("country"), "postcode": place("postcode"), "city": place("city"),
            "state": place("state")}


def guest_customer(session):
    """The reference's customer from a session's ``customer`` entry (the data
    ``WC_Customer_Data_Store_Session`` saves): a guest has no user, username or
    registration date; ``date_last_active`` is the entry's ``date_modified`` in UTC."""
    customer = session.get("customer") if isinstance(session, dict) else None
    if not isinstance(customer, dict):
        return False
    field = lambda name: text(customer.get(name))  # noqa: E731
    place = lambda name: field(name) or field(f"shipping_{name}")  # noqa: E731
    user_id = field("id")
    return {"customer_id": user_id, "user_id": user_id if ID.match(user_id) and int(user_id) else None,
            "username": "", "first_name": field("first_name") or field("shipping_first_name"),
            "last_name": field("last_name") or field("shipping_last_name"), "email": field("email"),
            "date_last_active": utc(field("date_modified")), "date_registered": None,
            "country": place("country"), "postcode": place("postcode"), "city": place("city"),
            "state": place("state")}


def utc(value):
    """``YYYY-MM-DD HH:MM:SS`` in UTC from an ISO 8601 date with its offset, or None."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@functions("woocommerce-get-session-key", transaction=False)
def woocommerce_get_session_key(ctx, user_id: int):
    """The session key saved in the user's ``woocommerce_session_key`` detail, else the
    WordPress id wp-synch linked (a logged-in customer's session key); false when none."""
    user = require_user(user_id)
    for slug in (SESSION_KEY, WP_ID):
        value = detail_value(user.id, slug)
        if value:
            return value
    return False


@functions("woocommerce-get-user-orders", role=AGENT, transaction=False)
def woocommerce_get_user_orders(ctx, user_id: int):
    """The orders of the user's customer (newest first), or, for a user who never
    registered in the store, the guest orders billed to the user's email."""
    user = require_user(user_id)
    store = woocommerce(ctx)
    customer_id = customer_id_of(store, user)
    if customer_id is not None:
        orders = store.pages("orders", customer=customer_id)
    elif user.email:
        email = user.email.lower()
        orders = [order for order in store.pages("orders", search=user.email)
                  if text((order.get("billing") or {}).get("email")).lower() == email]
    else:
        orders = []
    return [order_summary(order) for order in orders]


@functions("woocommerce-get-order", role=AGENT, transaction=False)
def woocommerce_get_order(ctx, order_id: str):
    order = woocommerce(ctx).get(f"orders/{object_id('order_id', order_id)}")
    products = [{"name": html.unescape(text(item.get("name"))), "id": text(item.get("product_id")),
                 "quantity": text(item.get("quantity")), "price": text(item.get("subtotal"))}
                for item in order.get("line_items") or [] if isinstance(item, dict)]
    symbol = order.get("currency_symbol") or ctx.settings.get("woocommerce-currency-symbol") \
        or order.get("currency") or ""
    return {**order_summary(order), "products": products, "billing_address": address(order.get("billing")),
            "shipping_address": address(order.get("shipping")), "currency_symbol": html.unescape(text(symbol))}


# --- products ---


def find_product_id(store, name):
    """The id of the product named ``name`` (case aside), or None."""
    wanted = name.strip().lower()
    if not wanted:
        raise invalid_argument("name", "a product name.")
    for product in store.pages("products", search=name.strip()):
        if html.unescape(text(product.get("name"))).strip().lower() == wanted:
            return ident(product)
    return None


def product_of(store, product_id):
    """The product by id, or by name (as Support Board accepts); ``product-not-found`` (404)
    for a name no product has."""
    value = str(product_id).strip() if isinstance(product_id, (str, int)) else ""
    if not ID.match(value):
        found = find_product_id(store, value) if value else None
        if found is None:
            raise ApiError("product-not-found", "No product has this name.", 404)
        value = str(found)
    return store.get(f"products/{object_id('product_id', value)}")


@functions("woocommerce-get-product", role=AGENT, transaction=False)
def woocommerce_get_product(ctx, product_id: str):
    return product_row(product_of(woocommerce(ctx), product_id), with_date=False)


@functions("woocommerce-get-product-id-by-name", transaction=False)
def woocommerce_get_product_id_by_name(ctx, name: str):
    found = find_product_id(woocommerce(ctx), name)
    return False if found is None else found


@functions("woocommerce-get-product-images", role=AGENT, transaction=False)
def woocommerce_get_product_images(ctx, product_id: str):
    """The featured image, then the gallery."""
    product = product_of(woocommerce(ctx), product_id)
    return [text(image.get("src")) for image in product.get("images") or [] if isinstance(image, dict)]


@functions("woocommerce-is-in-stock", role=AGENT, transaction=False)
def woocommerce_is_in_stock(ctx, product_id: str):
    return product_of(woocommerce(ctx), product_id).get("stock_status") != "outofstock"


@functions("woocommerce-search-products", role=AGENT, transaction=False)
def woocommerce_search_products(ctx, search: Search):
    if not search.strip():
        raise invalid_argument("search", "the words to search for.")
    return [product_row(p) for p in woocommerce(ctx).pages("products", search=search.strip(), status="publish")]


FILTERS = ("taxonomy", "attribute", "date", "min-price", "max-price", "discounted")


def product_filters(store, filters, language):
    """The REST API's query parameters for the reference's filters, or None when a
    category, tag or attribute term named in them does not exist (no product matches)."""
    from .catalog import find_attribute_term, find_taxonomy
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise invalid_argument("filters", f"unknown filter '{unknown[0]}' (filters: {', '.join(FILTERS)}).")
    params = {"status": "publish", "lang": language or None}
    if filters.get("taxonomy") not in (None, "", False):
        found = find_taxonomy(store, str(filters["taxonomy"]), language)
        if found is None:
            return None
        params[found[0]] = found[1]
    if filters.get("attribute") not in (None, "", False):
        found = find_attribute_term(store, str(filters["attribute"]), language)
        if found is None:
            return None
        params["attribute"], params["attribute_term"] = found
    if filters.get("date") not in (None, "", False):
        params["after"], params["before"] = date_range(filters["date"])
    for key in ("min-price", "max-price"):
        value = filters.get(key)
        if value not in (None, "", False):
            if not PRICE.match(str(value).strip()):
                raise invalid_argument("filters", f"'{key}' is a price such as 19.99.")
            params[key.replace("-", "_")] = str(value).strip()
    if filters.get("discounted") not in (None, "", False):
        params["on_sale"] = True
    return params


def date_range(value):
    """``YYYY-MM-DD`` (that day) or ``{"startDate", "endDate"}`` as ISO 8601 bounds."""
    try:
        if isinstance(value, dict):
            start = date.fromisoformat(str(value.get("startDate", ""))[:10])
            end = date.fromisoformat(str(value.get("endDate", ""))[:10]) + timedelta(days=1)
        else:
            start = date.fromisoformat(str(value)[:10])
            end = start + timedelta(days=1)
    except ValueError:
        raise invalid_argument("filters", "'date' is YYYY-MM-DD or {\"startDate\", \"endDate\"}.") from None
    return f"{start.isoformat()}T00:00:00", f"{end.isoformat()}T00:00:00"


@functions("woocommerce-get-products", role=AGENT, transaction=False)
def woocommerce_get_products(ctx, filters: dict | list | None = None, pagination: int | bool | None = None,
                             language: str | bool = False):
    """All published products matching the filters; with ``pagination`` N, only the
    products N*100+1 to N*100+100."""
    if isinstance(filters, list):
        if filters:
            raise invalid_argument("filters", "an object of filters.")
        filters = {}
    if pagination is not None and pagination is not False and (pagination is True or pagination < 0):
        raise invalid_argument("pagination", "a page number from 0.")
    store = woocommerce(ctx)
    params = product_filters(store, filters or {}, given(language))
    if params is None:
        return []
    if pagination is None or pagination is False:
        products = store.pages("products", **params)
    else:
        products = store.page("products", pagination + 1, **params)
    return [product_row(p) for p in products]
