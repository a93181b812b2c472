"""The Google Business Messages plugin: one declaration (the logic is in functions.py)."""

from sbcore.channels import ChannelPlugin

from . import functions as F

channel = ChannelPlugin(
    "gbm", functions=F.functions, settings=F.SETTINGS,
    routes={"/channels/gbm": F.Webhook}, send=F.channel_send,
)
