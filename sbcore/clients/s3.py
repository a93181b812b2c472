"""Amazon S3 and S3-compatible stores through boto3: put and delete one object.

The endpoint is the setting's (``https://s3.{region}.amazonaws.com`` by default) or
``SB_URL_S3``; another endpoint (MinIO, Cloudflare R2, a local fake) is addressed
path-style, ``{endpoint}/{bucket}/{key}``."""

from urllib.parse import quote, unquote, urlsplit

import boto3
import botocore.config
import botocore.exceptions

from .. import outbound
from ..errors import ApiError

DEFAULT_URL = "https://s3.{region}.amazonaws.com"


class Bucket:
    def __init__(self, config, endpoint, region, bucket, access_key, secret_key):
        self.endpoint = endpoint.replace("{region}", region)
        self.aws = (urlsplit(self.endpoint).hostname or "").endswith(".amazonaws.com")
        self.region = region
        self.bucket = bucket
        try:
            outbound.check_url(config, self.endpoint)
        except outbound.OutboundRefused as error:
            raise ApiError("url-not-allowed", str(error), 400)
        settings = botocore.config.Config(
            connect_timeout=outbound.DEFAULT_TIMEOUT, read_timeout=60,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "virtual" if self.aws else "path"})
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, config=settings)

    def url(self, key):
        """The object's public URL."""
        if self.aws:
            return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{quote(key)}"
        return f"{self.endpoint}/{self.bucket}/{quote(key)}"

    def key_of(self, url):
        """The key behind one of this bucket's URLs, or None."""
        prefix = self.url("")
        if not isinstance(url, str) or not url.startswith(prefix) or len(url) == len(prefix):
            return None
        return unquote(url[len(prefix):])

    def put(self, key, blob):
        """Upload ``blob`` (a sbcore.storage.Blob, closed here) as ``key``."""
        with blob.stream as handle:
            self._call("PutObject", self.client.put_object, Bucket=self.bucket, Key=key,
                       Body=handle.read(), ContentType=blob.content_type)
        return self.url(key)

    def delete(self, key):
        self._call("DeleteObject", self.client.delete_object, Bucket=self.bucket, Key=key)
        return self.url(key)

    @staticmethod
    def _call(operation, method, **arguments):
        try:
            return method(**arguments)
        except botocore.exceptions.ClientError as error:
            detail = error.response.get("Error", {})
            raise ApiError("amazon-s3-error", f"amazon-s3 refused {operation}: "
                           f"{detail.get('Code', '')} {detail.get('Message', '')}".strip(), 502)
        except botocore.exceptions.BotoCoreError as error:
            raise ApiError("amazon-s3-error", f"amazon-s3 could not be reached: {error}", 502)
