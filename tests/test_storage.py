"""sbcore.storage: the local folder, an S3-compatible bucket (moto's S3 server on
loopback) and the database behind one interface; every writer of files goes through it, /uploads/
serves from either, and storage-migrate copies a folder into a bucket."""

import io
import os
import types

import boto3
import pytest
import requests

from sbcore import storage as S
from sbcore.config import Config
from sbcore.storage.database import DatabaseStorage
from sbcore.storage.local import LocalStorage
from sbcore.storage.migrate import command as migrate_command
from sbcore.storage.s3 import S3Storage, parse_url

from test_aws_s3 import s3_server  # noqa: F401 (the fixture: moto's S3 server on loopback)

BUCKET = "sb-files"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def bucket(s3_server, monkeypatch):
    """An empty bucket on moto's server; boto3's usual environment names the
    credentials and region, as in production."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def on_bucket(core, s3_server, prefix="site-a"):
    """Point ``core`` at the bucket (as SB_STORAGE_URL and SB_URL_S3 would)."""
    core.config = core.config.replace(storage_url=f"s3://{BUCKET}/{prefix}",
                                      url_overrides={**core.config.url_overrides, "s3": s3_server})
    return core.storage


def objects(client, prefix=""):
    return {item["Key"]: item["Size"] for item in
            client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}


@pytest.fixture(params=["local", "s3", "database"])
def backend(request, tmp_path):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "files"))
    if request.param == "database":  # on the test database; pieces small enough to span
        request.getfixturevalue("core")
        return DatabaseStorage(chunk_size=32)
    server = request.getfixturevalue("s3_server")
    request.getfixturevalue("bucket")
    return S3Storage(BUCKET, "p/", endpoint=server)


def test_each_backend_saves_opens_lists_and_deletes(backend):
    assert backend.save("a/one.txt", b"hello") == 5
    assert backend.save("a/b/two.png", io.BytesIO(PNG)) == len(PNG)
    blob = backend.open("a/b/two.png")
    with blob.stream as stream:
        assert stream.read() == PNG
    assert (blob.size, blob.content_type) == (len(PNG), "image/png")
    assert backend.read("a/one.txt", 3) == b"hel"
    assert backend.exists("a/one.txt") and not backend.exists("a/none.txt")
    assert sorted(backend.keys()) == [("a/b/two.png", len(PNG)), ("a/one.txt", 5)]
    assert sorted(backend.keys("a/b/")) == [("a/b/two.png", len(PNG))]
    backend.save("a/one.txt", b"replaced")
    assert backend.read("a/one.txt") == b"replaced"
    backend.delete("a/one.txt")
    backend.delete("a/one.txt")  # a missing file is no error
    with pytest.raises(FileNotFoundError):
        backend.open("a/one.txt")
    assert [key for key, _ in backend.keys()] == ["a/b/two.png"]


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b",
                                 "a\x00b", "x" * 600])
def test_each_backend_refuses_keys_that_leave_it(backend, key):
    with pytest.raises(S.UnsafePath):
        backend.save(key, b"x")
    with pytest.raises(S.UnsafePath):
        backend.open(key)


def test_configuration_chooses_the_backend(tmp_path, s3_server):
    local = S.open_storage(Config(uploads_dir=str(tmp_path / "up")))
    assert isinstance(local, LocalStorage) and local.folder == str(tmp_path / "up")
    config = Config.from_env({"SB_STORAGE_URL": "s3://my-bucket/some/prefix/", "SB_URL_S3": s3_server,
                              "SB_STORAGE_PRESIGN": "120"}, env_file=None)
    bucket = S.open_storage(config)
    assert (bucket.bucket, bucket.prefix, bucket.endpoint) == ("my-bucket", "some/prefix/", s3_server)
    assert config.storage_presign == 120
    assert parse_url("s3://b") == ("b", "")
    for bad in ("http://b/p", "s3:///p", "s3://b/../x", "s3://b/p?x=1"):
        with pytest.raises(ValueError):
            parse_url(bad)


def test_writers_put_every_file_in_the_bucket_and_uploads_serves_it(api, core, widget, bucket, s3_server):
    on_bucket(core, s3_server)
    user = widget.register(first_name="Val")
    uploaded = widget.upload("photo.png", PNG, "image/png").response
    avatar = api.ok("get-avatar", first_name="Ann", last_name="Lee")
    conversation = api.ok("new-conversation", user_id=user["id"])["details"]["id"]
    widget.ok("send-message", conversation_id=conversation, message="see", attachments=[["photo.png", uploaded["url"]]])
    transcript = api.ok("transcript", conversation_id=conversation, type="txt")
    api.ok("save-translations", translations={"it": {"front": {"Send": "Manda"}}})
    keys = objects(bucket, "site-a/")
    folders = sorted({key.split("/")[1] for key in keys})
    assert folders == ["avatars", "backups", "transcripts", "widget"]
    assert not os.path.exists(core.config.uploads_dir) or not any(os.scandir(core.config.uploads_dir))
    for url in (uploaded["url"], avatar, transcript):
        key = url.split("/uploads/", 1)[1]
        served = api.client.simulate_get(f"/uploads/{key}")
        assert served.status_code == 200
        assert served.content == bucket.get_object(Bucket=BUCKET, Key=f"site-a/{key}")["Body"].read()
        assert served.headers["content-length"] == str(len(served.content))
        assert served.headers["x-content-type-options"] == "nosniff"
    png = api.client.simulate_get("/uploads/" + uploaded["url"].split("/uploads/", 1)[1])
    assert png.content == PNG and png.headers["content-type"] == "image/png"
    assert "content-disposition" not in png.headers
    text = api.client.simulate_get("/uploads/" + transcript.split("/uploads/", 1)[1])
    assert text.headers["content-disposition"] == "attachment" and b"see" in text.content
    assert api.client.simulate_get("/uploads/widget/nothing.png").status_code == 404
    assert api.client.simulate_get("/uploads/../site-a/x").status_code == 404


def test_channel_media_and_email_attachments_go_to_the_bucket(core, bucket, s3_server):
    from email.message import EmailMessage

    from sbcore import db as dbmod
    from sbcore.piping import save_attachments
    on_bucket(core, s3_server)
    message = EmailMessage()
    message.set_content("hello")
    message.add_attachment(b"%PDF-1.4 x", maintype="application", subtype="pdf", filename="bill.pdf")
    written = []
    with dbmod.connection():
        [[name, url]] = save_attachments(core.context(), message, written)
    assert name == "bill.pdf" and written == [url]
    key = url.split("/uploads/", 1)[1]
    assert key.startswith("email/") and bucket.get_object(Bucket=BUCKET, Key=f"site-a/{key}")["Body"].read() == b"%PDF-1.4 x"


def test_import_settings_reads_an_export_from_the_bucket(api, core, bucket, s3_server):
    on_bucket(core, s3_server)
    api.ok("save-settings", settings={"widget-title": "From the bucket"})
    url = api.ok("export-settings")
    assert any("/exports/" in key for key in objects(bucket))
    api.ok("save-settings", settings={"widget-title": "Changed"})
    api.ok("import-settings", file_url=url)
    assert api.ok("get-setting", setting="widget-title") == "From the bucket"


def test_uploads_redirects_to_a_presigned_url_when_configured(api, core, bucket, s3_server):
    on_bucket(core, s3_server)
    key = "widget/01-12-26/abc.png"
    core.storage.save(key, PNG)
    core.config = core.config.replace(storage_presign=60)
    answer = api.client.simulate_get(f"/uploads/{key}")
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(f"{s3_server}/{BUCKET}/site-a/{key}?") and "Signature" in location
    assert requests.get(location, timeout=10).content == PNG
    assert api.client.simulate_get("/uploads/widget/none.png").status_code == 404


def test_a_failing_store_answers_502_not_500(api, core, bucket, snapshot):
    core.config = core.config.replace(storage_url="s3://any/x", url_overrides={"s3": "http://127.0.0.1:9"})
    before = snapshot()
    result = api.call("get-avatar", first_name="A")
    assert (result.status, result.response) == (502, "storage-error")
    assert "could not be reached" in result.json["message"]
    assert snapshot() == before
    assert api.client.simulate_get("/uploads/avatars/x.png").status_code == 502


def test_a_missing_bucket_is_created_at_init_or_at_the_first_write(core, api, bucket, s3_server):
    on_bucket(core, s3_server)
    core.config = core.config.replace(storage_url="s3://made-at-init/p")
    core.init(report=lambda line: None)
    assert "made-at-init" in [b["Name"] for b in bucket.list_buckets()["Buckets"]]
    core.config = core.config.replace(storage_url="s3://made-at-write/p")
    url = api.ok("get-avatar", first_name="A")
    assert bucket.list_objects_v2(Bucket="made-at-write")["KeyCount"] == 1
    assert api.client.simulate_get(url.split("http://testserver", 1)[1]).status_code == 200
    for name in ("made-at-init", "made-at-write"):
        for item in bucket.list_objects_v2(Bucket=name).get("Contents", []):
            bucket.delete_object(Bucket=name, Key=item["Key"])
        bucket.delete_bucket(Bucket=name)


def old_uploads_folder(tmp_path):
    """An uploads folder as a single host left it: two files, and a symlink out of it
    that storage-migrate must not follow."""
    folder = tmp_path / "old-uploads"
    (folder / "widget" / "01-01-26").mkdir(parents=True)
    (folder / "widget" / "01-01-26" / "a.png").write_bytes(PNG)
    (folder / "exports").mkdir()
    (folder / "exports" / "b.csv").write_bytes(b"id\n1\n")
    os.symlink("/etc/passwd", folder / "link.txt")
    return folder


def test_storage_migrate_copies_a_folder_into_the_bucket_once(core, bucket, s3_server, tmp_path, capsys):
    folder = old_uploads_folder(tmp_path)
    on_bucket(core, s3_server, prefix="moved")
    assert migrate_command(core, types.SimpleNamespace(source=str(folder))) == 0
    assert objects(bucket) == {"moved/widget/01-01-26/a.png": len(PNG), "moved/exports/b.csv": 5}
    out = capsys.readouterr()
    assert "2 files copied" in out.out and "storage-migrate" in out.err  # tqdm's bar
    (folder / "exports" / "b.csv").write_bytes(b"id\n1\n2\n")
    assert migrate_command(core, types.SimpleNamespace(source=str(folder))) == 0
    out = capsys.readouterr().out
    assert "1 files copied" in out and "1 already there" in out
    assert bucket.get_object(Bucket=BUCKET, Key="moved/exports/b.csv")["Body"].read() == b"id\n1\n2\n"
    core.config = core.config.replace(storage_url="local")
    assert migrate_command(core, types.SimpleNamespace(source=str(folder))) == 2
