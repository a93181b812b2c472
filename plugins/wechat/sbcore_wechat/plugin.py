"""The WeChat plugin: one declaration (the logic is in functions.py)."""

from sbcore.channels import ChannelPlugin
from sbcore.migrations import Migration

from . import functions as F
from .models import WechatToken

channel = ChannelPlugin(
    "wechat", functions=F.functions, settings=F.SETTINGS,
    routes={"/channels/wechat": F.Webhook}, send=F.channel_send,
    models=[WechatToken],
    migrations=[Migration("wechat", 1, "the access token cache",
                          lambda database, migrator: database.create_tables([WechatToken]))],
)
