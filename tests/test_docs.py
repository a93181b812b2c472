"""The documentation's generated pages (tools/docs_reference.py, run by mkdocs before every
build) name every registered function, setting and hook: nothing registered goes
undocumented, whatever plugin adds it."""

import importlib.util
import os
import re

import yaml

from sbcore import hookspecs
from sbcore.plugins import get_plugin_manager
from sbcore.registry import canonical_functions, collect_functions, collect_list

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generator():
    spec = importlib.util.spec_from_file_location(
        "docs_reference", os.path.join(ROOT, "tools", "docs_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def written(tmp_path):
    folder = generator().write(str(tmp_path / "reference"))
    return {name: open(os.path.join(folder, name), encoding="utf-8").read()
            for name in os.listdir(folder)}


def entries(text, level):
    return set(re.findall(rf"^{'#' * level} `([^`]+)`$", text, re.M))


def test_every_registered_function_has_an_entry_with_its_arguments(tmp_path):
    page = written(tmp_path)["functions.md"]
    functions = collect_functions(get_plugin_manager(load_entrypoints=True))
    canonical = canonical_functions(functions)
    assert entries(page, 2) == set(canonical)
    sections = dict(re.findall(r"^## `([^`]+)`\n(.*?)(?=^## `|\Z)", page, re.M | re.S))
    for name, function in canonical.items():
        body = sections[name]
        assert f"- role: `{function.role}`" in body, name
        for alias in function.aliases:
            assert f"`{alias}`" in body, (name, alias)
        for param in function.parameters:
            assert f"| `{param.name}` |" in body, (name, param.name)
            for other in function.spellings.get(param.name, ()):
                assert f"`{other}`" in body, (name, other)


def test_the_compatibility_notes_reach_their_functions(tmp_path):
    page = written(tmp_path)["functions.md"]
    section = page[page.index("## `get-user-by`"):]
    section = section[:section.index("\n## `", 1)]
    assert "Support Board 3.8 compatibility" in section and '`""`' in section


def test_every_registered_setting_has_an_entry(tmp_path):
    page = written(tmp_path)["settings.md"]
    specs = collect_list(get_plugin_manager(load_entrypoints=True), "sbcore_register_settings")
    assert specs and entries(page, 3) == {spec.id for spec in specs}
    assert "- owner: plugin `dialogflow`" in page[page.index("### `dialogflow`"):]


def test_every_hook_has_an_entry(tmp_path):
    page = written(tmp_path)["hooks.md"]
    names = {n for n in dir(hookspecs) if n.startswith("sbcore_")}
    assert names and entries(page, 2) == names


def test_the_results_page_is_bench_results(tmp_path):
    with open(os.path.join(ROOT, "bench", "RESULTS.md"), encoding="utf-8") as handle:
        assert written(tmp_path)["benchmark-results.md"].endswith(handle.read())


def test_the_navigation_names_every_page_and_the_generated_ones():
    with open(os.path.join(ROOT, "mkdocs.yml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    pages = []

    def walk(items):
        for item in items:
            for value in item.values():
                walk(value) if isinstance(value, list) else pages.append(value)
    walk(config["nav"])
    on_disk = {os.path.relpath(os.path.join(folder, name), os.path.join(ROOT, "docs"))
               for folder, _, names in os.walk(os.path.join(ROOT, "docs"))
               if "reference" not in os.path.relpath(folder, ROOT).split(os.sep)
               for name in names if name.endswith(".md")}
    generated = {f"reference/{name}" for name in generator().pages()}
    assert set(pages) == on_disk | generated
