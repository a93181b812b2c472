"""A newcomer's first hour: every first step works as the README and docs/getting-started.md
write it."""

import os
import re
import subprocess
import sys

import pytest
from falcon.testing import TestClient

import sbcore
from sbcore import cli
from sbcore import db as dbmod
from sbcore.config import Config
from sbcore.core import Core
from sbcore.errors import StartupError
from sbcore.plugins import get_plugin_manager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def own_sqlite(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("makes its own SQLite files")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """The environment of a newcomer in a fresh folder: no SB_ variable, no .env."""
    for key in list(os.environ):
        if key.startswith("SB_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SB_DATABASE_URL", f"sqlite:///{tmp_path}/first.db")
    monkeypatch.setenv("SB_UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("SB_WORKER", "off")
    monkeypatch.setenv("SB_BCRYPT_ROUNDS", "4")
    return monkeypatch


@pytest.fixture
def served(clean_env):
    """``sbcore serve`` up to the point where gunicorn would fork: returns the app it loads."""
    from gunicorn.app.base import BaseApplication
    loaded = []
    clean_env.setattr(BaseApplication, "run", lambda self: loaded.append(self.load()))

    def serve(*args):
        assert cli.main(["serve", *args]) == 0
        app = loaded.pop()
        return app
    return serve


# --- the public URL follows the port ---

def test_the_urls_handed_out_follow_the_port_served_on(own_sqlite, served):
    app = served("--port", "8765")
    try:
        assert app.sbcore.config.public_url == "http://127.0.0.1:8765"
        user_id = app.sbcore.call("add-user", first_name="Ann")
        assert app.sbcore.call("get-user", user_id=user_id)["profile_image"] \
            .startswith("http://127.0.0.1:8765/")
    finally:
        app.sbcore.close()


def test_an_explicit_public_url_wins_over_the_port(own_sqlite, served, clean_env):
    clean_env.setenv("SB_PUBLIC_URL", "https://help.example.com/")
    app = served("--port", "8765", "--host", "0.0.0.0")
    try:
        assert app.sbcore.config.public_url == "https://help.example.com"
    finally:
        app.sbcore.close()


def test_serving_on_every_interface_hands_out_loopback():
    config = Config.from_env({}, env_file=None)
    assert config.serving("0.0.0.0", 9000).public_url == "http://127.0.0.1:9000"
    assert config.serving("::1", 9000).public_url == "http://[::1]:9000"


# --- never a half-made schema ---

def test_create_app_on_a_new_database_applies_the_migrations(own_sqlite, tmp_path):
    config = Config(database_url=f"sqlite:///{tmp_path}/new.db", uploads_dir=str(tmp_path / "u"),
                    worker="off", bcrypt_rounds=4)
    app = sbcore.create_app(config)
    try:
        client = TestClient(app)
        from sbcore.cli import create_admin
        token = create_admin(app.sbcore, "a@example.com", "password", "A", "", None).token
        answer = client.simulate_post("/api/add-user", json={"first_name": "Ann"},
                                      headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
    finally:
        app.sbcore.close()


def test_create_app_without_migrating_refuses_in_one_line_naming_the_command(own_sqlite, tmp_path):
    config = Config(database_url=f"sqlite:///{tmp_path}/new.db", worker="off")
    with pytest.raises(StartupError) as raised:
        sbcore.create_app(config, migrate=False)
    message = str(raised.value)
    assert "sbcore init" in message and "\n" not in message
    Core(config).close()


def test_sbcore_serve_migrates_before_the_workers_start(own_sqlite, served, tmp_path, capsys):
    app = served("--port", "8766")
    try:
        assert "applied core 0001" in capsys.readouterr().out
        with dbmod.connection() as database:
            assert database.table_exists("sb_users")
    finally:
        app.sbcore.close()


MIGRATED = []


def plugin_with_a_table():
    """A plugin installed after the database was made: one model, one migration."""
    import types

    import peewee

    from sbcore import BaseModel, hookimpl
    from sbcore.migrations import Migration

    class Shelf(BaseModel):
        label = peewee.CharField()

        class Meta:
            table_name = "sb_demo_shelves"

    module = types.ModuleType("demo_plugin")
    module.sbcore_register_models = hookimpl(lambda: [Shelf])
    module.sbcore_register_migrations = hookimpl(lambda: [
        Migration("demo", 1, "shelves", lambda database, migrator: database.create_tables([Shelf]))])
    return module


def test_a_plugin_installed_later_gets_its_tables_when_the_app_starts(own_sqlite, tmp_path):
    config = Config(database_url=f"sqlite:///{tmp_path}/old.db", worker="off")
    before = Core(config, pm=get_plugin_manager(load_entrypoints=False))
    before.init(report=lambda line: None)
    before.close()
    core = Core(config, pm=get_plugin_manager(load_entrypoints=False, plugins=[plugin_with_a_table()]))
    with pytest.raises(StartupError, match="sbcore init"):
        sbcore.create_app(core=core, migrate=False)
    app = sbcore.create_app(core=core)
    try:
        with dbmod.connection() as database:
            assert database.table_exists("sb_demo_shelves")
    finally:
        app.sbcore.close()


def test_a_migration_another_process_applied_meanwhile_counts_as_applied(own_sqlite, tmp_path,
                                                                          monkeypatch):
    """Two gunicorn workers starting at once on a new database: both read the migration
    as pending; the second one's CREATE fails, finds the first one's record and goes on."""
    from sbcore import migrations
    config = Config(database_url=f"sqlite:///{tmp_path}/race.db", worker="off")
    core = Core(config, pm=get_plugin_manager(load_entrypoints=False, plugins=[plugin_with_a_table()]))
    try:
        with dbmod.connection():
            read_before = migrations.pending(core.pm, core.database)
        core.init(report=lambda line: None)  # the first worker
        monkeypatch.setattr(migrations, "pending", lambda pm, database: read_before)
        with dbmod.connection():
            assert migrations.apply_migrations(core.pm, core.database, report=print) == []
    finally:
        core.close()


# --- the admin token ---

def run_cli(tmp_path, *args):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SB_")}
    environment.update(SB_DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", SB_BCRYPT_ROUNDS="4",
                       SB_UPLOADS_DIR=str(tmp_path / "uploads"))
    return subprocess.run([sys.executable, "-m", "sbcore.cli", *args], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_the_second_make_run_says_where_the_token_is_and_sbcore_token_prints_it(own_sqlite, tmp_path):
    first = run_cli(tmp_path, "init", "--create-admin")
    token = re.search(r"admin token \(shown once\): (\S+)", first.stdout).group(1)
    second = run_cli(tmp_path, "init", "--create-admin")
    assert "`sbcore token`" in second.stdout and "Users area" not in second.stdout
    printed = run_cli(tmp_path, "token")
    assert printed.returncode == 0 and printed.stdout.strip().splitlines()[-1] == token
    assert run_cli(tmp_path, "token", "--email", "nobody@example.com").returncode == 1


# --- a function of a plugin that is not installed ---

def test_a_plugin_function_without_its_plugin_names_the_distribution_to_install(api):
    for path in ("/api", "/include/api.php"):
        result = api.call("woocommerce-get-customer", path=path, user_id=1)
        assert result.status == 404 and result.json["response"] == "function-not-found"
        assert "pip install sbcore-woocommerce" in result.json["message"]
    result = api.call("no-such-function")
    assert result.status == 404 and "pip install" not in result.json["message"]


def test_the_plugin_index_is_in_step_with_the_plugins():
    """Every function an installed plugin of this repository registers is in the table
    under its distribution, and the table names nothing else."""
    import importlib.metadata

    from sbcore.plugin_index import PLUGIN_FUNCTIONS
    from sbcore.registry import canonical_functions, collect_functions
    distributions = {ep.name: ep.dist.name for ep in importlib.metadata.entry_points(group="sbcore")}
    registered = {}
    for name, function in canonical_functions(collect_functions(get_plugin_manager())).items():
        if function.owner in distributions:
            registered.setdefault(distributions[function.owner], set()).add(name)
    ours = {os.path.basename(p) for p in os.listdir(os.path.join(ROOT, "plugins"))
            if os.path.isfile(os.path.join(ROOT, "plugins", p, "setup.cfg"))}
    assert {d.removeprefix("sbcore-") for d in PLUGIN_FUNCTIONS} == ours
    for distribution, names in PLUGIN_FUNCTIONS.items():
        assert set(names) == registered[distribution], distribution


# --- make run installs the runtime only ---

def test_make_run_installs_the_runtime_without_the_test_extras(tmp_path):
    plan = subprocess.run(["make", "-n", "run", f"VENV={tmp_path}/venv"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    installs = [line for line in plan.stdout.splitlines() if "pip install" in line]
    assert any(" -e . " in line + " " for line in installs), installs
    assert not any(re.search(r"\[[^\]]*(test|bench)", line) for line in installs), installs
    tests = subprocess.run(["make", "-n", "test", f"VENV={tmp_path}/venv"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert "[test," in tests.stdout


def test_create_admin_on_a_new_database_makes_the_schema_first(own_sqlite, tmp_path):
    made = run_cli(tmp_path, "create-admin", "--email", "a@example.com", "--password", "pw-123456")
    assert made.returncode == 0, made.stderr
    assert "applied core 0001" in made.stdout and len(made.stdout.strip().splitlines()[-1]) == 40


def test_a_schema_that_cannot_be_made_stops_serve_in_one_line(own_sqlite, served, clean_env, capsys):
    """A database holding a table a migration wants to create (an old manual install)."""
    import sqlite3
    database = os.environ["SB_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE sb_users (id INTEGER PRIMARY KEY)")
    from sbcore.migrations import applied_elsewhere
    clean_env.setattr("sbcore.migrations.applied_elsewhere",
                      lambda migration: applied_elsewhere(migration, attempts=1))
    assert cli.main(["serve", "--port", "8767"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
