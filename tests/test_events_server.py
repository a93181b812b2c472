"""`sbcore serve --events` in a real process: gevent workers hold many idle streams
and still answer; an event written by another process (`sbcore serve`) reaches them
through the database read (no Redis here)."""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sbcore(env, *args, **options):
    return subprocess.run([sys.executable, "-m", "sbcore.cli", *args], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True, timeout=120, **options)


def start(env, *args):
    return subprocess.Popen([sys.executable, "-m", "sbcore.cli", "serve", *args], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_healthy(base, process, seconds=60):
    deadline = time.time() + seconds
    while True:
        try:
            if requests.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        assert process.poll() is None, process.stdout.read().decode()
        assert time.time() < deadline, "the server did not start"
        time.sleep(0.2)


def read_until(chunks, wanted, limit=20000):
    """Read the stream (one iterator of its bytes, kept: a chunked body cannot be read by
    a second one) until ``wanted`` occurs in it (at most ``limit`` bytes)."""
    seen = b""
    for byte in chunks:
        seen += byte
        if wanted.encode() in seen or len(seen) > limit:
            break
    return seen.decode("utf-8", "replace")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_events_server_holds_idle_streams_and_gets_other_processes_events(tmp_path):
    api_port, events_port = free_port(), free_port()
    env = dict(os.environ, SB_DATABASE_URL=f"sqlite:///{tmp_path}/e.db",
               SB_UPLOADS_DIR=str(tmp_path / "uploads"), SB_PUBLIC_URL=f"http://127.0.0.1:{api_port}",
               SB_WORKER="off", SB_BCRYPT_ROUNDS="4", SB_REDIS_URL="")
    env.pop("SB_SECRET_KEY", None)
    sbcore(env, "init")
    token = sbcore(env, "create-admin", "--email", "a@example.com", "--password",
                   "pw-pw-pw-pw").stdout.strip().splitlines()[-1]
    api = start(env, "--port", str(api_port), "--workers", "1")
    events = start(env, "--events", "--port", str(events_port), "--workers", "1")
    api_base, events_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{events_port}"
    streams = []
    try:
        wait_healthy(api_base, api)
        wait_healthy(events_base, events)

        def widget(function, cookie=None, **fields):
            headers = {"Authorization": f"Bearer {cookie}"} if cookie else {}
            answer = requests.post(f"{api_base}/widget/api", json={"function": function, **fields},
                                   headers=headers, timeout=20).json()
            assert answer["success"], answer
            return answer["response"]

        cookie = widget("register", first_name="Vera")["login-cookie"]
        conversation_id = int(widget("new-conversation", cookie)["details"]["id"])
        agent_id = requests.post(f"{api_base}/api", timeout=20, json={
            "function": "add-user", "first_name": "Al", "email": "al@example.com",
            "user_type": "agent"}, headers={"Authorization": f"Bearer {token}"}).json()["response"]

        # many idle streams on one gevent worker (a sync worker would hold one)
        idle = widget("register", first_name="Idle")["login-cookie"]
        for _ in range(60):
            response = requests.get(f"{events_base}/widget/events", stream=True, timeout=30,
                                    headers={"Authorization": f"Bearer {idle}"})
            assert response.status_code == 200
            streams.append(response)
        assert requests.get(f"{events_base}/health", timeout=10).status_code == 200

        with requests.get(f"{events_base}/widget/events", stream=True, timeout=30,
                          headers={"Authorization": f"Bearer {cookie}"}) as stream:
            chunks = stream.iter_content(chunk_size=1)
            assert ": ready" in read_until(chunks, ": ready")
            sent = requests.post(f"{api_base}/api", timeout=20, json={
                "function": "send-message", "user_id": agent_id, "conversation_id": conversation_id,
                "message": "from the other process"}, headers={"Authorization": f"Bearer {token}"}).json()
            assert sent["success"], sent
            text = read_until(chunks, "from the other process")
        assert "event: message" in text and "from the other process" in text
    finally:
        for response in streams:
            response.close()
        stop(events)
        stop(api)
