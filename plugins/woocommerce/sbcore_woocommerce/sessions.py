"""WooCommerce sessions (carts) from WordPress's ``{prefix}woocommerce_sessions`` table,
read through an optional connection to the WordPress database, as Support Board reads
them: no REST endpoint gives the shop owner a shopper's session.

WooCommerce's ``WC_Session_Handler`` stores ``serialize($data)`` in ``session_value``,
where each entry of ``$data`` is itself ``maybe_serialize``d: ``cart``, ``cart_totals``
and ``customer`` are unserialized into objects (as the reference's example shows) and
the other entries stay the strings WooCommerce wrote (``"applied_coupons": "a:0:{}"``).
PHP's format is read with ``phpserialize``, never evaluated; arrays become what PHP's
``json_encode`` makes of them (a list when the keys are 0..n-1, else an object).

Each call opens its own connection, runs one parameterized SELECT and closes it; no
sbcore transaction is held meanwhile (``transaction=False``)."""

import re
import time
from urllib.parse import unquote, urlsplit

import phpserialize

from sbcore import ApiError, FunctionSet, outbound
from sbcore.errors import invalid_argument
from sbcore.settings import Setting, invalid

functions = FunctionSet()
PREFIX = re.compile(r"^[A-Za-z0-9_]{1,20}$")  # it becomes part of a table name
SESSION_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # a customer id, or a guest's hash (t_… in newer WooCommerce)
NESTED = ("cart", "cart_totals", "customer")  # the entries the reference shows as objects
URL_OPTIONS = {"charset", "ssl_ca", "ssl_cert", "ssl_key", "ssl_verify_cert", "ssl_verify_identity", "ssl_disabled"}
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10


def check_database_url(value):
    value = value.strip()
    if value:
        problem = url_problem(value)
        if problem:
            raise invalid("woocommerce-wordpress-database", problem)
    return value


def check_prefix(value):
    value = value.strip()
    if not PREFIX.match(value):
        raise invalid("woocommerce-table-prefix", "WordPress's table prefix: 1 to 20 letters, digits or "
                      "underscores (e.g. wp_).")
    return value


SETTINGS = [
    Setting("woocommerce-wordpress-database", "password", "",
            "The WordPress database, for woocommerce-get-session and guests' woocommerce-get-customer "
            "(carts live in its woocommerce_sessions table): mysql://user:password@host:3306/database "
            "(percent-encode special characters; a user with SELECT on that table is enough). Empty: "
            "those answer woocommerce-not-active / woocommerce-session-not-available", check_database_url),
    Setting("woocommerce-wordpress-database-private", "checkbox", False,
            "Allow woocommerce-wordpress-database to name a loopback or private-network host (a "
            "database beside sbcore). Off: the host must resolve to public addresses only, as every "
            "outbound call's (SB_ALLOW_PRIVATE_NETWORK allows all private hosts)."),
    Setting("woocommerce-table-prefix", "text", "wp_",
            "The WordPress database's table prefix ($table_prefix in wp-config.php)", check_prefix),
]


def url_problem(url):
    """Why ``url`` is no usable mysql:// URL (the sentence never repeats the URL), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "not a URL such as mysql://user:password@host:3306/wordpress."
    if parts.scheme != "mysql":
        return "a mysql:// URL (WordPress runs on MySQL or MariaDB), e.g. mysql://user:password@host:3306/wordpress."
    if not parts.hostname or not parts.path.strip("/") or "/" in parts.path.strip("/"):
        return "a URL with a host and a database name, e.g. mysql://user:password@host:3306/wordpress."
    options = {pair.split("=", 1)[0] for pair in parts.query.split("&") if pair}
    if options - URL_OPTIONS:
        return f"only these options may follow '?': {', '.join(sorted(URL_OPTIONS))}."
    return None


# --- PHP's serialize format ---


def php_array(pairs):
    """A PHP array as ``json_encode`` writes it: a list when its keys are 0..n-1, else an
    object with string keys."""
    if all(key == index for index, (key, _) in enumerate(pairs)):
        return [value for _, value in pairs]
    return {str(key): value for key, value in pairs}


def php_object(name, members):
    """An object as ``json_encode`` writes it: its public members (private and protected
    ones are serialized with a NUL-prefixed name)."""
    return {str(key): value for key, value in members.items() if not str(key).startswith("\0")}


def unserialize(data):
    """The value of PHP-serialized ``data`` (bytes or str); ValueError when it is not."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        return phpserialize.loads(data, decode_strings=True, errors="replace",
                                  array_hook=php_array, object_hook=php_object)
    except (ValueError, TypeError, RecursionError) as error:
        raise ValueError(f"not PHP-serialized data ({error})") from None


def session_answer(value):
    """The reference's answer for a session_value: the outer array with ``cart``,
    ``cart_totals`` and ``customer`` unserialized, the other entries as stored."""
    try:
        session = unserialize(value)
    except ValueError:
        raise ApiError("wordpress-database-error", "The WooCommerce session is not PHP-serialized data.",
                       502) from None
    if isinstance(session, list):  # an empty PHP array
        session = {str(index): entry for index, entry in enumerate(session)}
    if not isinstance(session, dict):
        raise ApiError("wordpress-database-error", "The WooCommerce session is not an array.", 502)
    for name in NESTED:
        if isinstance(session.get(name), str):
            try:
                session[name] = unserialize(session[name])
            except ValueError:
                pass  # a plain string that WooCommerce stored unserialized stays as it is
    return session


# --- the WordPress database ---


def session_row(ctx, session_key):
    """The ``session_value`` (bytes) of the live session ``session_key``, or None.
    ``woocommerce-not-active`` (400) while the WordPress database is not configured."""
    url = (ctx.settings.get("woocommerce-wordpress-database") or "").strip()
    if not url:
        raise ApiError("woocommerce-not-active", "The WordPress database is not configured: set "
                       "woocommerce-wordpress-database (mysql://user:password@host:3306/wordpress).", 400)
    check_database_host(ctx, url)
    return read_session(url, ctx.settings.get("woocommerce-table-prefix") or "wp_", session_key)


def check_database_host(ctx, url):
    """The database's host passes the outbound guard's address check, unless the
    ``woocommerce-wordpress-database-private`` setting allows a private host."""
    if url_problem(url) or ctx.settings.get("woocommerce-wordpress-database-private"):
        return
    parts = urlsplit(url)
    try:
        outbound.check_host(ctx.config, parts.hostname, parts.port or 3306)
    except outbound.OutboundRefused as error:
        raise ApiError("url-not-allowed", f"The WordPress database's host is refused: {error}; set "
                       "woocommerce-wordpress-database-private to allow it.", 400)


def read_session(url, prefix, session_key):
    problem = url_problem(url)
    if problem:
        raise ApiError("woocommerce-database-not-configured",
                       f"The setting 'woocommerce-wordpress-database' is invalid: {problem}", 400)
    if not PREFIX.match(prefix):
        raise ApiError("invalid-setting-value", "The setting 'woocommerce-table-prefix' is invalid: 1 to 20 "
                       "letters, digits or underscores.", 400)
    import peewee
    import pymysql
    from playhouse.db_url import connect, parse

    password = urlsplit(url).password or ""
    charset = {} if "charset" in parse(url) else {"charset": "utf8mb4"}
    database = connect(url, unquote_password=True, unquote_user=True, **charset,
                       connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, write_timeout=READ_TIMEOUT,
                       local_infile=False)
    if "passwd" in database.connect_params:  # peewee's name for it; PyMySQL deprecates it
        database.connect_params["password"] = database.connect_params.pop("passwd")
    table = f"{prefix}woocommerce_sessions"
    try:
        database.connect()
        cursor = database.execute_sql(
            f"SELECT CAST(session_value AS BINARY) FROM `{table}` WHERE session_key = %s AND session_expiry > %s",
            (session_key, int(time.time())))
        row = cursor.fetchone()
    except (peewee.PeeweeException, pymysql.MySQLError, OSError) as error:
        detail = str(error)
        for secret in {password, unquote(password)} - {""}:
            detail = detail.replace(secret, "***")
        raise ApiError("wordpress-database-error", f"The WordPress database could not be read: {detail}",
                       502) from None
    finally:
        if not database.is_closed():
            database.close()
    return None if row is None else row[0]


def check_session_key(session_key):
    key = str(session_key).strip()
    if not SESSION_KEY.match(key):
        raise invalid_argument("session_key", "a WooCommerce session key (a customer id or a guest's key, "
                               "see woocommerce-get-session-key).")
    return key


def live_session(ctx, session_key):
    """The session answer of ``session_key``, or None when it has no live session."""
    value = session_row(ctx, check_session_key(session_key))
    return None if value is None else session_answer(value)


@functions("woocommerce-get-session", transaction=False)
def woocommerce_get_session(ctx, session_key: str):
    """The session (cart, totals, customer …) WooCommerce keeps for ``session_key``; false
    when there is none that has not expired."""
    session = live_session(ctx, session_key)
    return False if session is None else session
