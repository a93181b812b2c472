"""The Telegram plugin's hook implementations (the logic is in functions.py)."""

from sbcore import channels, hookimpl

from . import functions as F

sbcore_register_functions = F.functions.hook()


@hookimpl
def sbcore_register_settings():
    return F.SETTINGS


@hookimpl
def sbcore_register_routes(core):
    return [channels.route("/channels/telegram/{bot_id}", F.Webhook(core))]


@hookimpl
def sbcore_channel_send(ctx, conversation, message, attachments):
    return F.channel_send(ctx, conversation, message, attachments)


@hookimpl
def sbcore_register_commands():
    return [("telegram-set-webhook", "point every Telegram bot's webhook at this server (SB_PUBLIC_URL)",
             lambda parser: None, lambda core, args: F.set_webhooks(core))]
