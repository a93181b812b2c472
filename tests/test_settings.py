"""Settings: the registry, merging saves, external settings, export and import."""

import json
import os

import pytest

from sbcore.testing import assert_shape, reference_example


def test_get_settings_lists_every_registered_setting_with_its_type(api, core):
    settings = api.ok("get-settings")
    assert set(settings) == set(core.settings.specs)
    assert settings["presence-online-seconds"] == [30, "number"]
    assert settings["departments"] == [[], "repeater"]
    assert settings["webhooks"][1] == "multi-input"
    assert "secret-key" not in settings
    assert_shape({"x": settings["color-1"]}, {"x": ["#fff", "color"]})


def test_save_settings_merges_bare_values_and_pairs(api):
    assert api.ok("save-settings", settings={"presence-online-seconds": 60,
                                              "color-1": ["#ff0000", "color"]}) is True
    assert api.ok("get-setting", setting="presence-online-seconds") == 60
    assert api.ok("get-setting", setting="color-1") == "#ff0000"
    api.ok("save-settings", settings={"color-2": "rgb(1, 2, 3)"})
    assert api.ok("get-setting", setting="color-1") == "#ff0000"  # the others keep their values
    replies = [{"reply-name": "hello", "reply-text": "Hello! How can I help?"}]
    api.ok("save-settings", settings={"saved-replies": [replies, "repeater"]})
    assert api.ok("saved-replies") == replies
    assert_shape(api.ok("saved-replies"), reference_example("saved-replies"))


@pytest.mark.parametrize("settings, code", [
    ({"presence-online-seconds": "sixty"}, "invalid-setting-value"),
    ({"presence-online-seconds": True}, "invalid-setting-value"),
    ({"color-1": "red; } body { display:none"}, "invalid-setting-value"),
    ({"departments": [{"department-id": "x", "department-name": "A"}]}, "invalid-setting-value"),
    ({"departments": [{"department-name": "no id"}]}, "invalid-setting-value"),
    ({"saved-replies": [{"reply-name": "a", "evil": 1}]}, "invalid-setting-value"),
    ({"no-such-setting": 1}, "unknown-setting"),
])
def test_save_settings_refuses_wrong_values_and_saves_nothing(api, snapshot, settings, code):
    before = snapshot()
    result = api.call("save-settings", settings=dict(settings, **{"login-cookie-days": 7}))
    assert (result.status, result.response) == (400, code), result
    assert snapshot() == before


def test_get_setting_and_multi_setting(api):
    assert api.ok("get-setting", setting="not-a-setting-of-ours") is False
    assert api.call("get-setting", setting="../../etc").status == 400
    assert api.ok("get-multi-setting", id="webhooks", sub_id="webhooks-active") is False
    assert api.ok("get-multi-setting", id="webhooks", sub_id="nothing", default="d") == "d"
    api.ok("save-settings", settings={"welcome-message": {"active": True, "title": "T", "message": "M"}})
    assert api.ok("get-multi-setting", id="welcome-message", sub_id="message") == "M"


def test_external_settings(api):
    assert api.ok("get-external-setting", name="crm-id") is False
    assert api.ok("get-external-setting", name="crm-id", default="none") == "none"
    assert api.ok("save-external-setting", name="crm-id", value={"a": [1, 2]}) is True
    assert api.ok("get-external-setting", name="crm-id") == {"a": [1, 2]}
    assert api.ok("get-external-setting", name="secret-key") is False  # not reachable this way
    assert api.call("save-external-setting", name="Bad Name", value="x").status == 400
    api.ok("save-settings", settings={}, external_settings={"crm-id": "v2"},
           external_settings_translations={"crm-id": {"it": "v2-it"}})
    assert api.ok("get-external-setting", name="crm-id") == "v2"


def test_departments(api):
    api.ok("save-settings", settings={"departments": [
        {"department-id": "1", "department-name": "Example", "department-color": "yellow",
         "department-image": "https://example.com/image.png"},
        {"department-id": 2, "department-name": "Sales", "department-color": "red",
         "department-image": ""}]})
    departments = api.ok("get-departments")
    assert departments == {"1": {"name": "Example", "color": "yellow", "image": "https://example.com/image.png"},
                           "2": {"name": "Sales", "color": "red", "image": ""}}
    assert_shape(departments["1"], reference_example("get-departments")["1"])


def test_export_and_import_round_trip(api, core):
    api.ok("save-settings", settings={"presence-online-seconds": 45, "color-1": "#123456"})
    api.ok("save-external-setting", name="crm-id", value="abc")
    url = api.ok("export-settings")
    assert url.startswith("http://testserver/uploads/exports/") and url.endswith(".json")
    path = os.path.join(core.config.uploads_dir, url.split("/uploads/", 1)[1])
    with open(path, encoding="utf-8") as handle:
        exported = json.load(handle)
    assert exported["settings"]["presence-online-seconds"] == [45, "number"]
    api.ok("save-settings", settings={"presence-online-seconds": 10, "color-1": "#000000"})
    api.ok("save-external-setting", name="crm-id", value="changed")
    assert api.ok("import-settings", file_url=url) is True
    assert api.ok("get-setting", setting="presence-online-seconds") == 45
    assert api.ok("get-setting", setting="color-1") == "#123456"
    assert api.ok("get-external-setting", name="crm-id") == "abc"


def test_import_refuses_what_it_must(api, core, snapshot, tmp_path):
    os.makedirs(os.path.join(core.config.uploads_dir, "x"), exist_ok=True)
    with open(os.path.join(core.config.uploads_dir, "x", "bad.json"), "w") as handle:
        handle.write('{"settings": {"presence-online-seconds": "x"}}')
    with open(os.path.join(core.config.uploads_dir, "x", "text.json"), "w") as handle:
        handle.write("not json")
    before = snapshot()
    cases = [
        ("http://127.0.0.1:9/settings.json", "url-not-allowed"),
        ("http://169.254.169.254/latest/meta-data", "url-not-allowed"),
        ("file:///etc/passwd", "url-not-allowed"),
        ("http://testserver/uploads/../../etc/passwd", "url-not-allowed"),
        ("http://testserver/uploads/x/bad.json", "invalid-setting-value"),
        ("http://testserver/uploads/x/text.json", "invalid-settings-file"),
        ("http://testserver/uploads/x/missing.json", "file-not-found"),
    ]
    for url, code in cases:
        result = api.call("import-settings", file_url=url)
        assert result.response == code, (url, result)
        assert result.status in (400, 404)
    assert snapshot() == before


def test_import_from_a_remote_url_with_a_size_cap(api, core, sb_config, receiver, monkeypatch):
    import http.server
    import threading
    body = json.dumps({"settings": {"presence-online-seconds": 77}}).encode()
    big = b" " * 6_000_000

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            payload = body if self.path == "/ok.json" else big
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        core.config = core.config.replace(allow_private_network=True)
        base = f"http://127.0.0.1:{server.server_port}"
        assert api.ok("import-settings", file_url=f"{base}/ok.json") is True
        assert api.ok("get-setting", setting="presence-online-seconds") == 77
        result = api.call("import-settings", file_url=f"{base}/big.json")
        assert (result.status, result.response) == (400, "file-too-large")
    finally:
        server.shutdown()
        server.server_close()
