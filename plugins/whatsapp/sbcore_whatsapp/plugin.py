"""The WhatsApp plugin: one declaration (the logic is in functions.py)."""

from sbcore.channels import ChannelPlugin

from . import functions as F

channel = ChannelPlugin(
    "whatsapp", functions=F.functions, settings=F.SETTINGS,
    routes={"/channels/whatsapp": F.Webhook}, send=F.channel_send,
)
