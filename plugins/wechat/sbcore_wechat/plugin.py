"""The WeChat plugin's hook implementations (the logic is in functions.py)."""

from sbcore import channels, hookimpl
from sbcore.migrations import Migration

from . import functions as F
from .models import WechatToken

sbcore_register_functions = F.functions.hook()


@hookimpl
def sbcore_register_settings():
    return F.SETTINGS


@hookimpl
def sbcore_register_models():
    return [WechatToken]


@hookimpl
def sbcore_register_migrations():
    return [Migration("wechat", 1, "the access token cache",
                      lambda database, migrator: database.create_tables([WechatToken]))]


@hookimpl
def sbcore_register_routes(core):
    return [channels.route("/channels/wechat", F.Webhook(core))]


@hookimpl
def sbcore_channel_send(ctx, conversation, message, attachments):
    return F.channel_send(ctx, conversation, message, attachments)
