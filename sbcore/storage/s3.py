"""An S3-compatible bucket as storage (AWS S3, MinIO, Cloudflare R2) through boto3.

Configured by the operator, not through the API: ``SB_STORAGE_URL=s3://bucket/prefix``,
the endpoint ``SB_URL_S3`` when set (else AWS), credentials and region from boto3's
usual environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, or an instance role). Because the endpoint comes from the
operator's environment and is commonly a private MinIO, it does not go through the
outbound guard that protects URLs coming from settings and requests."""

from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions

from ..errors import ApiError
from . import Blob, Storage, check_key, content_type_of

MISSING = ("404", "NoSuchKey", "NotFound")


def parse_url(url):
    """``s3://bucket/prefix`` to ``(bucket, "prefix/")``; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"SB_STORAGE_URL must look like s3://bucket/prefix, not {url!r}")
    prefix = parts.path.strip("/")
    if prefix:
        check_key(prefix)
    return parts.netloc, f"{prefix}/" if prefix else ""


class Counted:
    """A read-only view of a file object that counts the bytes read (multipart uploads
    in parts, whatever the source's size)."""

    def __init__(self, source):
        self.source = source
        self.size = 0

    def read(self, size=-1):
        data = self.source.read(size)
        self.size += len(data)
        return data


class S3Storage(Storage):
    name = "s3"

    def __init__(self, bucket, prefix="", endpoint=None):
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        settings = botocore.config.Config(
            connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path" if endpoint else "auto"})
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint, config=settings)

    def object_key(self, key):
        return self.prefix + check_key(key)

    def _call(self, operation, method, **arguments):
        try:
            return method(**arguments)
        except botocore.exceptions.ClientError as error:
            detail = error.response.get("Error", {})
            if str(detail.get("Code", "")) in MISSING:
                raise FileNotFoundError(arguments.get("Key", ""))
            raise ApiError("storage-error", f"the file store refused {operation}: "
                           f"{detail.get('Code', '')} {detail.get('Message', '')}".strip(), 502)
        except botocore.exceptions.BotoCoreError as error:
            raise ApiError("storage-error", f"the file store could not be reached: {error}", 502)

    def prepare(self):
        """Create the bucket when it does not exist (in the client's region)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except botocore.exceptions.ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) not in MISSING + ("NoSuchBucket",):
                raise ApiError("storage-error", f"the file store refused HeadBucket: {error}", 502)
        except botocore.exceptions.BotoCoreError as error:
            raise ApiError("storage-error", f"the file store could not be reached: {error}", 502)
        region = self.client.meta.region_name
        location = {} if region in (None, "us-east-1") else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        self._call("CreateBucket", self.client.create_bucket, Bucket=self.bucket, **location)

    def save(self, key, source):
        try:
            return self._save(key, source)
        except ApiError as error:
            # a bucket not made yet (a fresh MinIO): make it once, then write again
            if "NoSuchBucket" not in error.message or not self._rewindable(source):
                raise
            self.prepare()
            return self._save(key, source)

    @staticmethod
    def _rewindable(source):
        if isinstance(source, (bytes, bytearray)):
            return True
        try:
            source.seek(0)
            return True
        except (AttributeError, OSError, ValueError):
            return False

    def _save(self, key, source):
        name = self.object_key(key)
        extra = {"ContentType": content_type_of(key)}
        if isinstance(source, (bytes, bytearray)):
            self._call("PutObject", self.client.put_object, Bucket=self.bucket, Key=name,
                       Body=bytes(source), **extra)
            return len(source)
        counted = Counted(source)  # upload_fileobj may close what it was given
        self._call("PutObject", self.client.upload_fileobj, Fileobj=counted, Bucket=self.bucket,
                   Key=name, ExtraArgs=extra)
        return counted.size

    def open(self, key):
        answer = self._call("GetObject", self.client.get_object, Bucket=self.bucket,
                            Key=self.object_key(key))
        return Blob(answer["Body"], int(answer["ContentLength"]),
                    answer.get("ContentType") or content_type_of(key))

    def delete(self, key):
        self._call("DeleteObject", self.client.delete_object, Bucket=self.bucket,
                   Key=self.object_key(key))

    def exists(self, key):
        try:
            self._call("HeadObject", self.client.head_object, Bucket=self.bucket,
                       Key=self.object_key(key))
        except FileNotFoundError:
            return False
        return True

    def keys(self, prefix=""):
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix):], int(item["Size"])
        except botocore.exceptions.ClientError as error:
            raise ApiError("storage-error", f"the file store refused ListObjectsV2: {error}", 502)

    def presigned_url(self, key, seconds):
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.object_key(key)},
            ExpiresIn=int(seconds))
