"""gunicorn as sbcore serves it: idle and slow clients cannot starve the workers."""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from sbcore.serving import options

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_serving_options_use_threads_and_timeouts():
    settings = options({})
    assert settings["worker_class"] == "sbcore.serving.ThreadWorker" and settings["threads"] >= 8
    assert 0 < settings["timeout"] <= 120 and 0 < settings["keepalive"] <= 30
    assert callable(settings["pre_request"])
    assert options({"SB_THREADS": "4"})["threads"] == 4


def test_gunicorn_conf_and_sbcore_serve_share_the_options():
    namespace = {}
    with open(os.path.join(ROOT, "gunicorn.conf.py")) as handle:
        exec(compile(handle.read(), "gunicorn.conf.py", "exec"), namespace)
    assert namespace["worker_class"] == options()["worker_class"] and namespace["threads"] == options()["threads"]
    from sbcore import cli
    source = open(cli.__file__).read()
    assert "from .serving import options" in source


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_idle_and_half_sent_clients_do_not_starve_the_server(tmp_path):
    port = free_port()
    env = dict(os.environ, SB_DATABASE_URL=f"sqlite:///{tmp_path}/g.db",
               SB_UPLOADS_DIR=str(tmp_path / "uploads"), SB_PUBLIC_URL=f"http://127.0.0.1:{port}",
               SB_WORKER="off", SB_BCRYPT_ROUNDS="4", SB_THREADS="8", SB_BODY_TIMEOUT="2")
    subprocess.run([sys.executable, "-m", "sbcore.cli", "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    # plain `gunicorn wsgi:app` from the project folder reads gunicorn.conf.py
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b",
                               f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    sockets = []
    try:
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.time() < deadline and server.poll() is None, "gunicorn did not start"
            time.sleep(0.2)
        # idle connections cost no thread: many more than threads, and /health answers
        for _ in range(40):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        assert requests.get(f"{base}/health", timeout=10).status_code == 200
        # half-sent bodies hold a thread only for SB_BODY_TIMEOUT (2 s here): more of
        # them than threads delay /health by about that much, never for good
        for _ in range(12):
            half = socket.create_connection(("127.0.0.1", port), timeout=5)
            half.sendall(b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"function\":")
            sockets.append(half)
        time.sleep(0.5)
        started = time.monotonic()
        answer = requests.get(f"{base}/health", timeout=15)
        print("health after half-sent bodies:", round(time.monotonic() - started, 2), "s")
        assert answer.status_code == 200
        assert answer.headers.get("X-Content-Type-Options") == "nosniff"
        assert not any(ch.isdigit() for ch in answer.headers.get("Server", ""))
        # a chunked body (no length) is refused before it is read
        chunked = requests.post(f"{base}/api", data=iter([b'{"function":', b'"get-users"}']),
                                headers={"Content-Type": "application/json"}, timeout=15)
        assert chunked.status_code == 411
    finally:
        for sock in sockets:
            sock.close()
        server.terminate()
        server.wait(timeout=30)
