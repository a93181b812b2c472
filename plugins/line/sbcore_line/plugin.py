"""The LINE plugin: one declaration (the logic is in functions.py)."""

from sbcore.channels import ChannelPlugin

from . import functions as F

channel = ChannelPlugin(
    "line", functions=F.functions, settings=F.SETTINGS,
    routes={"/channels/line": F.Webhook}, send=F.channel_send,
)
