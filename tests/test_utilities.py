"""Text formatting, chat CSS, uploads, extensions, requirements, logs, versions, apps."""

import os
import subprocess

import pytest
import responses

from sbcore.text import clear, to_html


def test_text_formatting_to_html_matches_the_reference(api):
    message = "Lorem ipsum dolor *sit amet*, _consectetur adipiscing elit_, `sed` do eiusmod tempor incididunt."
    assert api.ok("text-formatting-to-html", message=message) == (
        "Lorem ipsum dolor <b>sit amet</b>, <i>consectetur adipiscing elit</i>, <code>sed</code> do "
        "eiusmod tempor incididunt.")
    assert api.ok("clear-text-formatting", message=message) == (
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.")


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>", "*<img src=x onerror=alert(1)>*", "`</code><script>x</script>`",
    "```\n<iframe src=javascript:alert(1)>\n```", 'https://x.com/"onmouseover="alert(1)',
    "https://x.com/<script>", "_<svg/onload=alert(1)>_", "~<a href=javascript:x>~", "\x00<b>",
])
def test_formatting_never_lets_markup_through(hostile):
    html = to_html(hostile)
    for dangerous in ("<script", "<img", "<iframe", "<svg", "<a href=javascript", "onmouseover=\"",
                      "\x00"):
        assert dangerous not in html, (hostile, html)


def test_formatting_details():
    assert to_html("~gone~ and snake_case_name and 2*3*4") == "<del>gone</del> and snake_case_name and 2*3*4"
    assert to_html("```\nx = *y*\n```") == "<pre><code>x = *y*</code></pre>"
    assert to_html("see https://ex.com/a?b=1&c=2. ok") == (
        'see <a href="https://ex.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">'
        "https://ex.com/a?b=1&amp;c=2</a>. ok")
    assert to_html("a\nb") == "a<br>b"
    assert clear("*bold* `code` ~x~") == "bold code x"


def test_chat_css_takes_only_colours(api):
    css = api.ok("chat-css", color_1="#ff0000", color_2="rgb(0, 128, 0)")
    assert "#ff0000" in css and "rgb(0, 128, 0)" in css and "#f5f7fa" in css
    for bad in ("red;} body{display:none", "#ff0000;}", "expression(alert(1))", "url(x)"):
        assert api.call("chat-css", color_1=bad).status == 400


def test_upload_path(api, core):
    path = api.ok("upload-path")
    assert path == os.path.realpath(core.config.uploads_dir)
    assert api.ok("upload-path", url=True) == "http://testserver/uploads"
    dated = api.ok("upload-path", url=True, date=True)
    import re
    assert re.fullmatch(r"http://testserver/uploads/\d\d-\d\d-\d\d", dated)


@pytest.mark.parametrize("extension, allowed", [
    ("jpg", True), ("PDF", True), (".png", True), ("report.docx", True), ("php", False),
    ("PHP5", False), ("phtml", False), (".htaccess", False), ("html", False), ("svg", False),
    ("js", False), ("exe", False), ("ｐｈｐ", False), ("php\x00.jpg", False), ("jpg.php", False), ("php\x00", False),
    ("pHp7", False), ("phar", False), ("shtml", False), ("", False), ("../jpg", False),
    ("jp g", False), ("ＪＰＧ", True), ("xyz", False), ("php.", False), ("asp ", False),
])
def test_is_allowed_extension(api, extension, allowed):
    assert api.ok("is-allowed-extension", extension=extension) is allowed


def test_the_allow_list_cannot_open_active_types(api):
    api.ok("save-settings", settings={"upload-allowed-extensions": "jpg,php,svg,html,xyz"})
    assert api.ok("is-allowed-extension", extension="xyz") is True
    assert api.ok("is-allowed-extension", extension="php") is False
    assert api.ok("is-allowed-extension", extension="svg") is False
    assert api.ok("is-allowed-extension", extension="png") is False


def test_system_requirements(api, core, monkeypatch):
    result = api.ok("system-requirements")
    assert set(result) == {"php-version", "zip-archive", "plugin-folder", "uploads-folder",
                           "apps-folder", "languages-folder", "ajax", "curl", "UTF8mb4"}
    assert all(result.values())
    blocked = os.path.join(os.path.dirname(core.config.uploads_dir), "a-file")
    with open(blocked, "w") as handle:
        handle.write("x")
    core.config = core.config.replace(uploads_dir=os.path.join(blocked, "uploads"))
    assert api.ok("system-requirements")["uploads-folder"] is False


def test_logs_append_to_the_data_folder(api, core):
    assert api.ok("logs", string="first\nline", user={"id": 12}) is True
    api.ok("logs", string="second")
    with open(os.path.join(core.config.data_dir, "logs", "sbcore.log"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0].endswith("user 12 first line") and lines[1].endswith(" second")
    assert api.call("logs", string="   ").status == 400


def test_get_versions(api):
    versions = api.ok("get-versions")
    import sbcore
    assert versions["sb"] == sbcore.__version__


@responses.activate
def test_updates_available_asks_the_index(api, core):
    # responses fakes the network, so the guard's DNS look-up is skipped
    core.config = core.config.replace(url_overrides={"pypi": "https://index.example/pypi"},
                                      allow_private_network=True)
    from sbcore.functions.system import distributions
    installed = distributions()  # sbcore and the installed plugins, each asked
    for name, version in installed.items():
        responses.get(f"https://index.example/pypi/{name}/json", json={"info": {"version": version}})
    assert api.ok("updates-available") is False
    responses.replace(responses.GET, "https://index.example/pypi/sbcore/json",
                      json={"info": {"version": "999.0"}})
    assert api.ok("updates-available") is True
    assert responses.calls[-1].request.url == "https://index.example/pypi/sbcore/json"
    responses.replace(responses.GET, "https://index.example/pypi/sbcore/json", status=503, body="down")
    result = api.call("updates-available")
    assert (result.status, result.response) == (502, "package-index-error")


def test_update_is_off_unless_allowed(api, monkeypatch):
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: ran.append(command) or
                        subprocess.CompletedProcess(command, 0, "", ""))
    result = api.call("update")
    assert (result.status, result.response) == (403, "update-disabled") and ran == []
    api.ok("save-settings", settings={"allow-remote-update": True})
    assert api.ok("update") == "success"
    assert ran[0][1:5] == ["-m", "pip", "install", "--disable-pip-version-check"]
    assert "--upgrade" in ran[0] and "sbcore" in ran[0]


def test_apps(api, monkeypatch):
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: ran.append(command) or
                        subprocess.CompletedProcess(command, 0, "", ""))
    assert api.ok("app-get-key", app_name="zendesk") == ""  # Support Board 3.8's none
    result = api.call("app-activation", app_name="zendesk", key="9300AB16-014ZEE12")
    assert (result.status, result.response) == (403, "update-disabled")
    assert api.ok("app-get-key", app_name="zendesk") == ""
    api.ok("save-settings", settings={"allow-remote-update": True})
    assert api.ok("app-activation", app_name="zendesk", key="9300AB16-014ZEE12") == "success"
    assert ran[-1][-1] == "sbcore-zendesk"
    assert api.ok("app-get-key", app_name="zendesk") == "9300AB16-014ZEE12"
    for bad in ("Slack", "slack; rm -rf /", "../x", "a", "-x"):
        assert api.call("app-activation", app_name=bad, key="k").status == 400, bad
