"""The Messenger and Instagram plugin: one declaration (the logic is in functions.py)."""

from sbcore.channels import ChannelPlugin

from . import functions as F

channel = ChannelPlugin(
    "messenger", functions=F.functions, settings=F.SETTINGS,
    routes={"/channels/messenger": F.Webhook}, send=F.channel_send,
)
