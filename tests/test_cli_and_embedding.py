"""The command line, configuration and embedding."""

import os
import subprocess
import sys

import pytest

import sbcore
from sbcore import db as dbmod
from sbcore.config import Config, read_env_file
from sbcore.errors import ApiError

SBCORE = [sys.executable, "-m", "sbcore.cli"]


def run_cli(tmp_path, *args, env=None):
    environment = dict(os.environ, SB_DATABASE_URL=f"sqlite:///{tmp_path}/cli.db",
                       SB_UPLOADS_DIR=str(tmp_path / "uploads"), SB_BCRYPT_ROUNDS="4")
    environment.pop("SB_SECRET_KEY", None)
    environment.update(env or {})
    return subprocess.run(SBCORE + list(args), cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_init_is_idempotent_and_creates_bot_and_secret(tmp_path):
    first = run_cli(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert "applied core 0001" in first.stdout and "generated the secret key" in first.stdout
    second = run_cli(tmp_path, "init")
    assert second.returncode == 0 and "applied" not in second.stdout
    core = sbcore.connect(f"sqlite:///{tmp_path}/cli.db", uploads_dir=str(tmp_path / "u"))
    try:
        assert int(core.call("get-bot-id")) > 0
        assert len(core.secret_key) >= 40
    finally:
        core.close()


def test_secret_key_differs_between_installs(tmp_path):
    keys = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        assert run_cli(folder, "init").returncode == 0
        core = sbcore.connect(f"sqlite:///{folder}/cli.db")
        keys.append(core.secret_key)
        core.close()
    assert keys[0] != keys[1]


def test_create_admin_prints_token_last_and_it_opens_the_api(tmp_path):
    run_cli(tmp_path, "init")
    result = run_cli(tmp_path, "create-admin", "--email", "boss@example.com", "--password", "pw123456",
                     "--first-name", "Bo")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert len(token) == 40
    core = sbcore.connect(f"sqlite:///{tmp_path}/cli.db")
    try:
        assert core.admin_for_token(token) is not None
        assert core.admin_for_token("x" * 40) is None
    finally:
        core.close()
    again = run_cli(tmp_path, "create-admin", "--email", "boss@example.com", "--password", "x")
    assert again.returncode == 1 and "duplicate-email" in again.stderr
    chosen = run_cli(tmp_path, "create-admin", "--email", "two@example.com", "--password", "pw",
                     "--token", "t" * 40)
    assert chosen.stdout.strip().splitlines()[-1] == "t" * 40


def test_init_create_admin_only_once(tmp_path):
    first = run_cli(tmp_path, "init", "--create-admin")
    assert "admin token (shown once):" in first.stdout
    second = run_cli(tmp_path, "init", "--create-admin")
    assert "admin token" not in second.stdout and "exists already" in second.stdout


def test_worker_once_runs_due_jobs(tmp_path):
    run_cli(tmp_path, "init")
    result = run_cli(tmp_path, "worker", "--once")
    assert result.returncode == 0 and "purge-expired" in result.stdout
    # the daily jobs are not due again; a job of a few seconds' interval (an installed
    # plugin's outbox) may be, the second process starting seconds later
    again = run_cli(tmp_path, "worker", "--once").stdout
    assert again.startswith("ran: ") and "purge-expired" not in again


def test_export_users_shows_progress(tmp_path):
    run_cli(tmp_path, "init")
    core = sbcore.connect(f"sqlite:///{tmp_path}/cli.db")
    for i in range(3):
        core.call("add-user", first_name=f"P{i}")
    core.close()
    result = run_cli(tmp_path, "export-users", "--output", "out.csv")
    assert result.returncode == 0, result.stderr
    assert "3 users written" in result.stdout
    assert "3/3" in result.stderr  # the progress bar
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 4


def test_env_file_adds_to_the_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nSB_PUBLIC_URL='https://help.example.com/'\n"
                        "export SB_WORKER=off\nSB_DATABASE_URL=sqlite:///from-file.db\n")
    assert read_env_file(env_file)["SB_WORKER"] == "off"
    config = Config.from_env({"SB_DATABASE_URL": "sqlite:///from-env.db"}, env_file=str(env_file))
    assert config.public_url == "https://help.example.com"
    assert config.worker == "off"
    assert config.database_url == "sqlite:///from-env.db"
    with pytest.raises(ValueError):
        Config.from_env({"SB_WORKER": "sometimes"}, env_file=None)
    assert Config.from_env({"SB_URL_TWILIO": "http://127.0.0.1:9/"}, env_file=None) \
        .url_overrides == {"twilio": "http://127.0.0.1:9"}


def test_in_process_client(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("uses its own SQLite file")
    core = sbcore.connect(f"sqlite:///{tmp_path}/embedded.db", uploads_dir=str(tmp_path / "up"),
                          public_url="https://desk.example.com", bcrypt_rounds=4)
    try:
        user_id = core.call("add-user", first_name="Ann", email="ann@example.com",
                            extra={"phone": ["1", "Phone"]})
        user = core.call("get-user", user_id=user_id, extra=True)
        assert user["profile_image"] == "https://desk.example.com/static/user.svg"
        assert user["details"][0]["value"] == "1"
        with pytest.raises(ApiError) as raised:
            core.call("add-user", email="ann@example.com")
        assert raised.value.code == "duplicate-email" and raised.value.status == 409
        with pytest.raises(ApiError) as raised:
            core.call("get-users", sorting=["token", "ASC"])
        assert raised.value.status == 400
        assert core.call("count-users")["user"] == "1"
    finally:
        core.close()


def test_create_app_for_mounting(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("uses its own SQLite file")
    from falcon.testing import TestClient
    config = Config(database_url=f"sqlite:///{tmp_path}/mounted.db", uploads_dir=str(tmp_path / "u"),
                    worker="off")
    sbcore.connect(config.database_url).close()
    app = sbcore.create_app(config)
    assert TestClient(app).simulate_get("/health").status_code == 200
    assert TestClient(app).simulate_post("/api", json={"function": "get-users"}).status_code == 401
    app.sbcore.close()


def test_missing_secret_key_is_a_clear_error(tmp_path):
    from sbcore.core import Core
    from sbcore.errors import StartupError
    core = Core(Config(database_url=f"sqlite:///{tmp_path}/nokey.db", worker="off"),
                load_entrypoints=False)
    with dbmod.connection() as database:
        database.create_tables([sbcore.models.Setting])
    with pytest.raises(StartupError, match="sbcore init"):
        core.secret_key
    core.close()


def test_clean_data_command_shows_progress(tmp_path):
    run_cli(tmp_path, "init")
    core = sbcore.connect(f"sqlite:///{tmp_path}/cli.db")
    ids = [core.call("add-user") for _ in range(3)]
    with dbmod.connection():
        from sbcore.models import User
        User.update(last_activity="2020-01-01 00:00:00").where(User.id.in_(ids)).execute()
    core.close()
    result = run_cli(tmp_path, "clean-data")
    assert result.returncode == 0, result.stderr
    assert "deleted 3 visitors" in result.stdout and "longest batch" in result.stdout
    assert "3rows" in result.stderr.replace(" ", "")  # the progress bar
