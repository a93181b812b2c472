"""Configuration from the environment, with an optional ``.env``-style file that
adds variables the environment does not set."""

import os
from dataclasses import dataclass, field, replace

DEFAULTS = {
    "SB_DATABASE_URL": "sqlite:///data/sbcore.db",
    "SB_UPLOADS_DIR": "data/uploads",
    "SB_DATA_DIR": "data",
    "SB_PUBLIC_URL": "http://127.0.0.1:8000",
    "SB_REDIS_URL": "",
    "SB_EVENTS_URL": "",
    "SB_WORKER": "inline",
    "SB_SECRET_KEY": "",
    "SB_ALLOW_PRIVATE_NETWORK": "",
    "SB_BCRYPT_ROUNDS": "12",
    "SB_STORAGE_URL": "",
    "SB_STORAGE_PRESIGN": "0",
    "SB_MAX_BODY_BYTES": str(2 * 1024 * 1024),
}

TRUE_WORDS = {"1", "true", "yes", "on"}


def read_env_file(path):
    """Parse ``KEY=VALUE`` lines; blank lines and ``#`` comments are skipped and
    surrounding quotes are removed."""
    values = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return values
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULTS["SB_DATABASE_URL"]
    uploads_dir: str = DEFAULTS["SB_UPLOADS_DIR"]
    data_dir: str = DEFAULTS["SB_DATA_DIR"]
    public_url: str = DEFAULTS["SB_PUBLIC_URL"]
    redis_url: str = ""
    # where browsers open the event streams (sbcore serve --events, usually behind the
    # same proxy as the API); empty: the widget polls
    events_url: str = ""
    worker: str = "inline"
    secret_key: str = ""
    allow_private_network: bool = False
    bcrypt_rounds: int = 12
    # s3://bucket/prefix: files in an S3-compatible bucket (sbcore.storage); else uploads_dir
    storage_url: str = ""
    # seconds: /uploads/ answers a redirect to a presigned URL valid that long (0: streams)
    storage_presign: int = 0
    # the largest request body /api, /include/api.php and /widget/api read (413 beyond)
    max_body_bytes: int = 2 * 1024 * 1024
    # SB_URL_<APP> overrides of integrations' base URLs, keyed by lower-case app.
    url_overrides: dict = field(default_factory=dict)
    # True when SB_PUBLIC_URL was not given: the URL then follows the port served on
    public_url_from_port: bool = False

    @classmethod
    def from_env(cls, environ=None, env_file=".env"):
        given = read_env_file(env_file) if env_file else {}
        given.update({k: v for k, v in (os.environ if environ is None else environ).items()
                      if k.startswith("SB_")})
        values = dict(DEFAULTS, **given)
        worker = values["SB_WORKER"].strip().lower() or "inline"
        if worker not in ("inline", "off"):
            raise ValueError(f"SB_WORKER must be 'inline' or 'off', not {worker!r}")
        return cls(
            database_url=values["SB_DATABASE_URL"],
            uploads_dir=values["SB_UPLOADS_DIR"],
            data_dir=values["SB_DATA_DIR"],
            public_url=(values["SB_PUBLIC_URL"] or DEFAULTS["SB_PUBLIC_URL"]).rstrip("/"),
            redis_url=values["SB_REDIS_URL"],
            events_url=values["SB_EVENTS_URL"].strip().rstrip("/"),
            worker=worker,
            secret_key=values["SB_SECRET_KEY"],
            allow_private_network=values["SB_ALLOW_PRIVATE_NETWORK"].strip().lower() in TRUE_WORDS,
            bcrypt_rounds=int(values["SB_BCRYPT_ROUNDS"]),
            storage_url=values["SB_STORAGE_URL"].strip(),
            storage_presign=int(values["SB_STORAGE_PRESIGN"] or 0),
            max_body_bytes=int(values["SB_MAX_BODY_BYTES"]),
            url_overrides={k[len("SB_URL_"):].lower(): v.rstrip("/")
                           for k, v in values.items() if k.startswith("SB_URL_") and v},
            public_url_from_port=not given.get("SB_PUBLIC_URL"),
        )

    def replace(self, **changes):
        return replace(self, **changes)

    def serving(self, host, port):
        """This configuration for a server on ``host:port``: unless SB_PUBLIC_URL was
        given, the URLs the API hands out (widget, avatars, uploads) name that port."""
        if not self.public_url_from_port:
            return self
        if host in ("", "0.0.0.0", "::", "[::]"):
            host = "127.0.0.1"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return self.replace(public_url=f"http://{host}:{port}")

    def upload_url(self, relative_path):
        return f"{self.public_url}/uploads/{relative_path}"
