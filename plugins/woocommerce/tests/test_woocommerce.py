"""The WooCommerce plugin against a fake store (responses) answering with the resources
and error bodies of the WooCommerce REST API v3 documentation
(woocommerce.github.io/woocommerce-rest-api-docs) and the WordPress REST API."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sbcore import db as dbmod
from sbcore.models import User, UserDetail
from sbcore.testing import assert_shape, reference_example
from sbcore_woocommerce import plugin

SITE = "https://shop.example.com"
API = f"{SITE}/wp-json/wc/v3"
KEY, SECRET = "ck_4f2c9a0b1d", "cs_secret_7e3b5d"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
INVALID_ORDER = {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}


def order(id=727, status="processing", customer_id=0, email="john.doe@example.com", **extra):
    """An order as GET /orders/<id> answers (the documentation's example, shortened)."""
    return {"id": id, "parent_id": 0, "number": str(id), "status": status, "currency": "USD",
            "date_created": "2017-03-22T16:28:02", "date_created_gmt": "2017-03-22T19:28:02",
            "total": "29.35", "customer_id": customer_id,
            "billing": {"first_name": "John", "last_name": "Doe", "company": "", "address_1": "969 Market",
                        "address_2": "", "city": "San Francisco", "state": "CA", "postcode": "94103",
                        "country": "US", "email": email, "phone": "(555) 555-5555"},
            "shipping": {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "",
                         "city": "", "state": "", "postcode": "", "country": ""},
            "line_items": [{"id": 315, "name": "Woo Single #1", "product_id": 93, "variation_id": 0, "quantity": 2,
                            "subtotal": "6.00", "total": "6.00", "price": 3},
                           {"id": 316, "name": "Ship Your Idea &ndash; Color: Black", "product_id": 22,
                            "variation_id": 23, "quantity": 1, "subtotal": "12.00", "total": "12.00", "price": 12}],
            **extra}


def product(id=794, name="Premium Quality", stock_status="instock", rating_count=0, **extra):
    return {"id": id, "name": name, "slug": name.lower().replace(" ", "-"),
            "permalink": f"{SITE}/product/{name.lower().replace(' ', '-')}/",
            "date_created": "2017-03-23T17:01:14", "date_created_gmt": "2017-03-23T20:01:14",
            "type": "simple", "status": "publish", "description": "<p>Long</p>\n",
            "short_description": "<p>Pellentesque habitant morbi.</p>\n", "price": "21.99",
            "regular_price": "21.99", "sale_price": "", "on_sale": False, "stock_status": stock_status,
            "average_rating": "4.50" if rating_count else "0.00", "rating_count": rating_count,
            "categories": [{"id": 9, "name": "Clothing", "slug": "clothing"}],
            "tags": [{"id": 35, "name": "Summer Edition", "slug": "summer-edition"}],
            "images": [{"id": 792, "src": f"{SITE}/wp-content/uploads/2017/03/T_2_front-4.jpg", "name": "", "alt": ""},
                       {"id": 793, "src": f"{SITE}/wp-content/uploads/2017/03/T_2_back-2.jpg", "name": "", "alt": ""}],
            "attributes": [], **extra}


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


@pytest.fixture
def store(api):
    api.ok("save-settings", settings={"woocommerce-url": SITE + "/", "woocommerce-consumer-key": KEY,
                                      "woocommerce-consumer-secret": SECRET})
    with responses.RequestsMock() as mock:
        yield mock


def query(call):
    return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def path(call):
    return urlsplit(call.request.url).path


# --- set-up and errors ---


def test_not_configured_is_400_without_a_request(api):
    with responses.RequestsMock() as mock:
        for name, fields in [("woocommerce-get-order", {"order_id": 1}), ("woocommerce-payment-methods", {}),
                             ("woocommerce-get-products", {})]:
            result = api.call(name, **fields)
            assert (result.status, result.response) == (400, "woocommerce-not-active")
        api.ok("save-settings", settings={"woocommerce-url": SITE, "woocommerce-consumer-key": KEY})
        assert api.call("woocommerce-payment-methods").response == "woocommerce-not-active"
        assert len(mock.calls) == 0


def test_the_url_setting_must_be_https(api):
    result = api.call("save-settings", settings={"woocommerce-url": "http://shop.example.com"})
    assert (result.status, result.response) == (400, "invalid-setting-value")
    assert api.ok("get-setting", setting="woocommerce-url") == ""


def test_get_order_sends_basic_auth_and_answers_the_reference_shape(api, store):
    store.get(f"{API}/orders/727", json=order(currency_symbol="&#36;"))
    answer = api.ok("woocommerce-get-order", order_id=727)
    call = store.calls[0]
    assert call.request.url == f"{API}/orders/727"
    assert call.request.headers["Authorization"] == BASIC
    assert_shape(answer, reference_example("woocommerce-get-order"))
    assert answer == {"id": "727", "date": "2017-03-22 19:28:02", "total": "29.35", "status": "wc-processing",
                      "products": [{"name": "Woo Single #1", "id": "93", "quantity": "2", "price": "6.00"},
                                   {"name": "Ship Your Idea \u2013 Color: Black", "id": "22", "quantity": "1",
                                    "price": "12.00"}],
                      "billing_address": "John Doe\n969 Market\n94103 San Francisco CA, US",
                      "shipping_address": "", "currency_symbol": "$"}


def test_currency_symbol_falls_back_to_the_setting(api, store):
    api.ok("save-settings", settings={"woocommerce-currency-symbol": "\u20ac"})
    store.get(f"{API}/orders/727", json=order())
    assert api.ok("woocommerce-get-order", order_id="727")["currency_symbol"] == "\u20ac"


def test_store_errors_are_502_with_the_stores_message(api, store):
    store.get(f"{API}/orders/5", status=404, json=INVALID_ORDER)
    result = api.call("woocommerce-get-order", order_id=5)
    assert (result.status, result.response) == (502, "woocommerce-error")
    assert "Invalid ID. (woocommerce_rest_shop_order_invalid_id)" in result.json["message"]
    store.get(f"{API}/payment_gateways", status=401, json={
        "code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}})
    result = api.call("woocommerce-payment-methods")
    assert result.status == 502 and "Sorry, you cannot list resources." in result.json["message"]
    assert SECRET not in result.json["message"] and KEY not in result.json["message"]


def test_answers_that_are_not_the_apis_are_502(api, store):
    store.get(f"{API}/orders/1", body="<html>Maintenance</html>", content_type="text/html")
    store.get(f"{API}/orders/2", json=[{"id": 2}])
    store.get(f"{API}/payment_gateways", json={"not": "a list"})
    store.get(f"{API}/customers", json=[{"email": "no id"}])
    user_id = api.ok("add-user", first_name="Dee", email="dee@example.com")
    for name, fields in [("woocommerce-get-order", {"order_id": 1}), ("woocommerce-get-order", {"order_id": 2}),
                         ("woocommerce-payment-methods", {}), ("woocommerce-get-user-orders", {"user_id": user_id})]:
        result = api.call(name, **fields)
        assert (result.status, result.response) == (502, "woocommerce-error"), result


@pytest.mark.parametrize("order_id", ["abc", "-3", "0", "1 OR 1=1", "../customers"])
def test_bad_ids_are_400_before_any_request(api, store, order_id):
    result = api.call("woocommerce-get-order", order_id=order_id)
    assert (result.status, result.response) == (400, "invalid-argument")
    assert len(store.calls) == 0


def test_sb_url_woocommerce_overrides_the_site(api, core, store):
    core.config = core.config.replace(url_overrides={"woocommerce": "http://127.0.0.1:9999"})
    store.get("http://127.0.0.1:9999/wp-json/wc/v3/orders/727", json=order())
    assert api.ok("woocommerce-get-order", order_id=727)["id"] == "727"


def test_private_addresses_are_refused_unless_allowed(api, core, store):
    core.config = core.config.replace(allow_private_network=False,
                                      url_overrides={"woocommerce": "https://127.0.0.1"})
    result = api.call("woocommerce-get-order", order_id=727)
    assert (result.status, result.response) == (400, "url-not-allowed")
    assert len(store.calls) == 0


# --- customers and orders ---


def test_get_customer_by_a_registered_customers_session_key(api, store):
    store.get(f"{API}/customers/25", json={
        "id": 25, "date_created": "2017-03-21T16:09:28", "date_created_gmt": "2017-03-21T19:09:28",
        "email": "john.doe@example.com", "first_name": "John", "last_name": "Doe", "role": "customer",
        "username": "john.doe", "billing": {"first_name": "John", "city": "San Francisco", "state": "CA",
                                            "postcode": "94103", "country": "US"}, "shipping": {}})
    answer = api.ok("woocommerce-get-customer", session_key="25")
    assert_shape(answer, reference_example("woocommerce-get-customer"))
    assert answer == {"customer_id": "25", "user_id": "25", "username": "john.doe", "first_name": "John",
                      "last_name": "Doe", "email": "john.doe@example.com", "date_last_active": None,
                      "date_registered": "2017-03-21 19:09:28", "country": "US", "postcode": "94103",
                      "city": "San Francisco", "state": "CA"}


def test_a_guest_session_key_cannot_be_read_over_rest(api, store):
    result = api.call("woocommerce-get-customer", session_key="t_8f3b2a61c09d4e7e5ab1")
    assert (result.status, result.response) == (400, "woocommerce-session-not-available")
    assert len(store.calls) == 0


def test_get_session_key(api, store):
    plain = api.ok("add-user", first_name="Ann")
    keyed = api.ok("add-user", first_name="Bo", extra={"woocommerce_session_key": ["t_abc123", "Woo Session Key"]})
    linked = api.ok("add-user", first_name="Cy", extra={"wp-id": ["41", "WordPress ID"]})
    assert api.ok("woocommerce-get-session-key", user_id=plain) is False
    assert api.ok("woocommerce-get-session-key", user_id=keyed) == "t_abc123"
    assert api.ok("woocommerce-get-session-key", user_id=linked) == "41"
    assert api.call("woocommerce-get-session-key", user_id=999999).response == "user-not-found"


def test_user_orders_of_a_linked_user(api, store):
    user_id = api.ok("add-user", first_name="Cy", email="cy@example.com", extra={"wp-id": ["41", "WordPress ID"]})
    store.get(f"{API}/orders", json=[order(603, customer_id=41), order(602, "on-hold", customer_id=41)],
              headers={"X-WP-Total": "3", "X-WP-TotalPages": "2"})
    store.get(f"{API}/orders", json=[order(512, "completed", customer_id=41)],
              headers={"X-WP-Total": "3", "X-WP-TotalPages": "2"})
    answer = api.ok("woocommerce-get-user-orders", user_id=user_id)
    assert [query(c) for c in store.calls] == [{"customer": "41", "page": "1", "per_page": "100"},
                                               {"customer": "41", "page": "2", "per_page": "100"}]
    assert answer[0] == {"id": "603", "date": "2017-03-22 19:28:02", "total": "29.35", "status": "wc-processing"}
    assert [o["status"] for o in answer] == ["wc-processing", "wc-on-hold", "wc-completed"]
    # the reference's example does not parse (a trailing comma); its first row has these keys
    assert all(set(row) == {"id", "date", "total", "status"} for row in answer)


def test_user_orders_by_customer_email_then_as_a_guest(api, store):
    user_id = api.ok("add-user", first_name="Dee", email="dee@example.com")
    store.get(f"{API}/customers", json=[{"id": 77, "email": "dee@example.com"}])
    store.get(f"{API}/orders", json=[order(9, customer_id=77)], headers={"X-WP-TotalPages": "1"})
    assert [o["id"] for o in api.ok("woocommerce-get-user-orders", user_id=user_id)] == ["9"]
    assert query(store.calls[0]) == {"email": "dee@example.com", "role": "all"}
    assert query(store.calls[1])["customer"] == "77"
    store.replace(responses.GET, f"{API}/customers", json=[])
    store.replace(responses.GET, f"{API}/orders", json=[order(10, email="DEE@example.com"),
                                                         order(11, email="other@example.com")])
    assert [o["id"] for o in api.ok("woocommerce-get-user-orders", user_id=user_id)] == ["10"]
    assert query(store.calls[-1])["search"] == "dee@example.com"


def test_a_user_the_store_cannot_know_has_no_orders_and_costs_no_request(api, store):
    user_id = api.ok("add-user", first_name="Visitor")
    assert api.ok("woocommerce-get-user-orders", user_id=user_id) == []
    assert len(store.calls) == 0
    assert api.call("woocommerce-get-user-orders", user_id=999999).response == "user-not-found"


def test_a_list_longer_than_twenty_pages_is_an_error_never_a_partial_answer(api, store):
    store.get(f"{API}/products", json=[product(1)], headers={"X-WP-Total": "99900", "X-WP-TotalPages": "999"})
    result = api.call("woocommerce-search-products", search="shirt")
    assert (result.status, result.response) == (502, "woocommerce-list-too-long")
    assert "999 pages" in result.json["message"]
    assert [query(c)["page"] for c in store.calls] == [str(n) for n in range(1, 21)]
    store.reset()
    store.get(f"{API}/products", json=[product(1)], headers={"X-WP-TotalPages": "20"})
    assert len(api.ok("woocommerce-search-products", search="shirt")) == 20
    store.calls.reset()
    store.replace(responses.GET, f"{API}/products", json=[], headers={"X-WP-TotalPages": "999"})
    assert api.ok("woocommerce-search-products", search="shirt") == []
    assert len(store.calls) == 1  # an empty page ends the list


# --- products ---


def test_get_product_images_and_stock(api, store):
    store.get(f"{API}/products/794", json=product(rating_count=2))
    answer = api.ok("woocommerce-get-product", product_id=794)
    assert_shape(answer, reference_example("woocommerce-get-product"))
    assert answer == {"id": "794", "name": "Premium Quality", "description": "<p>Pellentesque habitant morbi.</p>\n",
                      "price": "21.99", "image": f"{SITE}/wp-content/uploads/2017/03/T_2_front-4.jpg",
                      "rating": "4.50", "url": f"{SITE}/product/premium-quality/"}
    assert api.ok("woocommerce-get-product-images", product_id=794) == [
        f"{SITE}/wp-content/uploads/2017/03/T_2_front-4.jpg", f"{SITE}/wp-content/uploads/2017/03/T_2_back-2.jpg"]
    assert api.ok("woocommerce-is-in-stock", product_id=794) is True
    store.replace(responses.GET, f"{API}/products/794", json=product(stock_status="outofstock"))
    assert api.ok("woocommerce-is-in-stock", product_id=794) is False
    assert api.ok("woocommerce-get-product", product_id=794)["rating"] == ""


def test_product_id_by_name(api, store):
    store.get(f"{API}/products", json=[product(11, "Premium Quality Hoodie"), product(12, "premium quality")],
              headers={"X-WP-TotalPages": "1"})
    assert api.ok("woocommerce-get-product-id-by-name", name="Premium Quality") == 12
    assert query(store.calls[0]) == {"search": "Premium Quality", "page": "1", "per_page": "100"}
    assert api.ok("woocommerce-get-product-id-by-name", name="Nothing") is False
    store.get(f"{API}/products/12", json=product(12, "premium quality"))
    assert api.ok("woocommerce-get-product", product_id="Premium Quality")["id"] == "12"  # by name, as SB allows
    assert api.call("woocommerce-get-product", product_id="Nothing").response == "product-not-found"


def test_get_products_pages_and_filters(api, store):
    store.get(f"{API}/products", json=[product(1)], headers={"X-WP-TotalPages": "2"})
    store.get(f"{API}/products", json=[product(2)], headers={"X-WP-TotalPages": "2"})
    answer = api.ok("woocommerce-get-products")
    assert_shape(answer, reference_example("woocommerce-get-products"))
    assert [p["id"] for p in answer] == ["1", "2"] and answer[0]["date"] == "2017-03-23 20:01:14"
    assert [query(c)["page"] for c in store.calls] == ["1", "2"]
    store.calls.reset()
    api.ok("woocommerce-get-products", pagination=1, language="it")
    assert [query(c) for c in store.calls] == [{"status": "publish", "lang": "it", "page": "2", "per_page": "100"}]
    api.ok("woocommerce-get-products", pagination=0, language=False)  # sent as the word "false": no language
    assert query(store.calls[-1]) == {"status": "publish", "page": "1", "per_page": "100"}
    assert api.call("woocommerce-get-products", pagination=-1).status == 400
    store.calls.reset()
    store.get(f"{API}/products/categories", json=[{"id": 9, "name": "Clothing", "slug": "clothing"}])
    api.ok("woocommerce-get-products", pagination=0,
           filters={"taxonomy": "clothing", "date": "2024-05-01", "min-price": "10", "discounted": True})
    assert query(store.calls[-1]) == {"status": "publish", "category": "9", "after": "2024-05-01T00:00:00",
                                      "before": "2024-05-02T00:00:00", "min_price": "10", "on_sale": "true",
                                      "page": "1", "per_page": "100"}


def test_get_products_refuses_bad_filters_and_a_missing_taxonomy_is_empty(api, store):
    for filters in [{"colour": "red"}, {"date": "yesterday"}, {"max-price": "cheap"}]:
        result = api.call("woocommerce-get-products", filters=filters)
        assert (result.status, result.response) == (400, "invalid-argument")
    assert len(store.calls) == 0
    store.get(f"{API}/products/categories", json=[])
    store.get(f"{API}/products/tags", json=[])
    assert api.ok("woocommerce-get-products", filters={"taxonomy": "Nope"}) == []


def test_search_products(api, store):
    store.get(f"{API}/products", json=[product(5)])
    answer = api.ok("woocommerce-search-products", search="quality")
    assert query(store.calls[0]) == {"search": "quality", "status": "publish", "page": "1", "per_page": "100"}
    assert_shape(answer, reference_example("woocommerce-search-products"))
    assert api.call("woocommerce-search-products", search=" ").status == 400


# --- taxonomies and attributes ---


ATTRIBUTES = [{"id": 1, "name": "Color", "slug": "pa_color", "type": "select", "order_by": "menu_order",
               "has_archives": True}, {"id": 2, "name": "Size", "slug": "pa_size", "type": "select"}]


def test_taxonomies(api, store):
    store.get(f"{API}/products/categories", json=[{"id": 15, "name": "Uncategorized", "slug": "uncategorized"},
                                                  {"id": 33, "name": "Clothes", "slug": "clothes"}])
    answer = api.ok("woocommerce-get-taxonomies", type="category")
    assert answer == [{"id": "33", "name": "Clothes", "slug": "clothes"}]
    assert_shape(answer, reference_example("woocommerce-get-taxonomies"))
    assert api.call("woocommerce-get-taxonomies", type="brand").status == 400


def test_attributes_in_three_shapes(api, store):
    store.get(f"{API}/products/attributes", json=ATTRIBUTES)
    store.get(f"{API}/products/attributes/1/terms", json=[{"id": 23, "name": "Red", "slug": "red"},
                                                          {"id": 24, "name": "Yellow", "slug": "yellow"}])
    store.get(f"{API}/products/attributes/2/terms", json=[{"id": 30, "name": "Small", "slug": "small"}])
    full = api.ok("woocommerce-get-attributes")
    assert full == {"color": {"id": "1", "name": "Color", "slug": "pa_color", "terms": {"red": "Red", "yellow": "Yellow"}},
                    "size": {"id": "2", "name": "Size", "slug": "pa_size", "terms": {"small": "Small"}}}
    assert api.ok("woocommerce-get-attributes", type="terms") == [{"name": "Red"}, {"name": "Yellow"}, {"name": "Small"}]
    store.calls.reset()
    assert api.ok("woocommerce-get-attributes", type="attribute") == [
        {"id": "1", "name": "Color", "slug": "pa_color"}, {"id": "2", "name": "Size", "slug": "pa_size"}]
    assert len(store.calls) == 1  # the attributes alone: no terms asked
    assert api.ok("woocommerce-get-attribute-by-name", name="size") == {"id": "2", "name": "Size", "slug": "pa_size"}
    assert api.ok("woocommerce-get-attribute-by-name", name="Weight") is False
    assert api.ok("woocommerce-get-attribute-by-term", term_name="yellow") == {"id": "1", "name": "Color",
                                                                              "slug": "pa_color"}
    assert api.ok("woocommerce-get-attribute-by-term", term_name="Huge") is False


def test_product_taxonomies(api, store):
    store.get(f"{API}/products/794", json=product(attributes=[
        {"id": 1, "name": "Color", "position": 0, "visible": True, "variation": True, "options": ["Red"]},
        {"id": 0, "name": "Custom", "options": ["x"]}]))
    store.get(f"{API}/products/attributes/1", json=ATTRIBUTES[0])
    store.get(f"{API}/products/attributes/1/terms", json=[{"id": 23, "name": "Red", "slug": "red"},
                                                          {"id": 24, "name": "Yellow", "slug": "yellow"}])
    answer = api.ok("woocommerce-get-product-taxonomies", product_id=794)
    assert_shape(answer, reference_example("woocommerce-get-product-taxonomies"))
    assert answer == [
        {"term_id": "9", "name": "Clothing", "slug": "clothing", "term_group": "0", "taxonomy": "product_cat"},
        {"term_id": "35", "name": "Summer Edition", "slug": "summer-edition", "term_group": "0",
         "taxonomy": "product_tag"},
        {"term_id": "23", "name": "Red", "slug": "red", "term_group": "0", "taxonomy": "pa_color"}]


# --- coupons ---


def test_coupon_for_a_user(api, store):
    user_id = api.ok("add-user", first_name="Ann", email="ann@example.com")
    store.post(f"{API}/coupons", status=201, json={"id": 720, "code": "placeholder"})
    answer = api.ok("woocommerce-coupon", discount="50", expiration="3 days", product_id="11,53", user_id=user_id)
    sent = json.loads(store.calls[0].request.body)
    assert store.calls[0].request.headers["Authorization"] == BASIC
    assert answer == ["placeholder", "50"]
    assert len(sent.pop("code")) == 12 and sent.pop("date_expires_gmt")[:2] == "20"
    assert sent == {"discount_type": "percent", "amount": "50", "individual_use": True, "usage_limit": 1,
                    "product_ids": [11, 53], "meta_data": [{"key": "sbcore_user_id", "value": str(user_id)}],
                    "description": f"Support coupon of user {user_id} (sbcore_user_id {user_id})",
                    "email_restrictions": ["ann@example.com"]}


@pytest.mark.parametrize("fields", [{"discount": "0", "expiration": "3 days"}, {"discount": "101", "expiration": "1 day"},
                                    {"discount": "10", "expiration": "soon"}, {"discount": "10", "expiration": "0 days"},
                                    {"discount": "10", "expiration": "1 day", "product_id": "1,x"},
                                    {"discount": "10", "expiration": "1 day", "user_id": 999999}])
def test_bad_coupons_send_nothing(api, store, fields):
    assert api.call("woocommerce-coupon", **fields).status in (400, 404)
    assert len(store.calls) == 0


def test_coupon_check_and_delete_expired(api, store):
    user_id = api.ok("add-user", first_name="Ann")
    mine = {"id": 1, "code": "a", "date_expires_gmt": "2999-01-01T00:00:00",
            "meta_data": [{"id": 5, "key": "sbcore_user_id", "value": str(user_id)}]}
    other = {"id": 2, "code": "b", "date_expires_gmt": "2999-01-01T00:00:00",
             "meta_data": [{"id": 6, "key": "sbcore_user_id", "value": str(user_id) + "0"}]}
    store.get(f"{API}/coupons", json=[other, mine])
    assert api.ok("woocommerce-coupon-check", user_id=user_id) is True
    assert query(store.calls[0])["search"] == f"sbcore_user_id {user_id})"
    store.replace(responses.GET, f"{API}/coupons", json=[other])
    assert api.ok("woocommerce-coupon-check", user_id=user_id) is False
    coupons = [{"id": i, "date_expires_gmt": "2001-01-01T00:00:00" if i % 2 else None} for i in range(1, 204)]
    store.replace(responses.GET, f"{API}/coupons", json=coupons)
    store.add_callback(responses.POST, f"{API}/coupons/batch", callback=batch_answer())
    store.calls.reset()
    assert api.ok("woocommerce-coupon-delete-expired") is True
    batches = [json.loads(c.request.body)["delete"] for c in store.calls if c.request.method == "POST"]
    assert [len(b) for b in batches] == [100, 2] and batches[0][:2] == [1, 3]


def batch_answer(refused=()):
    """WooCommerce's batch answer: 200 with each deleted coupon, or an ``error`` item."""
    def answer(request):
        items = []
        for coupon_id in json.loads(request.body)["delete"]:
            if coupon_id in refused:
                items.append({"id": coupon_id, "error": {"code": "woocommerce_rest_shop_coupon_invalid_id",
                                                         "message": "Invalid ID.", "data": {"status": 404}}})
            else:
                items.append({"id": coupon_id, "code": f"c{coupon_id}"})
        return 200, {}, json.dumps({"delete": items})
    return answer


def test_coupons_a_batch_could_not_delete_are_reported(api, store):
    coupons = [{"id": i, "date_expires_gmt": "2001-01-01T00:00:00"} for i in (4, 5, 6)]
    store.get(f"{API}/coupons", json=coupons)
    store.add_callback(responses.POST, f"{API}/coupons/batch", callback=batch_answer(refused=(5,)))
    result = api.call("woocommerce-coupon-delete-expired")
    assert (result.status, result.response) == (502, "woocommerce-error")
    assert "1 expired coupons could not be deleted (2 were): 5: Invalid ID." in result.json["message"]


def test_hourly_job_deletes_expired_coupons_only_when_configured(core, api):
    from sbcore.worker import run_due_jobs
    with responses.RequestsMock() as mock:
        assert "woocommerce-coupon-delete-expired" in run_due_jobs(core, force=True)
        assert len(mock.calls) == 0
    api.ok("save-settings", settings={"woocommerce-url": SITE, "woocommerce-consumer-key": KEY,
                                      "woocommerce-consumer-secret": SECRET})
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/coupons", json=[{"id": 8, "date_expires_gmt": "2001-01-01T00:00:00"}])
        mock.post(f"{API}/coupons/batch", json={"delete": [{"id": 8}]})
        run_due_jobs(core, force=True)
        assert json.loads(mock.calls[-1].request.body) == {"delete": [8]}


# --- payment methods, shipping, URLs ---


def test_payment_methods(api, store):
    store.get(f"{API}/payment_gateways", json=[
        {"id": "bacs", "title": "Direct bank transfer", "enabled": True, "method_title": "BACS"},
        {"id": "cheque", "title": "Check payments", "enabled": False, "method_title": "Check payments"},
        {"id": "cod", "title": "", "enabled": True, "method_title": "Cash on delivery"}])
    assert api.ok("woocommerce-payment-methods") == ["Direct bank transfer", "Cash on delivery"]


def general(sell="specific", ship="", allowed=(), excluded=(), ship_to=()):
    names = {"AU": "Australia", "IT": "Italy", "US": "United States (US)", "ST": "S&atilde;o Tom&eacute;"}
    return [{"id": "woocommerce_allowed_countries", "value": sell, "options": {}},
            {"id": "woocommerce_all_except_countries", "value": list(excluded), "options": names},
            {"id": "woocommerce_specific_allowed_countries", "value": list(allowed), "options": names},
            {"id": "woocommerce_ship_to_countries", "value": ship, "options": {}},
            {"id": "woocommerce_specific_ship_to_countries", "value": list(ship_to), "options": names}]


def test_shipping_locations(api, store):
    store.get(f"{API}/settings/general", json=general(allowed=["AU", "IT", "ST"]))
    answer = api.ok("woocommerce-shipping-locations")
    assert answer == ["Australia, Italy, S\u00e3o Tom\u00e9", [["Australia", "AU"], ["Italy", "IT"],
                                                             ["S\u00e3o Tom\u00e9", "ST"]], False]
    assert_shape(answer, reference_example("woocommerce-shipping-locations"))
    assert api.ok("woocommerce-shipping-locations", country_code=False) == answer
    assert api.ok("woocommerce-shipping-locations", country_code="it") is True
    assert api.ok("woocommerce-shipping-locations", country_code="US") is False
    store.replace(responses.GET, f"{API}/settings/general", json=general(sell="all_except", excluded=["US"]))
    assert api.ok("woocommerce-shipping-locations") == ["all countries except United States (US)",
                                                        [["United States (US)", "US"]], True]
    assert api.ok("woocommerce-shipping-locations", country_code="US") is False
    assert api.ok("woocommerce-shipping-locations", country_code="IT") is True
    store.replace(responses.GET, f"{API}/settings/general", json=general(sell="all"))
    assert api.ok("woocommerce-shipping-locations") == ["all countries", [], True]
    assert api.call("woocommerce-shipping-locations", country_code="ITA").status == 400


def test_get_url(api, store):
    store.get(f"{API}/settings/advanced/woocommerce_checkout_page_id",
              json={"id": "woocommerce_checkout_page_id", "value": "8", "type": "single_select_page"})
    assert api.ok("woocommerce-get-url", type="checkout") == f"{SITE}/?page_id=8"
    store.get(f"{API}/products/tags", json=[{"id": 35, "name": "Summer Edition", "slug": "summer-edition"}])
    assert api.ok("woocommerce-get-url", type="tag", name="summer edition") == f"{SITE}/product-tag/summer-edition/"
    assert api.ok("woocommerce-get-url", type="tag", name="Winter") == ""
    assert api.call("woocommerce-get-url", type="account").status == 400


# --- wp-synch ---


def wp_user(id, email, first="", last="", name=""):
    return {"id": id, "username": f"user{id}", "name": name or f"user{id}", "first_name": first, "last_name": last,
            "email": email, "roles": ["customer"], "registered_date": "2024-01-02T03:04:05+00:00",
            "avatar_urls": {"24": "https://secure.gravatar.com/avatar/x?s=24",
                            "96": "https://secure.gravatar.com/avatar/x?s=96"}}


def test_wp_synch_imports_pages_links_by_email_and_never_twice(api, core):
    existing = api.ok("add-user", first_name="Ann", email="ann@example.com", password="secret-password")
    with responses.RequestsMock() as mock:
        result = api.call("wp-synch")
        assert (result.status, result.response) == (400, "wordpress-not-active")
        api.ok("save-settings", settings={"woocommerce-url": SITE, "wordpress-username": "admin",
                                          "wordpress-application-password": "abcd efgh ijkl"})
        pages = [[wp_user(1, "ANN@example.com", "Annie"), wp_user(2, "bo@example.com", "Bo", "Li")],
                 [wp_user(3, "not an email"), wp_user(4, "cy@example.com", name="Cy Display")]]
        for page in pages:
            mock.get(f"{SITE}/wp-json/wp/v2/users", json=page, headers={"X-WP-Total": "4", "X-WP-TotalPages": "2"})
        assert api.ok("wp-synch") is True
        assert [query(c) for c in mock.calls] == [
            {"context": "edit", "per_page": "100", "page": str(n), "orderby": "id", "order": "asc"} for n in (1, 2)]
        assert mock.calls[0].request.headers["Authorization"] == "Basic " + base64.b64encode(
            b"admin:abcd efgh ijkl").decode()
        with dbmod.connection():
            users = {u.email: u for u in User.select().where(User.email.is_null(False))}
            wp_ids = {d.user_id: d.value for d in UserDetail.select().where(UserDetail.slug == "wp-id")}
        assert users["ann@example.com"].id == existing and users["ann@example.com"].first_name == "Ann"
        assert (users["bo@example.com"].first_name, users["bo@example.com"].last_name) == ("Bo", "Li")
        assert users["bo@example.com"].password == "" and users["bo@example.com"].user_type == "user"
        assert users["cy@example.com"].first_name == "Cy Display"
        assert users["cy@example.com"].profile_image == "https://secure.gravatar.com/avatar/x?s=96"
        assert {wp_ids[users[e].id] for e in ("ann@example.com", "bo@example.com", "cy@example.com")} == {"1", "2", "4"}
        count = len(users)
        api.ok("wp-synch")  # the same users again: nothing new
        with dbmod.connection():
            assert User.select().where(User.email.is_null(False)).count() == count
            assert UserDetail.select().where(UserDetail.slug == "wp-id").count() == 3
        assert api.ok("search-users", search="Display")[0]["email"] == "cy@example.com"


def test_wp_synch_looks_up_a_page_in_a_fixed_number_of_queries(api, core):
    """The reads per page do not grow with the page: no lookup per WordPress user."""
    from sbcore.testing import count_queries
    api.ok("save-settings", settings={"woocommerce-url": SITE, "wordpress-username": "admin",
                                      "wordpress-application-password": "abcd efgh ijkl"})
    api.ok("add-user", first_name="Old", email="old1@example.com")
    api.ok("add-user", first_name="Old", email="old2@example.com")
    api.ok("add-user", first_name="Old", email="old3@example.com")

    def reads(users):
        with responses.RequestsMock() as mock:
            mock.get(f"{SITE}/wp-json/wp/v2/users", json=users, headers={"X-WP-TotalPages": "1"})
            with count_queries() as counter:
                api.ok("wp-synch")
        # the settings cache's reload (after save-settings, at the first call) is not per user
        return len([q for q in counter.queries if q.lstrip().upper().startswith("SELECT")
                    and "sb_settings" not in q])

    small = reads([wp_user(10, "a10@example.com"), wp_user(11, "old1@example.com")])
    large = reads([wp_user(n, f"a{n}@example.com") for n in range(20, 40)] + [wp_user(12, "old2@example.com"),
                                                                               wp_user(13, "old3@example.com")])
    assert small == large


def test_the_wp_synch_command_reports_progress(core, capsys):
    from argparse import Namespace
    with dbmod.connection():
        core.settings.merge({"woocommerce-url": SITE, "wordpress-username": "admin",
                             "wordpress-application-password": "abcd efgh ijkl"})
    with responses.RequestsMock() as mock:
        mock.get(f"{SITE}/wp-json/wp/v2/users", json=[wp_user(1, "a@example.com")], headers={"X-WP-TotalPages": "1"})
        assert plugin.run_wp_synch(core, Namespace()) == 0
    assert "1 users created, 0 linked by email, 0 skipped" in capsys.readouterr().out
