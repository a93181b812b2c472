"""gunicorn reads this file from the working directory: ``gunicorn wsgi:app`` then uses
the same threaded worker and timeouts as ``sbcore serve`` (see sbcore/serving.py)."""

from sbcore.serving import options

globals().update(options())
