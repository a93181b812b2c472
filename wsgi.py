"""``gunicorn wsgi:app``: the app configured by the environment alone."""

from sbcore.web import get_app

app = get_app()
