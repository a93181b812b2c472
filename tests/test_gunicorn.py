"""One real server: gunicorn on wsgi:app, configured by the environment alone."""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_serves_the_api(tmp_path):
    port = free_port()
    env = dict(os.environ, SB_DATABASE_URL=f"sqlite:///{tmp_path}/g.db",
               SB_UPLOADS_DIR=str(tmp_path / "uploads"), SB_PUBLIC_URL=f"http://127.0.0.1:{port}",
               SB_WORKER="inline", SB_BCRYPT_ROUNDS="4")
    env.pop("SB_SECRET_KEY", None)
    subprocess.run([sys.executable, "-m", "sbcore.cli", "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    created = subprocess.run([sys.executable, "-m", "sbcore.cli", "create-admin", "--email",
                              "admin@example.com", "--password", "pw-pw-pw"], env=env, cwd=tmp_path,
                             check=True, capture_output=True, text=True, timeout=120)
    token = created.stdout.strip().splitlines()[-1]
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # workers still booting
                pass
            assert time.time() < deadline, "gunicorn did not start"
            assert server.poll() is None, server.stdout.read().decode()
            time.sleep(0.2)
        answer = requests.post(f"{base}/include/api.php", data={
            "token": token, "function": "add-user", "first_name": "Web",
            "extra": '{"phone": ["42", "Phone"]}'}, timeout=10).json()
        assert answer["success"] is True
        user_id = answer["response"]
        user = requests.post(f"{base}/api", json={"function": "get-user", "user_id": user_id,
                                                   "extra": True},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert user["response"]["first_name"] == "Web"
        assert user["response"]["details"][0]["value"] == "42"
        avatar = requests.post(f"{base}/api", data={"token": token, "function": "get-avatar",
                                                     "first_name": "W", "last_name": "B"}, timeout=10)
        image = requests.get(avatar.json()["response"], timeout=10)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        wrong = requests.post(f"{base}/api", data={"token": "nope", "function": "get-users"}, timeout=10)
        assert wrong.status_code == 401 and wrong.json()["response"] == "invalid-token"
    finally:
        server.terminate()
        server.wait(timeout=30)
