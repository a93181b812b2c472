"""The reference topology (deploy/) in miniature: two app hosts on different ports and
upload folders, one PostgreSQL, one Redis. Host A also runs `sbcore serve --events`.

Shows: a visitor's stream on host A gets an agent's reply sent through host B (the
event crosses through Redis); each webhook is delivered once although four inline
workers drain the outbox; a scheduled job runs once although four workers want it.
A visitor's upload and a transcript written through one host are served by the other,
without a bucket: each host has its own uploads folder, the files go through the
database store (the default on PostgreSQL).

Slow; skipped loudly when PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is not
reachable (`.ci/run` starts both). Its own database: SB_TOPOLOGY_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/sbcore_topology, created when missing)
and Redis database SB_TOPOLOGY_REDIS_URL (default redis://127.0.0.1:6379/11)."""

import json
import os
import socket
import subprocess
import sys
import time
import warnings

import pytest
import requests

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATABASE_URL = os.environ.get("SB_TOPOLOGY_DATABASE_URL",
                              "postgresql://postgres@127.0.0.1:5432/sbcore_topology")
REDIS_URL = os.environ.get("SB_TOPOLOGY_REDIS_URL", "redis://127.0.0.1:6379/11")
MESSAGES = 12

PROBE = '''
import os
from sbcore import hookimpl
from sbcore.worker import Job


def run(ctx):
    with open(os.environ["SB_PROBE_LOG"], "a") as handle:
        handle.write(f"{os.environ['SB_PROBE_HOST']} {os.getpid()}\\n")


@hookimpl
def sbcore_register_jobs():
    return [Job("topology-probe", 3600, run)]
'''


def reachable(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def services():
    missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not reachable(port)]
    if missing:
        message = f"SKIPPED: the multi-host topology test needs {' and '.join(missing)} on 127.0.0.1"
        warnings.warn(message)
        pytest.skip(message)
    import psycopg2
    import redis
    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = psycopg2.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    database = psycopg2.connect(DATABASE_URL)
    database.autocommit = True
    with database.cursor() as cursor:  # a fresh schema
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                       "AND tablename LIKE 'sb\\_%%'")
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    database.close()
    redis.Redis.from_url(REDIS_URL).flushdb()


def probe_plugin(folder):
    """An installed plugin (a dist-info on PYTHONPATH) with a job due once an hour."""
    folder.mkdir()
    (folder / "topology_probe.py").write_text(PROBE)
    info = folder / "topology_probe-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: topology-probe\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[sbcore]\ntopology_probe = topology_probe\n")
    return str(folder)


class Host:
    def __init__(self, name, env, tmp_path, events=False):
        self.name = name
        self.port = free_port()
        self.events_port = free_port() if events else None
        self.env = dict(env, SB_UPLOADS_DIR=str(tmp_path / f"uploads-{name}"), SB_PROBE_HOST=name,
                        SB_PUBLIC_URL=f"http://127.0.0.1:{self.port}")
        self.log = open(tmp_path / f"host-{name}.log", "wb")
        self.processes = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.processes.append(self.serve("--port", str(self.port), "--workers", "2"))
        if self.events_port:
            self.processes.append(self.serve("--events", "--port", str(self.events_port),
                                             "--workers", "1"))

    def serve(self, *args):
        return subprocess.Popen([sys.executable, "-m", "sbcore.cli", "serve", *args], env=self.env,
                                cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self):
        for port in filter(None, (self.port, self.events_port)):
            deadline = time.time() + 90
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                assert all(p.poll() is None for p in self.processes), f"host {self.name} stopped"
                assert time.time() < deadline, f"host {self.name} did not start"
                time.sleep(0.3)

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.log.close()


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while not predicate():
        assert time.time() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def read_until(chunks, wanted, limit=100000):
    seen = b""
    for byte in chunks:
        seen += byte
        if wanted.encode() in seen or len(seen) > limit:
            break
    return seen.decode("utf-8", "replace")


def test_two_hosts_share_streams_webhooks_and_jobs(services, tmp_path, receiver):
    probe_log = tmp_path / "probe.log"
    env = dict(os.environ, SB_DATABASE_URL=DATABASE_URL, SB_REDIS_URL=REDIS_URL, SB_WORKER="inline",
               SB_BCRYPT_ROUNDS="4", SB_ALLOW_PRIVATE_NETWORK="1", SB_PROBE_LOG=str(probe_log),
               SB_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=os.pathsep.join(filter(None, [probe_plugin(tmp_path / "plugin"),
                                                        os.environ.get("PYTHONPATH")])))
    env.pop("SB_SECRET_KEY", None)
    for command in (["init"], ["create-admin", "--email", "admin@example.com", "--password",
                               "pw-pw-pw-pw", "--token", "topology-admin-token-0123456789"]):
        subprocess.run([sys.executable, "-m", "sbcore.cli", *command], env=dict(
            env, SB_UPLOADS_DIR=str(tmp_path / "uploads-init")), cwd=ROOT, check=True,
            capture_output=True, timeout=300)
    token = "topology-admin-token-0123456789"
    a, b = Host("a", env, tmp_path, events=True), Host("b", env, tmp_path)
    try:
        a.start()
        b.start()
        a.wait()
        b.wait()

        def api(host, function, **fields):
            answer = requests.post(f"{host.url}/api", json={"function": function, **fields},
                                   headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
            assert answer["success"], answer
            return answer["response"]

        api(a, "save-settings", settings={"webhooks": {
            "webhooks-active": True, "webhooks-url": receiver.url, "webhooks-key": "k",
            "webhooks-allowed": "message-sent"}})
        registered = requests.post(f"{a.url}/widget/api", json={"function": "register"},
                                   timeout=30).json()["response"]
        cookie = registered["login-cookie"]
        conversation = requests.post(f"{a.url}/widget/api", json={"function": "new-conversation"},
                                     headers={"Authorization": f"Bearer {cookie}"},
                                     timeout=30).json()["response"]
        conversation_id = int(conversation["details"]["id"])
        agent_id = int(api(b, "add-user", first_name="Agent", email="agent@example.com",
                           user_type="agent"))

        # the visitor's stream on host A, the agent's reply through host B
        with requests.get(f"http://127.0.0.1:{a.events_port}/widget/events", stream=True,
                          timeout=60, headers={"Authorization": f"Bearer {cookie}"}) as stream:
            chunks = stream.iter_content(chunk_size=1)
            assert ": ready" in read_until(chunks, ": ready")
            sent = api(b, "send-message", user_id=agent_id, conversation_id=conversation_id,
                       message="sent through host B")
            text = read_until(chunks, "sent through host B")
            text += read_until(chunks, "\n\n")  # the rest of that event
        event = [line for line in text.split("\n") if line.startswith("data: ")][-1]
        assert json.loads(event[6:])["id"] == str(sent["message-id"])

        # webhooks: every message-sent once, whichever host's workers drain the outbox
        message_ids = {str(sent["message-id"])}
        for index in range(MESSAGES - 1):
            host = (a, b)[index % 2]
            message_ids.add(str(api(host, "send-message", user_id=agent_id,
                                    conversation_id=conversation_id,
                                    message=f"m{index}")["message-id"]))

        def delivered():
            return [str(body["data"]["message_id"]) for body in receiver.bodies()
                    if body["function"] == "message-sent"]
        wait_for(lambda: set(delivered()) >= message_ids, 120, "every webhook")
        time.sleep(3)  # four workers had their chance to deliver one twice
        assert sorted(delivered()) == sorted(message_ids)
        deliveries = [headers.get("X-SB-Delivery") for headers, _ in receiver.requests]
        assert len(deliveries) == len(set(deliveries))

        # files without a bucket: an upload through A and a transcript through B are served
        # by the other host, from its own folder once read from the database
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
        uploaded = requests.post(f"{a.url}/widget/upload", files={"file": ("p.png", png, "image/png")},
                                 headers={"Authorization": f"Bearer {cookie}"}, timeout=30).json()
        path = uploaded["response"]["url"].split(a.url, 1)[1]
        served = requests.get(f"{b.url}{path}", timeout=30)
        assert served.status_code == 200 and served.content == png
        assert served.headers["content-type"] == "image/png"
        assert (tmp_path / "uploads-b" / path.split("/uploads/", 1)[1]).read_bytes() == png
        transcript = api(b, "transcript", conversation_id=conversation_id, type="txt")
        text = requests.get(a.url + transcript.split(b.url, 1)[1], timeout=30)
        assert text.status_code == 200 and b"sent through host B" in text.content
        assert text.headers["content-disposition"] == "attachment"

        # a job due once an hour ran once, by one of the four inline workers
        wait_for(lambda: probe_log.exists() and probe_log.read_text().strip(), 60, "the job")
        time.sleep(3)
        runs = probe_log.read_text().strip().splitlines()
        assert len(runs) == 1, runs
    finally:
        a.stop()
        b.stop()
