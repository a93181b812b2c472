"""The Viber plugin: one declaration (the logic is in functions.py)."""

from sbcore.channels import ChannelPlugin

from . import functions as F

channel = ChannelPlugin(
    "viber", functions=F.functions, settings=F.SETTINGS,
    routes={"/channels/viber": F.Webhook}, send=F.channel_send,
    commands=[("viber-set-webhook", "point the Viber bot's webhook at this server (SB_PUBLIC_URL)",
               lambda parser: None, lambda core, args: F.set_webhook(core))],
)
