"""Every code block of the README and of the documentation's pages (docs/, the generated
reference aside) runs (or, for shell lines, file trees and fragments of files, is checked
against what it names): a newcomer can copy any of them verbatim."""

import configparser
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def documents():
    """README.md and every page of docs/ but the generated ones (docs/reference/)."""
    found = ["README.md"]
    for folder, folders, names in os.walk(os.path.join(ROOT, "docs")):
        folders[:] = sorted(f for f in folders if f != "reference")
        found += sorted(os.path.relpath(os.path.join(folder, n), ROOT) for n in names if n.endswith(".md"))
    return found


def readme_blocks(document="README.md"):
    """(section, language, text, line number) of every fenced block of ``document``."""
    with open(os.path.join(ROOT, document), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    blocks, section, index = [], "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        match = re.match(r"^```(\S*)\s*$", line)
        if match:
            start, body = index + 1, []
            index += 1
            while not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            blocks.append((section, match.group(1), "\n".join(body) + "\n", start))
        index += 1
    return blocks


BLOCKS = [(document, *block) for document in documents() for block in readme_blocks(document)]


def block_id(block):
    document, section, language, _, line = block
    return f"{document}:{line}-{language or 'tree'}"


def make_targets():
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as handle:
        return set(re.findall(r"^([a-z][a-z-]*):", handle.read(), re.M))


def cli_commands():
    from sbcore.cli import CORE_COMMANDS
    from sbcore.plugins import get_plugin_manager
    from sbcore.registry import collect_list
    commands = CORE_COMMANDS + collect_list(get_plugin_manager(), "sbcore_register_commands")
    return {command[0] for command in commands}


def check_shell(text, tmp_path):
    targets, commands = make_targets(), cli_commands()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "make":
            named = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
            assert named and set(named) <= targets, f"`{line}`: no such make target"
        elif words[0] == "sbcore" or words[0].endswith("/sbcore"):
            assert words[1] in commands, f"`{line}`: no such sbcore command"
            if words[1] in ("new-plugin",):
                result = subprocess.run([sys.executable, "-m", "sbcore.cli", *words[1:]], cwd=tmp_path,
                                        capture_output=True, text=True, timeout=120)
                assert result.returncode == 0, result.stderr
        elif words[0] == "gunicorn":  # the project's gunicorn.conf.py and wsgi.py, by name
            named = [w for w in words[1:] if w.endswith(".py") or w.endswith(":app")]
            assert named, f"`{line}`: no config or app named"
            for word in named:
                name = word.replace(":app", ".py")
                assert os.path.exists(os.path.join(ROOT, os.path.basename(name))), f"`{line}`: no {name}"
        elif words[0] in ("pip", "python", "python3", "curl", "cd", "git", ".venv/bin/python"):
            continue  # checked by the tests of what they do (build, install, HTTP)
        else:
            pytest.fail(f"shell line `{line}` is checked by no test")


def check_tree(text):
    """A file tree: every path it lists exists (``<app>`` stands for any plugin). A tree
    whose first line is a folder alone lists that folder's files, indented."""
    lines = [line for line in text.splitlines() if line.strip()]
    base = lines[0].strip() if len(lines[0].split()) == 1 and lines[0].endswith("/") else ""
    paths = []
    for line in lines[1:] if base else lines:
        indented = line.startswith(" ")
        if base and indented and not line.startswith(" " * 4):
            paths.append(base + line.split()[0])
        elif not base and not indented:
            paths.append(line.split()[0])
    assert paths
    for path in paths:
        if "<" not in path:
            assert os.path.exists(os.path.join(ROOT, path)), f"a tree lists {path}, which does not exist"


def check_ini(text):
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser.get("metadata", "name")
    if parser.has_option("options.entry_points", "sbcore"):
        for entry in parser.get("options.entry_points", "sbcore").strip().splitlines():
            module = entry.split("=", 1)[1].strip()
            __import__(module)


def run_python(text, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SB_")}
    environment.update(SB_BCRYPT_ROUNDS="4")
    script = tmp_path / "readme_block.py"
    script.write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def named_file(text):
    """The path a block names on its first line (``# sbcore-acme/setup.cfg``), or None."""
    first = text.splitlines()[0] if text.strip() else ""
    match = re.match(r"^# ((?:sbcore-acme|plugins)/[\w./-]+)$", first)
    return match.group(1) if match else None


def check_file_block(path, text):
    """A block that shows a whole file: the file ``sbcore new-plugin acme`` writes, or
    the repository's own file, exactly."""
    body = text.split("\n", 1)[1]
    if path.startswith("sbcore-acme/"):
        from sbcore import scaffold
        expected = scaffold.files("acme")[path.removeprefix("sbcore-acme/")]
    else:
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            expected = handle.read()
    assert body == expected, f"the documentation's {path} differs from the file"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_php(text, tmp_path):
    """A PHP webhook receiver: served by ``php -S``, it takes a delivery signed as
    sbcore's worker signs it and refuses one whose body was changed."""
    import requests

    from sbcore.webhooks import signed_request
    php = shutil.which("php")
    if not php:
        pytest.skip("php is not installed (apt-get install php-cli)")
    (tmp_path / "webhook.php").write_text(text, encoding="utf-8")
    port = free_port()
    server = subprocess.Popen([php, "-S", f"127.0.0.1:{port}", "-t", str(tmp_path)],
                              env={**os.environ, "SB_WEBHOOKS_KEY": "the-key"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/webhook.php"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        body = b'{"function": "message-sent", "key": "the-key", "data": {}, "sender-url": ""}'
        headers = signed_request("the-key", "delivery-1", body, int(time.time()))
        assert requests.post(url, data=body, headers=headers, timeout=30).status_code == 200
        assert requests.post(url, data=body + b" ", headers=headers, timeout=30).status_code == 401
        assert requests.post(url, data=body, timeout=30).status_code == 401
    finally:
        server.kill()
        server.wait(timeout=30)


GUIDE = ("Writing a plugin", "A messaging channel")


@pytest.mark.parametrize("block", BLOCKS, ids=[block_id(b) for b in BLOCKS])
def test_every_readme_block_runs(block, tmp_path, database_url):
    document, section, language, text, line = block
    if named_file(text):
        check_file_block(named_file(text), text)
    elif language == "python":
        if section in GUIDE:  # an excerpt ("..." for the body): it must at least parse
            compile(text, f"{document}:{line}", "exec")
        else:
            if not database_url.startswith("sqlite"):
                pytest.skip("the README's examples make their own SQLite files")
            run_python(text, tmp_path)
    elif language == "sh":
        check_shell(text, tmp_path)
    elif language == "html":
        from falcon.testing import TestClient

        from sbcore.web import create_app
        from sbcore.config import Config
        if not database_url.startswith("sqlite"):
            pytest.skip("makes its own SQLite file")
        app = create_app(Config(database_url=f"sqlite:///{tmp_path}/html.db", worker="off"))
        try:
            for src in re.findall(r'src="https?://[^/"]+(/[^"]*)"', text):
                assert TestClient(app).simulate_get(src).status_code == 200, src
        finally:
            app.sbcore.close()
    elif language == "ini":
        check_ini(text)
    elif language == "text":  # a diagram: every sbcore command it names exists
        commands = cli_commands()
        named = re.findall(r"\bsbcore ([a-z][a-z-]+)(?= *(?:--|\(|×|$))", text, re.M)
        assert named and set(named) <= commands, f"{document}:{line}: {set(named) - commands}"
    elif language == "php":
        run_php(text, tmp_path)
    elif language == "":
        check_tree(text)
    else:
        pytest.fail(f"{document}:{line}: a ```{language} block that no test runs")


def test_the_readme_and_the_docs_have_the_blocks_a_newcomer_copies():
    languages = [language for _, _, language, _, _ in BLOCKS]
    assert languages.count("python") >= 2 and "sh" in languages and "php" in languages
    assert "sh" in [language for _, language, _, _ in readme_blocks("README.md")]
    started = [language for _, language, _, _ in readme_blocks("docs/getting-started.md")]
    assert {"sh", "python", "html"} <= set(started)
