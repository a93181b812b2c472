"""``sbcore new-plugin NAME`` writes a plugin that passes its own test; sbcore.testing is
opt-in, so a project that installs sbcore gets none of its fixtures unasked."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(args, cwd, timeout=300):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SB_", "PYTEST"))}
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def test_new_plugin_writes_a_skeleton_whose_test_passes(tmp_path):
    made = run([sys.executable, "-m", "sbcore.cli", "new-plugin", "acme"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "sbcore-acme"
    assert {"setup.cfg", "pyproject.toml", "README.md"} <= set(os.listdir(folder))
    assert "acme = sbcore_acme.plugin" in (folder / "setup.cfg").read_text()
    tests = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=folder)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    again = run([sys.executable, "-m", "sbcore.cli", "new-plugin", "acme"], cwd=tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = run([sys.executable, "-m", "sbcore.cli", "new-plugin", "Acme-Corp"], cwd=tmp_path)
    assert bad.returncode == 1 and "lower-case" in bad.stderr


def test_sbcore_testing_does_not_leak_into_a_users_test_suite(tmp_path):
    (tmp_path / "test_mine.py").write_text(
        "def test_uses_core(core):\n    pass\n\n"
        "def test_uses_api(api):\n    pass\n\n"
        "def test_uses_sbcore_api(sbcore_api):\n    pass\n")
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
                 cwd=tmp_path)
    assert result.returncode == 1
    for name in ("core", "api", "sbcore_api"):
        assert f"fixture '{name}' not found" in result.stdout
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["sbcore.testing"]\n')
    (tmp_path / "test_mine.py").write_text(
        "def test_uses_sbcore_api(sbcore_api):\n"
        "    assert sbcore_api.ok('get-users')[0]['email'] == 'admin@example.com'\n")
    opted_in = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
                   cwd=tmp_path)
    assert opted_in.returncode == 0, opted_in.stdout + opted_in.stderr


def test_sbcore_testing_is_no_pytest11_entry_point():
    import importlib.metadata
    assert not [ep for ep in importlib.metadata.entry_points(group="pytest11")
                if ep.value.startswith("sbcore")]
    with open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as handle:
        assert "pytest11" not in handle.read()
