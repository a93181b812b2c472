"""The plugin host and the promises kept across the code base."""

import os
import re
import sys
import types

import pytest

from sbcore import FunctionSet, hookimpl, hookspecs
from sbcore.core import Core
from sbcore.errors import StartupError
from sbcore.migrations import Migration
from sbcore.plugins import DEFAULT_PLUGINS, get_plugin_manager
from sbcore.settings import Setting
from sbcore.testing import reference_function_names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plugin_with(name, functions):
    """A module-like plugin registering ``functions`` (names) that answer their owner."""
    module = types.ModuleType(name)
    collected = FunctionSet()
    for function_name in functions:
        collected(function_name)(lambda ctx, owner=name: owner)
    module.sbcore_register_functions = hookimpl(lambda: collected.api_functions())
    return module


def test_every_registered_function_is_in_the_reference():
    """The core and every installed plugin register only names of the reference."""
    from sbcore.registry import canonical_functions, collect_functions
    # aliases (the names Support Board 3.8 uses on the wire) are not names of their own
    registered = canonical_functions(collect_functions(get_plugin_manager(load_entrypoints=True)))
    reference = set(reference_function_names())
    assert len(reference) == 164
    extensions = {"get-events", "verify-email", "merge-users", "update-conversation-tags",
                  "get-settings-registry", "get-webhook-deliveries", "replay-webhook",
                  "test-webhook"}  # sbcore extensions, documented in the docs (webhooks, workspace, widget)
    unknown = set(registered) - reference - extensions
    assert not unknown, f"registered but not in the reference: {sorted(unknown)}"


ISSUE_2_FUNCTIONS = """get-user get-user-by get-user-extra get-user-language get-users get-new-users
get-online-users get-users-with-details get-agent get-agents-ids agents-online search-users add-user
update-user delete-user delete-users is-online current-url count-users update-user-to-lead get-avatar
get-bot-id update-bot is-typing is-agent-typing set-typing login logout update-login delete-leads
csv-users""".split()


def test_the_users_and_agents_functions_are_all_registered(core):
    assert len(ISSUE_2_FUNCTIONS) == 31
    assert set(ISSUE_2_FUNCTIONS) <= set(core.functions)


def test_a_duplicate_function_stops_startup_naming_both_owners(sb_config):
    pm = get_plugin_manager(load_entrypoints=False,
                            plugins=[plugin_with("first_plugin", ["shared-name"]),
                                     plugin_with("second_plugin", ["shared-name"])])
    with pytest.raises(StartupError) as raised:
        Core(sb_config, pm=pm)
    message = str(raised.value)
    assert "shared-name" in message and "first_plugin" in message and "second_plugin" in message


def test_a_plugin_cannot_silently_replace_a_core_function(sb_config):
    pm = get_plugin_manager(load_entrypoints=False, plugins=[plugin_with("evil", ["get-user"])])
    with pytest.raises(StartupError, match="sbcore.functions.users"):
        Core(sb_config, pm=pm)


def test_a_duplicate_setting_stops_startup(sb_config):
    module = types.ModuleType("settings_plugin")
    module.sbcore_register_settings = hookimpl(
        lambda: [Setting("presence-online-seconds", "number", 5)])
    pm = get_plugin_manager(load_entrypoints=False, plugins=[module])
    with pytest.raises(StartupError, match="presence-online-seconds"):
        Core(sb_config, pm=pm)


class Greeter:
    """A third-party plugin: a function, a setting, a migration and an event handler."""

    functions = FunctionSet()

    def __init__(self):
        self.created = []

    @staticmethod
    @functions("greeter-hello")
    def hello(ctx, user_id: int):
        return f"{ctx.settings.get('greeter-word')}, {user_id}"

    @hookimpl
    def sbcore_register_functions(self):
        return self.functions.api_functions()

    @hookimpl
    def sbcore_register_settings(self):
        return [Setting("greeter-word", "text", "Hello")]

    @hookimpl
    def sbcore_register_migrations(self):
        def create(database, migrator):
            database.execute_sql("CREATE TABLE sb_greeter_log (id INTEGER PRIMARY KEY)")
        return [Migration("greeter", 1, "log table", create)]

    @hookimpl
    def sbcore_on_user_created(self, ctx, user):
        self.created.append(user.id)


GREETER = Greeter()


@pytest.fixture
def sbcore_plugins():
    return [GREETER]


def test_a_plugin_adds_functions_settings_migrations_and_handlers(api, core):
    assert core.functions["greeter-hello"].owner
    assert api.ok("greeter-hello", user_id=4) == "Hello, 4"
    from sbcore import db as dbmod
    with dbmod.connection() as database:
        assert "sb_greeter_log" in database.get_tables()
        core.settings.set("greeter-word", "Hi")
    assert api.ok("greeter-hello", user_id=4) == "Hi, 4"
    user_id = api.ok("add-user")
    assert user_id in GREETER.created


def test_entry_point_plugins_are_loaded(monkeypatch, sb_config):
    """A distribution's ``sbcore`` entry point is registered by get_plugin_manager."""
    import importlib.metadata as metadata
    module = plugin_with("ep_plugin", ["ep-function"])
    sys.modules["ep_plugin"] = module

    class FakeEntryPoint:
        name, group, value = "ep", "sbcore", "ep_plugin"

        def load(self):
            return module

    class FakeDist:
        entry_points = [FakeEntryPoint()]
        metadata = {"name": "sbcore-ep"}

    monkeypatch.setattr(metadata, "distributions", lambda: [FakeDist()])
    pm = get_plugin_manager(load_entrypoints=True)
    assert pm.get_plugin("ep") is module
    core = Core(sb_config, pm=pm)
    assert "ep-function" in core.functions
    core.close()


def test_hooks_are_all_named_sbcore_and_documented():
    names = [n for n in dir(hookspecs) if n.startswith("sbcore_")]
    assert names
    specs = [n for n, v in vars(hookspecs).items() if callable(v) and hasattr(v, "sbcore_spec")]
    assert sorted(specs) == sorted(names)
    with open(os.path.join(ROOT, "docs", "plugins.md"), encoding="utf-8") as handle:
        guide = handle.read()
    missing = [n for n in names if f"`{n}" not in guide]
    assert not missing, f"hooks missing from the plugin guide (docs/plugins.md): {missing}"


def test_every_hook_has_a_test():
    import pathlib
    tests = "".join(p.read_text() for p in pathlib.Path(ROOT, "tests").glob("test_*.py"))
    names = [n for n in dir(hookspecs) if n.startswith("sbcore_")]
    untested = [n for n in names if f"def {n}(" not in tests and f"{n} =" not in tests]
    assert not untested, f"hooks no test implements: {untested}"


def test_hook_implementations_take_no_defaults():
    import inspect
    pm = get_plugin_manager(load_entrypoints=False)
    for name in DEFAULT_PLUGINS:
        plugin = pm.get_plugin(name)
        for attr in dir(plugin):
            if attr.startswith("sbcore_"):
                params = inspect.signature(getattr(plugin, attr)).parameters.values()
                assert all(p.default is p.empty for p in params), f"{name}.{attr}"


def test_readme_lists_every_reference_function_with_a_status():
    names = reference_function_names()
    assert sorted(name for name, _ in function_table()) == sorted(names)


def function_table():
    """The status table of docs/web-api.md."""
    with open(os.path.join(ROOT, "docs", "web-api.md"), encoding="utf-8") as handle:
        page = handle.read()
    section = page[page.index("## Status of every function"):]
    section = section[:section.index("\n## ")] if "\n## " in section else section
    return re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+?) \|", section, re.M)


def test_readme_role_column_matches_the_registry():
    """Each function's workspace role (who may call it through /admin/api) in the status
    table of docs/web-api.md is the one its registration declares."""
    from sbcore.registry import collect_functions
    registered = collect_functions(get_plugin_manager(load_entrypoints=True))
    with open(os.path.join(ROOT, "docs", "web-api.md"), encoding="utf-8") as handle:
        page = handle.read()
    section = page[page.index("## Status of every function"):]
    section = section[:section.index("\n## ")] if "\n## " in section else section
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| [^|]+? \| ([a-z–]+) \|", section, re.M)
    assert len(rows) == 164
    for name, role in rows:
        expected = registered[name].role if name in registered else "–"
        assert role == expected, f"docs/web-api.md gives {name} the role {role}, the registry {expected}"


def test_readme_status_matches_the_registry(core):
    """The core's functions and every installed plugin's."""
    from sbcore.registry import collect_functions
    registered = set(core.functions) | set(collect_functions(get_plugin_manager(load_entrypoints=True)))
    rows = function_table()
    assert len(rows) == 164
    for name, status in rows:
        if status.startswith("done"):
            assert name in registered, f"docs/web-api.md says {name} is done but it is not registered"
        elif name in registered:
            pytest.fail(f"{name} is registered but docs/web-api.md says '{status}'")


def test_docs_document_every_setting(tmp_path):
    """The core's settings and every installed plugin's: each says what it means, and the
    generated settings page (tools/docs_reference.py) gives each its entry with that text."""
    import importlib.util

    from sbcore.registry import collect_list
    specs = collect_list(get_plugin_manager(load_entrypoints=True), "sbcore_register_settings")
    undescribed = [spec.id for spec in specs if not spec.doc.strip()]
    assert not undescribed, f"settings without a description: {undescribed}"
    spec = importlib.util.spec_from_file_location(
        "docs_reference", os.path.join(ROOT, "tools", "docs_reference.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    page = generator.settings_page(get_plugin_manager(load_entrypoints=True))
    missing = [s.id for s in specs if f"### `{s.id}`\n\n- type: `{s.type}`" not in page or s.doc not in page]
    assert not missing, f"settings missing from the settings reference: {missing}"
