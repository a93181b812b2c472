"""sbcore: a self-hosted customer-support platform implementing the Support Board
Web API, extensible by pluggy plugins.

Public API for plugins and embedding applications."""

from . import config
from .config import Config
from .db import BaseModel
from .errors import ApiError
from .hooks import hookimpl
from .registry import ADMIN, AGENT, ApiFunction, FunctionSet, IdList, Json, Search

__version__ = "0.1.0"


def create_app(config=None, **kwargs):
    """The WSGI app, to serve with gunicorn or mount inside another application
    (``config`` defaults to the environment's); applies pending migrations first."""
    from .web import create_app as _create_app
    return _create_app(config, **kwargs)


def connect(database_url=None, **config):
    """An in-process client: ``sbcore.connect(url).call("get-user", user_id=1)``."""
    from .core import connect as _connect
    return _connect(database_url, **config)


__all__ = ["ADMIN", "AGENT", "ApiError", "ApiFunction", "BaseModel", "Config", "FunctionSet", "IdList",
           "Json", "Search", "config", "connect", "create_app", "hookimpl"]
