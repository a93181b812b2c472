"""The Telegram plugin: one declaration (the logic is in functions.py)."""

from sbcore.channels import ChannelPlugin

from . import functions as F

channel = ChannelPlugin(
    "telegram", functions=F.functions, settings=F.SETTINGS,
    routes={"/channels/telegram/{bot_id}": F.Webhook}, send=F.channel_send,
    commands=[("telegram-set-webhook", "point every Telegram bot's webhook at this server (SB_PUBLIC_URL)",
               lambda parser: None, lambda core, args: F.set_webhooks(core))],
)
