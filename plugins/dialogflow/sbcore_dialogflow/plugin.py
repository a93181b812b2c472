"""The Dialogflow plugin's hook implementations (the logic is in functions.py)."""

from sbcore import hookimpl

from . import functions as F

sbcore_register_functions = F.functions.hook()


@hookimpl
def sbcore_register_settings():
    return F.SETTINGS


@hookimpl
def sbcore_bot_active(ctx):
    return F.bot_active(ctx)


@hookimpl(tryfirst=True)  # before a general-purpose chatbot such as OpenAI's
def sbcore_bot_reply(ctx, conversation, message):
    return F.bot_reply(ctx, conversation, message)
