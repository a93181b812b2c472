"""Two hosts, one database: each app has its own uploads folder, and a file written
through one is served by the other, through the S3 backend (moto's S3 server on
loopback) or through the database store. With the plain local folder as storage
(SB_STORAGE_URL=local) the other host has no file, which is what they guard against."""

import json

import pytest

from sbcore.core import Core
from sbcore.testing import ApiClient, WidgetClient
from sbcore.web import create_app

from test_storage import BUCKET, PNG, bucket, objects, s3_server  # noqa: F401 (fixtures)


@pytest.fixture
def hosts(core, pm, admin_token, tmp_path, s3_server, bucket):  # noqa: F811
    """Host A is the ``core`` fixture; host B a second Core on the same database with
    another uploads folder and its own public URL; both on the bucket."""
    yield two_hosts(core, pm, admin_token, tmp_path, storage_url=f"s3://{BUCKET}/shared",
                    url_overrides={"s3": s3_server})


def two_hosts(core, pm, admin_token, tmp_path, **storage):
    """Host A (``core``) and host B (a second Core on the same database), each with its
    own uploads folder, B with its own public URL: an (ApiClient, WidgetClient) each."""
    core.config = core.config.replace(uploads_dir=str(tmp_path / "host-a"), **storage)
    other = Core(core.config.replace(uploads_dir=str(tmp_path / "host-b"),
                                     public_url="http://host-b.example"), pm=pm)
    a = create_app(core=core, start_worker=False)
    b = create_app(core=other, start_worker=False)
    return (ApiClient(a, admin_token), WidgetClient(a)), (ApiClient(b, admin_token), WidgetClient(b))


def uploaded_through_a_served_by_b(widget_a, api_b):
    """A visitor's upload through host A, served by host B: (its URL, its path, B's answer)."""
    widget_a.register(first_name="Val")
    uploaded = widget_a.upload("photo.png", PNG, "image/png").response["url"]
    path = uploaded.split("http://testserver", 1)[1]
    served = api_b.client.simulate_get(path)
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    return uploaded, path, served


def export_of_b_served_by_a_to_admins_only(api_a, api_b):
    export = api_b.ok("csv-users").split("http://host-b.example", 1)[1]
    assert api_a.client.simulate_get(export).status_code == 401
    answer = api_a.client.simulate_get(export, headers={"Authorization": f"Bearer {api_a.token}"})
    assert answer.status_code == 200 and b"first_name" in answer.content
    return answer


def test_a_file_written_through_one_host_is_served_by_the_other(hosts, bucket):  # noqa: F811
    (api_a, widget_a), (api_b, widget_b) = hosts
    uploaded, path, _ = uploaded_through_a_served_by_b(widget_a, api_b)
    # the same visitor, on host B, attaches and shows the upload it made through host A:
    # host B stores its own URL of the file
    widget_b.cookie = widget_a.cookie
    conversation = widget_b.ok("new-conversation")["details"]["id"]
    widget_b.ok("send-message", conversation_id=conversation, message="hi", attachments=[["p.png", uploaded]])
    widget_b.ok("update-user", profile_image=uploaded)
    on_b = "http://host-b.example" + path
    messages = api_b.ok("get-conversation", conversation_id=conversation)["messages"]
    assert json.loads(messages[-1]["attachments"]) == [["p.png", on_b]]
    assert api_b.ok("get-user", user_id=widget_a.user["id"])["profile_image"] == on_b
    # another visitor may not, through either host
    stranger = widget_b.new()
    theirs = stranger.ok("new-conversation")["details"]["id"]
    for url in (uploaded, on_b):
        assert stranger.call("send-message", conversation_id=theirs, message="x",
                             attachments=[["p.png", url]]).status == 400
        assert stranger.call("update-user", profile_image=url).status == 400
    # an export written on B is served by A, to an admin only
    export_of_b_served_by_a_to_admins_only(api_a, api_b)
    # deleted through A, gone for B
    api_a.ok("delete-user", user_id=widget_a.user["id"])
    assert api_b.client.simulate_get(path).status_code == 404
    assert not any(key.endswith(path.rsplit("/", 1)[1]) for key in objects(bucket))


def test_with_local_folders_the_other_host_has_no_file(core, pm, admin_token, tmp_path):
    """What a shared store fixes: two hosts with their own uploads folders and the plain
    folder as storage (SB_STORAGE_URL=local) do not share."""
    core.config = core.config.replace(uploads_dir=str(tmp_path / "host-a"), storage_url="local")
    other = Core(core.config.replace(uploads_dir=str(tmp_path / "host-b")), pm=pm)
    widget_a = WidgetClient(create_app(core=core, start_worker=False))
    b = ApiClient(create_app(core=other, start_worker=False), admin_token)
    widget_a.register()
    path = widget_a.upload("photo.png", PNG, "image/png").response["url"].split("http://testserver", 1)[1]
    assert widget_a.client.simulate_get(path).status_code == 200
    assert b.client.simulate_get(path).status_code == 404


def test_two_hosts_share_files_through_the_database(core, pm, admin_token, tmp_path):
    """Without a bucket: each host its own uploads folder, the database store between
    them (the default on MariaDB/PostgreSQL; SB_STORAGE_URL=database forces it here)."""
    (api_a, widget_a), (api_b, _) = two_hosts(core, pm, admin_token, tmp_path, storage_url="database")
    uploaded, path, served = uploaded_through_a_served_by_b(widget_a, api_b)
    assert served.headers["content-length"] == str(len(PNG))
    assert (tmp_path / "host-b" / path.split("/uploads/", 1)[1]).read_bytes() == PNG  # cached
    conversation = api_a.ok("new-conversation", user_id=widget_a.user["id"])["details"]["id"]
    widget_a.ok("send-message", conversation_id=conversation, message="see", attachments=[["p.png", uploaded]])
    transcript = api_a.ok("transcript", conversation_id=conversation, type="txt")
    text = api_b.client.simulate_get(transcript.split("http://testserver", 1)[1])
    assert text.status_code == 200 and b"see" in text.content
    assert text.headers["content-disposition"] == "attachment"
    avatar = api_b.ok("get-avatar", first_name="Ann").split("http://host-b.example", 1)[1]
    assert api_a.client.simulate_get(avatar).headers["content-type"] == "image/png"
    answer = export_of_b_served_by_a_to_admins_only(api_a, api_b)
    assert answer.headers["cache-control"] == "private, no-store"
    # deleted through A: gone for B, although B kept a copy
    api_a.ok("delete-user", user_id=widget_a.user["id"])
    assert api_b.client.simulate_get(path).status_code == 404
    assert not (tmp_path / "host-b" / path.split("/uploads/", 1)[1]).exists()


@pytest.mark.slow
def test_two_gunicorn_hosts_share_files_through_the_bucket(tmp_path, s3_server, bucket):  # noqa: F811
    """Two real servers (gunicorn), one database, separate uploads folders, one bucket:
    an upload through host A is streamed by host B; host B, configured to redirect,
    answers a presigned URL of the same object."""
    import os
    import subprocess
    import sys
    import time

    import requests

    from test_gunicorn import ROOT, free_port
    ports = free_port(), free_port()
    base = {"SB_DATABASE_URL": f"sqlite:///{tmp_path}/shared.db", "SB_WORKER": "off", "SB_BCRYPT_ROUNDS": "4",
            "SB_STORAGE_URL": f"s3://{BUCKET}/hosts", "SB_URL_S3": s3_server, "SB_SECRET_KEY": "k" * 40}
    envs = [dict(os.environ, **base, SB_UPLOADS_DIR=str(tmp_path / f"up-{n}"),
                 SB_PUBLIC_URL=f"http://127.0.0.1:{port}") for n, port in enumerate(ports)]
    envs[1]["SB_STORAGE_PRESIGN"] = "60"
    subprocess.run([sys.executable, "-m", "sbcore.cli", "init"], env=envs[0], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    servers = [subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                 "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for port, env in zip(ports, envs)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, server in zip(urls, servers):
            deadline = time.time() + 30
            while True:
                try:
                    if requests.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    pass
                assert time.time() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        cookie = requests.post(f"{urls[0]}/widget/api", data={"function": "register"},
                               timeout=10).json()["response"]["login-cookie"]
        stored = requests.post(f"{urls[0]}/widget/upload", files={"file": ("p.png", PNG, "image/png")},
                               headers={"Authorization": f"Bearer {cookie}"}, timeout=10).json()
        path = stored["response"]["url"].split(urls[0], 1)[1]
        assert not os.path.exists(tmp_path / "up-0" / path.split("/uploads/", 1)[1])
        answer = requests.get(f"{urls[1]}{path}", allow_redirects=False, timeout=10)
        assert answer.status_code == 302 and answer.headers["location"].startswith(s3_server)
        assert requests.get(answer.headers["location"], timeout=10).content == PNG
        streamed = requests.get(f"{urls[0]}{path}", timeout=10)  # host A streams it
        assert streamed.status_code == 200 and streamed.content == PNG
        assert streamed.headers["content-length"] == str(len(PNG))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
