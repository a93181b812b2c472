"""The Slack plugin's hook implementations (the logic is in functions.py, inbound.py
and outbox.py)."""

from sbcore import channels, hookimpl

from . import functions as F
from . import inbound, models, outbox

sbcore_register_functions = F.functions.hook()


@hookimpl
def sbcore_register_settings():
    return F.SETTINGS


@hookimpl
def sbcore_register_models():
    return models.MODELS


@hookimpl
def sbcore_register_migrations():
    return models.MIGRATIONS


@hookimpl
def sbcore_register_routes(core):
    return [channels.route("/channels/slack/events", inbound.Events(core))]


@hookimpl
def sbcore_register_jobs():
    return outbox.JOBS


@hookimpl
def sbcore_on_message_sent(ctx, message, conversation):
    outbox.queue(ctx, message, conversation)
