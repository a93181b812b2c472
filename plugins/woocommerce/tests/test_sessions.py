"""woocommerce-get-session and guests' woocommerce-get-customer against a real
``{prefix}woocommerce_sessions`` table (WooCommerce's schema) in a scratch MariaDB
database on 127.0.0.1:3306, whatever database the suite itself runs on."""

import json
import os
import time

import phpserialize
import pytest

from sbcore.testing import assert_shape, reference_example
from sbcore_woocommerce import plugin

HOST, PORT = "127.0.0.1", 3306
# a scratch database on the local MariaDB, one per pytest-xdist worker and per process
DATABASE = f"sbcore_test_wordpress_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
PREFIX = "wptest_"
URL = f"mysql://root@{HOST}:{PORT}/{DATABASE}"
GUEST = "t_5b1f7e8a03c94d2e8f6a1b7c9d0e2f"
PASSWORD = "s3cret-Pa55word"

# WC_Install::get_schema()
SCHEMA = """CREATE TABLE `{prefix}woocommerce_sessions` (
  session_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  session_key char(32) NOT NULL,
  session_value longtext NOT NULL,
  session_expiry BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (session_id),
  UNIQUE KEY session_key (session_key)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"""

# A guest's session as WC_Session_Handler::save_data() writes it: serialize() of the
# session array, whose entries WC_Session_Handler::set() stored maybe_serialize()d.
# Written by hand (the lengths are bytes: "Jürgen" is s:7).
CART = ('a:1:{s:32:"c74d97b01eae257e44aa9d5bade97baf";a:11:{s:3:"key";s:32:"c74d97b01eae257e44aa9d5bade97baf";'
        's:10:"product_id";i:16;s:12:"variation_id";i:23;s:9:"variation";a:1:{s:18:"attribute_pa_color";'
        's:5:"black";}s:8:"quantity";i:2;s:9:"data_hash";s:32:"b5c1d6ca8bae6d4896cf1807cdf763f0";'
        's:13:"line_tax_data";a:2:{s:8:"subtotal";a:0:{}s:5:"total";a:0:{}}s:13:"line_subtotal";d:36;'
        's:17:"line_subtotal_tax";i:0;s:10:"line_total";d:32.4;s:8:"line_tax";i:0;}}')
CUSTOMER = ('a:8:{s:2:"id";s:1:"0";s:13:"date_modified";s:25:"2024-05-02T09:15:00+02:00";s:8:"postcode";'
            's:5:"10115";s:4:"city";s:6:"Berlin";s:7:"country";s:2:"DE";s:10:"first_name";s:7:"Jürgen";'
            's:9:"last_name";s:7:"Müller";s:5:"email";s:18:"jurgen@example.com";}')
HAND_WRITTEN = (
    'a:6:{s:4:"cart";s:451:"' + CART + '";'
    's:11:"cart_totals";s:57:"a:2:{s:8:"subtotal";s:5:"36.00";s:5:"total";s:5:"32.40";}";'
    's:15:"applied_coupons";s:25:"a:1:{i:0;s:8:"summer10";}";'
    's:23:"chosen_shipping_methods";s:29:"a:1:{i:0;s:11:"flat_rate:1";}";'
    's:8:"customer";s:251:"' + CUSTOMER + '";'
    's:21:"chosen_payment_method";s:0:"";}')


pytestmark = pytest.mark.sbcore(plugins=[plugin])


def server():
    import pymysql
    try:
        return pymysql.connect(host=HOST, port=PORT, user="root", connect_timeout=3, autocommit=True,
                               charset="utf8mb4")
    except pymysql.MySQLError as error:
        pytest.skip(f"MariaDB is not reachable at {HOST}:{PORT} as root ({error}): the WordPress "
                    "database tests need it")


@pytest.fixture
def wordpress():
    """A scratch WordPress database with an empty sessions table; ``add(key, value,
    expiry)`` inserts a session."""
    connection = server()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        cursor.execute(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4")
        cursor.execute(SCHEMA.format(prefix=f"{DATABASE}`.`{PREFIX}"))

    def add(key, value, expiry=None):
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO `{DATABASE}`.`{PREFIX}woocommerce_sessions` "
                           "(session_key, session_value, session_expiry) VALUES (%s, %s, %s)",
                           (key, value, int(time.time()) + 172800 if expiry is None else expiry))
    yield add
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    connection.close()


@pytest.fixture
def configured(api, wordpress):
    api.ok("save-settings", settings={"woocommerce-wordpress-database": URL, "woocommerce-table-prefix": PREFIX,
                                      "woocommerce-wordpress-database-private": True})
    return wordpress


def test_a_private_database_host_needs_its_setting(api, core):
    """The WordPress database URL passes the outbound address check (no connection is
    tried): a loopback or private host needs woocommerce-wordpress-database-private."""
    assert not core.config.allow_private_network
    for host in ("127.0.0.1", "10.0.0.7", "169.254.169.254", "localhost"):
        api.ok("save-settings", settings={"woocommerce-wordpress-database": f"mysql://u:p@{host}:3306/wp"})
        for name in ("woocommerce-get-session", "woocommerce-get-customer"):
            result = api.call(name, session_key=GUEST)
            assert (result.status, result.response) == (400, "url-not-allowed"), (host, name)


def woocommerce_serialize(session):
    """serialize() of a session whose cart, cart_totals and customer entries are
    themselves serialize()d, as WooCommerce stores it."""
    return phpserialize.dumps({key: phpserialize.dumps(value).decode() if key in ("cart", "cart_totals", "customer")
                               else value for key, value in session.items()}).decode()


def test_get_session_answers_the_reference_example_from_the_table(api, configured):
    example = reference_example("woocommerce-get-session")
    configured("1", woocommerce_serialize(example))
    answer = api.ok("woocommerce-get-session", session_key="1")
    assert_shape(answer, example)
    assert json.loads(json.dumps(answer)) == example
    assert answer["applied_coupons"] == "a:0:{}"
    assert answer["cart"]["d82c8d1619ah8176d665453cfb2e66f0"]["variation"] == []


def test_a_hand_written_guest_session(api, configured):
    configured(GUEST, HAND_WRITTEN)
    answer = api.ok("woocommerce-get-session", session_key=GUEST)
    item = answer["cart"]["c74d97b01eae257e44aa9d5bade97baf"]
    assert item["variation"] == {"attribute_pa_color": "black"}
    assert (item["quantity"], item["line_subtotal"], item["line_total"]) == (2, 36, 32.4)
    assert item["line_tax_data"] == {"subtotal": [], "total": []}
    assert answer["cart_totals"] == {"subtotal": "36.00", "total": "32.40"}
    assert answer["applied_coupons"] == 'a:1:{i:0;s:8:"summer10";}'
    assert answer["chosen_shipping_methods"] == 'a:1:{i:0;s:11:"flat_rate:1";}'
    assert answer["chosen_payment_method"] == ""
    assert answer["customer"]["first_name"] == "Jürgen"
    customer = api.ok("woocommerce-get-customer", session_key=GUEST)
    assert_shape(customer, reference_example("woocommerce-get-customer"))
    assert customer == {"customer_id": "0", "user_id": None, "username": "", "first_name": "Jürgen",
                        "last_name": "Müller", "email": "jurgen@example.com",
                        "date_last_active": "2024-05-02 07:15:00", "date_registered": None, "country": "DE",
                        "postcode": "10115", "city": "Berlin", "state": ""}


def test_expired_and_unknown_sessions_are_false(api, configured):
    configured(GUEST, HAND_WRITTEN, expiry=int(time.time()) - 60)
    assert api.ok("woocommerce-get-session", session_key=GUEST) is False
    assert api.ok("woocommerce-get-session", session_key="t_unknown") is False
    assert api.ok("woocommerce-get-customer", session_key=GUEST) is False


def test_a_session_key_is_checked_before_any_query(api, configured):
    configured(GUEST, HAND_WRITTEN)
    for key in ("x' OR '1'='1", "", "a" * 33):
        result = api.call("woocommerce-get-session", session_key=key)
        assert (result.status, result.response) == (400, "invalid-argument")


def test_not_configured(api):
    result = api.call("woocommerce-get-session", session_key=GUEST)
    assert (result.status, result.response) == (400, "woocommerce-not-active")
    result = api.call("woocommerce-get-customer", session_key=GUEST)
    assert (result.status, result.response) == (400, "woocommerce-session-not-available")


@pytest.mark.parametrize("prefix", ["wp-", "wp_`; DROP TABLE x; --", "", "p" * 21])
def test_a_bad_prefix_is_400_and_not_saved(api, prefix):
    result = api.call("save-settings", settings={"woocommerce-table-prefix": prefix})
    assert (result.status, result.response) == (400, "invalid-setting-value")
    assert api.ok("get-setting", setting="woocommerce-table-prefix") == "wp_"


@pytest.mark.parametrize("url", [f"postgresql://root:{PASSWORD}@{HOST}/wordpress",
                                 f"sqlite:///tmp/{PASSWORD}.db", f"mysql://root:{PASSWORD}@{HOST}:3306/",
                                 f"mysql://root:{PASSWORD}@{HOST}/wordpress?local_infile=true"])
def test_only_mysql_urls_with_a_database_are_saved(api, url):
    result = api.call("save-settings", settings={"woocommerce-wordpress-database": url})
    assert (result.status, result.response) == (400, "invalid-setting-value")
    assert PASSWORD not in json.dumps(result.json)
    assert api.ok("get-setting", setting="woocommerce-wordpress-database") == ""


@pytest.mark.parametrize("url, prefix", [
    (f"mysql://root:{PASSWORD}@{HOST}:1/{DATABASE}", PREFIX),  # nothing listens on port 1
    (f"mysql://root:{PASSWORD}@{HOST}:{PORT}/{DATABASE}", PREFIX),  # root has no password here
    (f"mysql://{PASSWORD}:{PASSWORD}@{HOST}:{PORT}/{DATABASE}", PREFIX),  # the server names the user: scrubbed
    (URL, "other_"),  # no such table
])
def test_an_unreadable_database_is_502_without_the_password(api, wordpress, url, prefix):
    api.ok("save-settings", settings={"woocommerce-wordpress-database": url, "woocommerce-table-prefix": prefix,
                                      "woocommerce-wordpress-database-private": True})
    for name in ("woocommerce-get-session", "woocommerce-get-customer"):
        result = api.call(name, session_key=GUEST)
        assert (result.status, result.response) == (502, "wordpress-database-error")
        assert PASSWORD not in json.dumps(result.json)
        assert result.json["message"].startswith("The WordPress database could not be read")


def test_a_session_that_is_not_php_serialized_is_502(api, configured):
    configured(GUEST, "{\"cart\": []}")
    result = api.call("woocommerce-get-session", session_key=GUEST)
    assert (result.status, result.response) == (502, "wordpress-database-error")
