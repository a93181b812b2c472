"""sbcore.client.Client over HTTP and sbcore.connect in process: one scenario, the same
answers and the same errors; retries on 502/503 for reads only."""

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import responses

import sbcore
from sbcore.cli import create_admin
from sbcore.client import Client


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_core(tmp_path, database_url):
    """``sbcore.connect`` on a new SQLite file, and the same core served over HTTP on a
    free loopback port."""
    if not database_url.startswith("sqlite"):
        pytest.skip("makes its own SQLite file")
    core = sbcore.connect(f"sqlite:///{tmp_path}/client.db", uploads_dir=str(tmp_path / "up"),
                          public_url="https://desk.example.com", bcrypt_rounds=4, worker="off")
    app = sbcore.create_app(core=core, start_worker=False)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    token = create_admin(core, "admin@example.com", "admin-password", "Ada", "", None).token
    yield core, f"http://127.0.0.1:{server.server_port}", token
    server.shutdown()
    server.server_close()
    core.close()


def scenario(client, email):
    """User code that takes either client."""
    user_id = client.call("add-user", first_name="Ann", last_name="Lee", email=email,
                          extra={"phone": ["+123", "Phone"]})
    user = client.call("get-user", user_id=int(user_id), extra=True)
    client.call("update-user", user_id=int(user_id), first_name="Anna")
    renamed = client.call("get-user", user_id=int(user_id))["first_name"]
    missing = client.call("get-user", user_id=987654)
    errors = []
    for function, arguments in (("add-user", {"email": email}),          # duplicate: 409
                                ("get-user", {}),                         # missing argument: 400
                                ("get-user", {"user_id": "one"}),         # invalid argument: 400
                                ("no-such-function", {})):                # 404
        with pytest.raises(sbcore.ApiError) as raised:
            client.call(function, **arguments)
        errors.append((raised.value.code, raised.value.status, raised.value.message))
    shape = {key: type(value).__name__ for key, value in user.items() if key not in ("token",)}
    return {"user": {k: v for k, v in user.items() if k not in ("id", "email", "token", "creation_time",
                                                                  "last_activity")},
            "shape": shape, "renamed": renamed, "missing": missing, "errors": errors}


def test_the_same_scenario_through_connect_and_the_http_client(served_core):
    core, url, token = served_core
    in_process = scenario(core, "ann@example.com")
    with Client(url, token) as client:
        over_http = scenario(client, "ann2@example.com")
    assert in_process["renamed"] == over_http["renamed"] == "Anna"
    assert in_process["missing"] is over_http["missing"] is False
    assert [e[:2] for e in in_process["errors"]] == [e[:2] for e in over_http["errors"]] == [
        ("duplicate-email", 409), ("missing-argument", 400), ("invalid-argument", 400),
        ("function-not-found", 404)]
    assert in_process["errors"] == [(c, s, m.replace("ann2@", "ann@")) for c, s, m in over_http["errors"]]
    assert in_process["user"] == over_http["user"]
    assert in_process["shape"] == over_http["shape"]


def test_a_wrong_token_is_an_api_error_401(served_core):
    _, url, _ = served_core
    with pytest.raises(sbcore.ApiError) as raised:
        Client(url, "x" * 40).call("get-user", user_id=1)
    assert (raised.value.code, raised.value.status) == ("invalid-token", 401)


@responses.activate
def test_reads_are_retried_on_502_and_503_writes_never():
    url = "http://sbcore.test"
    responses.add(responses.POST, f"{url}/api/get-user", status=503, body="restarting")
    responses.add(responses.POST, f"{url}/api/get-user", status=502, body="<html>bad gateway</html>")
    responses.add(responses.POST, f"{url}/api/get-user", json={"success": True, "response": {"id": "1"}})
    client = Client(url, "t" * 40, backoff=0)
    assert client.call("get-user", user_id=1) == {"id": "1"}
    assert len(responses.calls) == 3
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + "t" * 40
    assert responses.calls[0].request.req_kwargs["timeout"] == (5, 60)

    responses.add(responses.POST, f"{url}/api/add-user", status=503, body="restarting")
    with pytest.raises(sbcore.ApiError) as raised:
        client.call("add-user", first_name="Ann")
    assert raised.value.status == 503 and raised.value.code == "bad-answer"
    assert [c.request.url for c in responses.calls].count(f"{url}/api/add-user") == 1


@responses.activate
def test_retries_are_bounded():
    url = "http://sbcore.test"
    responses.add(responses.POST, f"{url}/api/get-users", status=503,
                  json={"success": False, "response": "unavailable", "message": "down"})
    with pytest.raises(sbcore.ApiError) as raised:
        Client(url, "t" * 40, retries=2, backoff=0).call("get-users")
    assert raised.value.status == 503 and raised.value.code == "unavailable"
    assert len(responses.calls) == 3


def test_an_unreachable_server_is_a_typed_error():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(sbcore.ApiError) as raised:
        Client(f"http://127.0.0.1:{port}", "t" * 40, timeout=(2, 2)).call("add-user")
    assert raised.value.code == "connection-failed" and raised.value.status == 503
