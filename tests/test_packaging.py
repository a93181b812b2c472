"""pip: the core and every plugin build as an sdist and a wheel with full metadata; the
built wheels install into a fresh venv (with the mysql, postgres and redis extras) and serve."""

import configparser
import email
import glob
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECTS = [ROOT] + sorted(os.path.dirname(p) for p in glob.glob(os.path.join(ROOT, "plugins", "*", "setup.cfg")))


@pytest.mark.parametrize("project", PROJECTS, ids=[os.path.basename(p) for p in PROJECTS])
def test_every_distribution_declares_its_metadata(project):
    config = configparser.ConfigParser()
    config.read(os.path.join(project, "setup.cfg"))
    metadata = config["metadata"]
    for key in ("name", "version", "description", "license", "classifiers", "long_description"):
        assert metadata.get(key, "").strip(), f"{project}: metadata {key} missing"
    assert metadata["long_description"] == "file: README.md"
    assert os.path.isfile(os.path.join(project, "README.md"))
    assert os.path.isfile(os.path.join(project, "LICENSE"))
    assert config["options"]["python_requires"] == ">=3.11"
    assert "License ::" not in metadata["classifiers"]  # the SPDX `license` says it


def build(project, outdir):
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), project],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    for warning in ("is absent from the `packages` configuration", "License classifiers are deprecated",
                    "SetuptoolsDeprecationWarning"):
        assert warning not in output, f"{project}: setuptools warns: {warning}"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_built_wheels_install_in_a_fresh_venv_and_serve(tmp_path):
    dist = tmp_path / "dist"
    build(ROOT, dist)
    build(os.path.join(ROOT, "plugins", "telegram"), dist)
    wheels = sorted(glob.glob(str(dist / "*.whl")))
    assert {os.path.basename(w).split("-")[0] for w in wheels} == {"sbcore", "sbcore_telegram"}
    assert len(glob.glob(str(dist / "*.tar.gz"))) == 2
    core_wheel = [w for w in wheels if os.path.basename(w).startswith("sbcore-")][0]
    with zipfile.ZipFile(core_wheel) as archive:
        names = archive.namelist()
        meta = email.message_from_bytes(archive.read(next(n for n in names if n.endswith("METADATA"))))
    assert meta["Version"] == "0.1.0" and meta["License"] == "MIT" and meta["Requires-Python"] == ">=3.11"
    assert meta.get_all("Classifier") and "make run" in meta.get_payload()
    assert set(meta.get_all("Provides-Extra")) >= {"mysql", "postgres", "redis"}
    assert "sbcore/web/static/widget.js" in names and "sbcore/web/templates/chat.html" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", f"{core_wheel}[mysql,postgres,redis]",
                              *[w for w in wheels if w != core_wheel]],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    extras = subprocess.run([python, "-c", "import pymysql, psycopg2, redis, sbcore_telegram"],
                            capture_output=True, text=True, timeout=60)
    assert extras.returncode == 0, extras.stderr

    work = tmp_path / "site"
    work.mkdir()
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SB_", "VIRTUAL_ENV"))}
    environment.update(SB_DATABASE_URL=f"sqlite:///{work}/site.db", SB_WORKER="off", SB_BCRYPT_ROUNDS="4")
    sbcore_cli = str(venv / "bin" / "sbcore")
    token = "w" * 40
    made = subprocess.run([sbcore_cli, "create-admin", "--email", "a@example.com", "--password", "pw-123456",
                           "--token", token], cwd=work, env=environment, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr  # a new database: create-admin migrates first
    assert made.stdout.strip().splitlines()[-1] == token
    server = subprocess.Popen([sbcore_cli, "serve", "--port", str(port), "--workers", "1"], cwd=work,
                              env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):  # at most about a minute for gunicorn to boot
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(server.stdout.read().decode())
                time.sleep(0.5)
        request = urllib.request.Request(f"{base}/api/get-users", data=b"{}", method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        import json
        answer = json.load(urllib.request.urlopen(request, timeout=10))
        assert answer["success"] is True and answer["response"][0]["email"] == "a@example.com"
        spec = json.load(urllib.request.urlopen(f"{base}/openapi.json", timeout=10))
        assert "/api/telegram-send-message" in spec["paths"]
        assert "/api/woocommerce-get-customer" not in spec["paths"]
        docs = urllib.request.urlopen(f"{base}/docs", timeout=10).read().decode()
        assert "telegram-send-message" in docs
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
