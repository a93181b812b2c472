"""The Viber plugin's hook implementations (the logic is in functions.py)."""

from sbcore import channels, hookimpl

from . import functions as F

sbcore_register_functions = F.functions.hook()


@hookimpl
def sbcore_register_settings():
    return F.SETTINGS


@hookimpl
def sbcore_register_routes(core):
    return [channels.route("/channels/viber", F.Webhook(core))]


@hookimpl
def sbcore_channel_send(ctx, conversation, message, attachments):
    return F.channel_send(ctx, conversation, message, attachments)


@hookimpl
def sbcore_register_commands():
    return [("viber-set-webhook", "point the Viber bot's webhook at this server (SB_PUBLIC_URL)",
             lambda parser: None, lambda core, args: F.set_webhook(core))]
