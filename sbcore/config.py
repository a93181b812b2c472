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
    # SB_URL_<APP> overrides of integrations' base URLs, keyed by lower-case app.
    url_overrides: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ=None, env_file=".env"):
        values = dict(DEFAULTS)
        if env_file:
            values.update(read_env_file(env_file))
        values.update({k: v for k, v in (os.environ if environ is None else environ).items()
                       if k.startswith("SB_")})
        worker = values["SB_WORKER"].strip().lower() or "inline"
        if worker not in ("inline", "off"):
            raise ValueError(f"SB_WORKER must be 'inline' or 'off', not {worker!r}")
        return cls(
            database_url=values["SB_DATABASE_URL"],
            uploads_dir=values["SB_UPLOADS_DIR"],
            data_dir=values["SB_DATA_DIR"],
            public_url=values["SB_PUBLIC_URL"].rstrip("/"),
            redis_url=values["SB_REDIS_URL"],
            events_url=values["SB_EVENTS_URL"].strip().rstrip("/"),
            worker=worker,
            secret_key=values["SB_SECRET_KEY"],
            allow_private_network=values["SB_ALLOW_PRIVATE_NETWORK"].strip().lower() in TRUE_WORDS,
            bcrypt_rounds=int(values["SB_BCRYPT_ROUNDS"]),
            url_overrides={k[len("SB_URL_"):].lower(): v.rstrip("/")
                           for k, v in values.items() if k.startswith("SB_URL_") and v},
        )

    def replace(self, **changes):
        return replace(self, **changes)

    def upload_url(self, relative_path):
        return f"{self.public_url}/uploads/{relative_path}"
