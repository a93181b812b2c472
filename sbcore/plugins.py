"""The plugin host: the core's own modules are default plugins; third-party
plugins come from the ``sbcore`` entry-point group."""

import importlib

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = (
    "sbcore.schema",
    "sbcore.settings",
    "sbcore.uploads",
    "sbcore.functions.users",
    "sbcore.functions.agents",
    "sbcore.functions.auth",
    "sbcore.functions.presence",
    "sbcore.functions.files",
    "sbcore.functions.conversations",
    "sbcore.functions.messages",
    "sbcore.functions.notes",
    "sbcore.functions.settings",
    "sbcore.functions.articles",
    "sbcore.functions.utilities",
    "sbcore.functions.system",
    "sbcore.functions.translations",
    "sbcore.functions.maintenance",
    "sbcore.functions.reports",
    "sbcore.functions.automations",
    "sbcore.functions.services",
    "sbcore.visitor",
    "sbcore.identity",
    "sbcore.worker",
    "sbcore.webhooks",
    "sbcore.mail",
    "sbcore.notifications",
    "sbcore.piping",
    "sbcore.functions.email",
    "sbcore.functions.workspace",
    "sbcore.web.admin.session",
    "sbcore.realtime.events",
)


def get_plugin_manager(load_entrypoints=True, plugins=()):
    """A plugin manager with the core's plugins, ``plugins`` (modules or objects)
    and, unless ``load_entrypoints`` is false, every installed ``sbcore`` plugin."""
    pm = pluggy.PluginManager("sbcore")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    for plugin in plugins:
        pm.register(plugin)
    if load_entrypoints:
        pm.load_setuptools_entrypoints("sbcore")
    pm.check_pending()
    return pm
