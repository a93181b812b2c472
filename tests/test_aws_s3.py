"""aws-s3 PUT and DELETE through boto3 against moto's S3 server on loopback (an
S3-compatible endpoint, as SB_URL_S3 or the amazon-s3-url setting gives it)."""

import os

import boto3
import pytest

from sbcore.clients import s3

BUCKET = "sb-uploads"


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def store(s3_server, api, core):
    core.config = core.config.replace(allow_private_network=True, url_overrides={"s3": s3_server})
    client = boto3.client("s3", endpoint_url=s3_server, region_name="eu-west-1", aws_access_key_id="AKIATEST",
                          aws_secret_access_key="test-secret")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    api.ok("save-settings", settings={"amazon-s3": {
        "amazon-s3-active": True, "amazon-s3-access-key": "AKIATEST", "amazon-s3-secret-access-key": "test-secret",
        "amazon-s3-bucket-name": BUCKET, "amazon-s3-region": "eu-west-1"}})
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def upload(core, relative, content=b"%PDF-1.4 test"):
    path = os.path.join(core.config.uploads_dir, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)
    return path


def test_put_uploads_the_file_and_delete_removes_it(api, core, store, s3_server):
    path = upload(core, "25-11-26/invoice 1.pdf")
    url = api.ok("aws-s3", file_path="25-11-26/invoice 1.pdf")
    assert url == f"{s3_server}/{BUCKET}/25-11-26/invoice%201.pdf"
    stored = store.get_object(Bucket=BUCKET, Key="25-11-26/invoice 1.pdf")
    assert stored["Body"].read() == b"%PDF-1.4 test" and stored["ContentType"] == "application/pdf"
    # the absolute path and the /uploads/ URL of the same file name the same object
    assert api.ok("aws-s3", file_path=path, action="PUT") == url
    assert api.ok("aws-s3", file_path="http://testserver/uploads/25-11-26/invoice%201.pdf") == url
    assert [o["Key"] for o in store.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["25-11-26/invoice 1.pdf"]
    assert api.ok("aws-s3", file_path=url, action="delete") == url
    assert store.list_objects_v2(Bucket=BUCKET).get("Contents") is None
    assert os.path.isfile(path)  # the local file stays


@pytest.mark.parametrize("file_path", ["../outside.txt", "/etc/passwd", "25-11-26/../../outside.txt",
                                       "https://evil.example/uploads/x.txt", "", "a\x00b"])
def test_put_takes_only_files_in_the_uploads_folder(api, core, store, file_path):
    with open(os.path.join(os.path.dirname(core.config.uploads_dir), "outside.txt"), "w") as handle:
        handle.write("secret")
    result = api.call("aws-s3", file_path=file_path)
    assert result.status == 400 and result.response in ("invalid-file-path", "invalid-argument")
    assert store.list_objects_v2(Bucket=BUCKET).get("Contents") is None


def test_missing_files_bad_actions_and_foreign_urls(api, core, store, s3_server):
    assert api.call("aws-s3", file_path="nothing-here.txt").status == 404
    upload(core, "a.txt")
    assert api.call("aws-s3", file_path="a.txt", action="GET").response == "invalid-argument"
    result = api.call("aws-s3", file_path="https://other-bucket.s3.amazonaws.com/a.txt", action="DELETE")
    assert (result.status, result.response) == (400, "invalid-argument")
    assert api.call("aws-s3", file_path=f"{s3_server}/{BUCKET}/", action="DELETE").status == 400


def test_s3_errors_are_502_with_the_stores_message(api, core, store):
    upload(core, "a.txt")
    api.ok("save-settings", settings={"amazon-s3": {
        "amazon-s3-active": True, "amazon-s3-access-key": "AKIATEST", "amazon-s3-secret-access-key": "test-secret",
        "amazon-s3-bucket-name": "no-such-bucket", "amazon-s3-region": "eu-west-1"}})
    result = api.call("aws-s3", file_path="a.txt")
    assert (result.status, result.response) == (502, "amazon-s3-error")
    assert "NoSuchBucket" in result.json["message"] and "test-secret" not in result.json["message"]


def test_unreachable_store_is_502(api, core, store):
    upload(core, "a.txt")
    core.config = core.config.replace(url_overrides={"s3": "http://127.0.0.1:9"})
    result = api.call("aws-s3", file_path="a.txt")
    assert (result.status, result.response) == (502, "amazon-s3-error")


def test_s3_off_incomplete_or_private_endpoint(api, core):
    upload(core, "a.txt")
    assert api.ok("aws-s3", file_path="a.txt") is False  # off: Support Board 3.8's false
    api.ok("save-settings", settings={"amazon-s3": {"amazon-s3-active": True, "amazon-s3-access-key": "AKIA"}})
    result = api.call("aws-s3", file_path="a.txt")
    assert (result.status, result.response) == (400, "amazon-s3-not-configured")
    api.ok("save-settings", settings={"amazon-s3": {
        "amazon-s3-active": True, "amazon-s3-access-key": "AKIATEST", "amazon-s3-secret-access-key": "test-secret",
        "amazon-s3-bucket-name": BUCKET, "amazon-s3-region": "evil.example/x"}})
    assert api.call("aws-s3", file_path="a.txt").response == "amazon-s3-not-configured"
    api.ok("save-settings", settings={"amazon-s3": {
        "amazon-s3-active": True, "amazon-s3-access-key": "AKIATEST", "amazon-s3-secret-access-key": "test-secret",
        "amazon-s3-bucket-name": BUCKET, "amazon-s3-region": "eu-west-1"}, "amazon-s3-url": "http://127.0.0.1:9"})
    assert api.call("aws-s3", file_path="a.txt").response == "url-not-allowed"


def test_aws_urls_are_virtual_hosted(core):
    config = core.config.replace(allow_private_network=True)
    bucket = s3.Bucket(config, s3.DEFAULT_URL, "eu-west-1", "example", "AKIA", "secret")
    assert bucket.endpoint == "https://s3.eu-west-1.amazonaws.com"
    assert bucket.url("25-11-26/a b.txt") == "https://example.s3.eu-west-1.amazonaws.com/25-11-26/a%20b.txt"
    assert bucket.key_of("https://example.s3.eu-west-1.amazonaws.com/25-11-26/a%20b.txt") == "25-11-26/a b.txt"
    assert bucket.key_of("https://other.s3.eu-west-1.amazonaws.com/a.txt") is None
