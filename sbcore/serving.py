"""How gunicorn serves sbcore: threaded workers that an idle or slow client cannot starve.

``sbcore serve`` and ``gunicorn wsgi:app`` (through ``gunicorn.conf.py``) take the same
options: gunicorn's ``gthread`` worker, with one change (:class:`ThreadWorker`): a new
connection waits in the worker's poller until its first bytes arrive, so idle sockets
cost no thread (gunicorn's own gthread gives each one a thread for five seconds first).
A client that sends its headers and then stalls the body holds a thread only for
``BODY_TIMEOUT`` seconds; a connection that sends nothing is closed after the keepalive
time. The environment may change the thread count (``SB_THREADS``) and the timeouts
(``SB_TIMEOUT``, ``SB_KEEPALIVE``, ``SB_BODY_TIMEOUT``)."""

import errno
import os
import selectors
import socket
import time
from functools import partial

from gunicorn.workers.gthread import TConn
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

BODY_TIMEOUT = 10  # seconds a request body may pause between two reads (SB_BODY_TIMEOUT)


def _number(environ, name, default):
    value = (environ.get(name) or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


class ThreadWorker(GunicornThreadWorker):
    """gthread, but a new connection goes to the poller first, not to a thread."""

    def accept(self, listener):
        if not hasattr(self, "pending_conns"):  # a gunicorn without the pending queue
            return super().accept(listener)
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.timeout = time.monotonic() + self.cfg.keepalive  # the order murder_pending needs
        self.pending_conns.append(conn)
        self.poller.register(client_sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))


def pre_request(worker, req):
    """Bound every read of the request body: a half-sent body frees its thread after
    ``BODY_TIMEOUT`` seconds instead of never."""
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if isinstance(sock, socket.socket):
        try:
            sock.settimeout(_number(os.environ, "SB_BODY_TIMEOUT", BODY_TIMEOUT))
        except OSError:
            pass


def options(environ=None):
    """gunicorn settings (names as in ``gunicorn.conf.py``)."""
    environ = os.environ if environ is None else environ
    return {
        "worker_class": "sbcore.serving.ThreadWorker",
        "threads": _number(environ, "SB_THREADS", 32),
        # a worker whose main loop is stuck this long is restarted
        "timeout": _number(environ, "SB_TIMEOUT", 60),
        "graceful_timeout": 20,
        # an idle kept-alive connection is closed after this many seconds
        "keepalive": _number(environ, "SB_KEEPALIVE", 5),
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "pre_request": pre_request,
    }
