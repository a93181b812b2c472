"""pytest fixtures for sbcore and for plugin authors. Opt-in: a project turns them on in
its top conftest.py with ``pytest_plugins = ["sbcore.testing"]``; every fixture is named
``sbcore_…`` so that none shadows a fixture of the project's own.

Declare what a test module needs with the ``sbcore`` marker::

    pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True,
                                    settings={"telegram-bots": [...]})

- ``sbcore_plugins``: the plugin modules under test (the marker's ``plugins``, or override it).
- ``sbcore_pm``: a plugin manager with the core's plugins and ``sbcore_plugins``, no entry points.
- ``sbcore_config``: the configuration (SQLite in ``tmp_path`` or ``SB_TEST_DATABASE_URL``;
  the marker's ``private_network=True`` relaxes the outbound guard for loopback and
  ``responses``).
- ``sbcore_core``: a ready core, with the marker's ``settings`` saved.
- ``sbcore_admin_token``, ``sbcore_app``, ``sbcore_api`` (the Web API through falcon's
  TestClient, posting urlencoded bodies as clients do), ``sbcore_http`` (the bare
  TestClient: inbound webhooks), ``sbcore_widget`` (the visitor API).
- ``sbcore_receiver``: a webhook receiver on loopback.
- ``sbcore_assert_query_count``: pins how many SQL statements a block runs."""

import json
import logging
import os
from contextlib import contextmanager

import pytest

from . import db as dbmod
from .config import Config

TEST_DATABASE_ENV = "SB_TEST_DATABASE_URL"
_prepared = set()


def encode_field(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if value is None:
        return "null"
    return str(value)


class ApiResult:
    def __init__(self, result):
        self.result = result
        self.status = result.status_code
        self.json = result.json

    @property
    def response(self):
        return self.json["response"]

    @property
    def ok(self):
        return self.status == 200 and self.json.get("success") is True

    def __repr__(self):
        return f"<ApiResult {self.status} {self.json!r}>"


class ApiClient:
    """Calls the Web API through falcon's TestClient."""

    def __init__(self, app, token):
        from falcon.testing import TestClient
        self.client = TestClient(app)
        self.app = app
        self.token = token

    def call(self, function, path="/api", token=None, **fields):
        body = {"token": self.token if token is None else token, "function": function}
        body.update({key: encode_field(value) for key, value in fields.items()})
        return ApiResult(self.client.simulate_post(path, **_form(body)))

    def ok(self, function, **fields):
        """Call and assert success; return the response value."""
        result = self.call(function, **fields)
        assert result.ok, result
        return result.response

    def post_json(self, body, path="/api", headers=None):
        return ApiResult(self.client.simulate_post(path, json=body, headers=headers))


class WidgetClient:
    """Calls the visitor API (``/widget/api``) as a chat widget does: register or log in
    once, then send the login cookie as ``Authorization: Bearer``."""

    def __init__(self, app, cookie=None, headers=None):
        from falcon.testing import TestClient
        self.client = TestClient(app)
        self.cookie = cookie
        self.headers = dict(headers or {})
        self.user = None

    def call(self, function, **fields):
        body = {"function": function}
        body.update({key: encode_field(value) for key, value in fields.items()})
        headers = dict(self.headers)
        if self.cookie:
            headers["Authorization"] = f"Bearer {self.cookie}"
        return ApiResult(self.client.simulate_post("/widget/api", headers=headers, **_form(body)))

    def ok(self, function, **fields):
        result = self.call(function, **fields)
        assert result.ok, result
        return result.response

    def upload(self, name, data, content_type="application/octet-stream"):
        """Upload one file through ``/widget/upload`` as the widget does (multipart
        field ``file``, the login cookie as ``Authorization: Bearer``)."""
        boundary = "sbcoreboundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").encode() \
            + data + f"\r\n--{boundary}--\r\n".encode()
        headers = dict(self.headers, **{"Content-Type": f"multipart/form-data; boundary={boundary}"})
        if self.cookie:
            headers["Authorization"] = f"Bearer {self.cookie}"
        return ApiResult(self.client.simulate_post("/widget/upload", body=body, headers=headers))

    def register(self, **fields):
        """Register a new visitor and keep its login cookie; returns its user."""
        answer = self.ok("register", **fields)
        self.cookie, self.user = answer["login-cookie"], answer["user"]
        return self.user

    def new(self, **fields):
        """Another widget (another browser) on the same app, registered."""
        other = WidgetClient(self.client.app, headers=self.headers)
        other.register(**fields)
        return other


def _form(body):
    from urllib.parse import urlencode
    return {"body": urlencode(body), "content_type": "application/x-www-form-urlencoded"}


class QueryCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.queries = []

    def emit(self, record):
        if isinstance(record.msg, tuple):  # peewee logs (sql, params); pool messages are text
            self.queries.append(record.msg[0])


@contextmanager
def count_queries():
    logger = logging.getLogger("peewee")
    counter = QueryCounter()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sbcore(plugins=[...], settings={...}, private_network=False): what the "
        "sbcore_ fixtures set up for a test (sbcore.testing)")


def _marker(request, name, default):
    marker = request.node.get_closest_marker("sbcore")
    return marker.kwargs.get(name, default) if marker else default


@pytest.fixture
def sbcore_assert_query_count():
    """``with assert_query_count(3): ...`` fails when the block runs another number of
    SQL statements (transaction control excluded)."""
    @contextmanager
    def check(expected):
        with count_queries() as counter:
            yield counter
        statements = [q for q in counter.queries
                      if not q.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK",
                                                            "SAVEPOINT", "RELEASE"))]
        assert len(statements) == expected, \
            f"expected {expected} queries, ran {len(statements)}:\n" + "\n".join(statements)
    return check


@pytest.fixture
def sbcore_plugins(request):
    """Plugin modules to register besides the core's: the ``sbcore`` marker's ``plugins``
    (or override this fixture)."""
    return list(_marker(request, "plugins", ()))


@pytest.fixture
def sbcore_pm(sbcore_plugins):
    from .plugins import get_plugin_manager
    return get_plugin_manager(load_entrypoints=False, plugins=sbcore_plugins)


@pytest.fixture
def sbcore_database_url(tmp_path):
    return os.environ.get(TEST_DATABASE_ENV) or f"sqlite:///{tmp_path}/sbcore.db"


def make_config(request, tmp_path, database_url):
    """The test configuration: files in ``tmp_path``, no worker thread, cheap bcrypt."""
    return Config(database_url=database_url, uploads_dir=str(tmp_path / "uploads"),
                  data_dir=str(tmp_path / "data"),
                  public_url="http://testserver", worker="off",
                  bcrypt_rounds=4, allow_private_network=bool(_marker(request, "private_network", False)))


@pytest.fixture
def sbcore_config(request, tmp_path, sbcore_database_url):
    return make_config(request, tmp_path, sbcore_database_url)


def reset_server_database(core):
    """Empty every sbcore table of a shared test server database (schema kept);
    the schema is dropped and rebuilt once per test session."""
    database = core.database
    kind = dbmod.kind(database)
    with dbmod.connection():
        url = core.config.database_url
        if url not in _prepared:
            tables = [t for t in database.get_tables() if t.startswith("sb_")]
            if kind == "mysql":
                database.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
                for table in tables:
                    database.execute_sql(f"DROP TABLE IF EXISTS `{table}`")
                database.execute_sql("SET FOREIGN_KEY_CHECKS = 1")
            else:
                for table in tables:
                    database.execute_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            _prepared.add(url)
            return
        # kept: the applied migrations and the search's record of its generation tables
        tables = [t for t in database.get_tables() if t.startswith("sb_")
                  and t not in ("sb_migrations", "sb_search_generations")]
        if kind == "mysql":
            database.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
            for table in tables:
                database.execute_sql(f"TRUNCATE TABLE `{table}`")
            database.execute_sql("SET FOREIGN_KEY_CHECKS = 1")
        elif tables:
            database.execute_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                 + " RESTART IDENTITY CASCADE")


@pytest.fixture
def sbcore_core(request, sbcore_pm, sbcore_config):
    from .core import Core
    instance = Core(sbcore_config, pm=sbcore_pm)
    if not sbcore_config.database_url.startswith("sqlite"):
        reset_server_database(instance)
    instance.init(report=lambda line: None)
    # tests observe the events a call fires through the pull feed (get-events), which
    # keeps them only while webhooks-feed is on (off by default: no rows nobody reads)
    with dbmod.connection():
        instance.settings.set("webhooks-feed", True)
        instance.settings.current()  # a warm settings cache, as a running server has
    settings = _marker(request, "settings", {})
    if settings:
        with dbmod.connection():
            for setting_id, value in settings.items():
                instance.settings.set(setting_id, value)
    yield instance
    instance.close()


@pytest.fixture
def sbcore_ctx(sbcore_core):
    """A context with an open connection, for calling domain code directly."""
    with dbmod.connection():
        yield sbcore_core.context()


@pytest.fixture
def sbcore_admin_token(sbcore_core):
    from .cli import create_admin
    return create_admin(sbcore_core, "admin@example.com", "admin-password", "Ada", "Admin", None).token


@pytest.fixture
def sbcore_app(sbcore_core):
    from .web import create_app
    return create_app(core=sbcore_core, start_worker=False)


@pytest.fixture
def sbcore_api(sbcore_app, sbcore_admin_token):
    return ApiClient(sbcore_app, sbcore_admin_token)


@pytest.fixture
def sbcore_http(sbcore_app):
    """falcon's TestClient on the app: inbound webhooks, pages, any path."""
    from falcon.testing import TestClient
    return TestClient(sbcore_app)


@pytest.fixture
def sbcore_widget(sbcore_app):
    """A visitor's chat widget, not yet registered (``widget.register()``)."""
    return WidgetClient(sbcore_app)


def offline(core, *user_ids):
    """Make users look offline (last active a day ago); the Redis presence backend, if
    any, is not touched."""
    from datetime import timedelta

    from .models import User
    with dbmod.connection():
        User.update(last_activity=dbmod.utcnow() - timedelta(days=1)).where(
            User.id.in_(user_ids)).execute()


def agents_offline(core):
    """Every agent and admin offline, such as the admin whose token the tests use."""
    from .models import User
    from .models.users import AGENT_TYPES
    with dbmod.connection():
        ids = [u.id for u in User.select(User.id).where(User.user_type.in_(AGENT_TYPES))]
    offline(core, *ids)


# --- the reference's documented shapes ---

def reference_dir():
    """The project's copy of the reference facts (``tests/reference`` of the checkout,
    written by ``tools/make_reference.py``); tests never read the reference beside the checkout."""
    from pathlib import Path
    return str(Path(__file__).resolve().parents[1] / "tests" / "reference")


def _reference_file(name):
    path = os.path.join(reference_dir(), name)
    if not os.path.isfile(path):
        raise AssertionError(f"{path} is missing: sbcore's own tests run from a checkout "
                             "(the file is written by tools/make_reference.py)")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def reference_functions():
    """Every reference function by name: description, arguments, notes and ``examples``
    (its example answers as JSON values)."""
    return {entry["name"]: entry for entry in _reference_file("functions.json")}


def reference_function_names():
    return [entry["name"] for entry in _reference_file("functions.json")]


def reference_example(name):
    """The reference's example answer of ``name`` (the ``response`` when enveloped)."""
    examples = reference_functions()[name]["examples"]
    assert examples, f"the reference has no parseable example for {name}"
    example = examples[0]
    if isinstance(example, dict) and "success" in example and "response" in example:
        return example["response"]
    return example


def assert_shape(value, example, path="response"):
    """``value`` has the example's shape: the same keys in objects, the same JSON
    kinds (a null in the example admits anything), lists checked on their first item."""
    if example is None:
        return
    if isinstance(example, dict):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        assert set(value) == set(example), \
            f"{path}: keys {sorted(value)} differ from the reference's {sorted(example)}"
        for key in example:
            assert_shape(value[key], example[key], f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        if example and value:
            assert_shape(value[0], example[0], f"{path}[0]")
    elif isinstance(example, bool):
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
    elif isinstance(example, (int, float)):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), \
            f"{path}: expected a number, got {value!r}"
    elif isinstance(example, str):
        assert value is None or isinstance(value, str), f"{path}: expected a string, got {value!r}"


def reference_webhook(name):
    """The reference's example body of webhook ``name``."""
    bodies = _reference_file("webhooks.json")
    if name not in bodies:
        raise AssertionError(f"no example of the webhook {name}")
    return bodies[name]


class Receiver:
    """A webhook receiver on loopback: records every request, answers the statuses
    queued in ``statuses`` (200 once they run out), optionally slowly."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.requests = []
        self.statuses = []
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), raw))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay:
                    import time
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        return [json.loads(raw) for _, raw in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sbcore_receiver():
    server = Receiver()
    yield server
    server.close()
