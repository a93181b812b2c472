"""Every extension point of sbcore. Hooks are named ``sbcore_*`` so that
``grep sbcore_`` finds them all. Implementations take keyword arguments and never
give a parameter a default value (pluggy would not pass it)."""

import pluggy

hookspec = pluggy.HookspecMarker("sbcore")

# --- Registration: each returns a list that the core merges once at start-up ---


@hookspec
def sbcore_register_functions():
    """Return a list of :class:`sbcore.registry.ApiFunction` for the Web API.

    A name registered twice stops start-up with a message naming both owners."""


@hookspec
def sbcore_register_settings():
    """Return a list of :class:`sbcore.settings.Setting` (id, type, default, doc)."""


@hookspec
def sbcore_register_models():
    """Return a list of peewee model classes the plugin owns (used by tests and tools)."""


@hookspec
def sbcore_register_migrations():
    """Return a list of :class:`sbcore.migrations.Migration`; ``sbcore init`` applies
    those not yet applied, per app in number order."""


@hookspec
def sbcore_reserved_details():
    """Return a list of user detail slugs that only the server sets (a plugin reads
    identity from them): a visitor's ``register``, ``update-user`` and forms that name
    one answer 403 ``not-allowed``."""


@hookspec
def sbcore_register_routes(core):
    """Return a list of ``(path, resource)`` pairs for inbound requests of outside
    services (webhooks of messaging platforms); ``core`` is the core the app serves.
    ``sbcore.channels.route(path, handler)`` makes the pair from a handler that never
    touches falcon."""


@hookspec
def sbcore_register_commands():
    """Return a list of ``(name, help, configure, run)``: ``configure(parser)`` adds
    arguments to an argparse sub-parser, ``run(core, args)`` does the work."""


@hookspec
def sbcore_register_jobs():
    """Return a list of :class:`sbcore.worker.Job` that ``sbcore worker`` runs on
    their interval."""


# --- Events: run inside the caller's transaction, only write rows ---


@hookspec
def sbcore_on_user_created(ctx, user):
    """A user was created (add-user, registration)."""


@hookspec
def sbcore_on_user_updated(ctx, user):
    """A user's fields or details changed."""


@hookspec
def sbcore_on_users_deleted(ctx, user_ids):
    """Users are about to be deleted; rows that reference them go with them
    (foreign keys cascade). Implementations remove what the database cannot, such
    as files."""


@hookspec
def sbcore_on_login(ctx, user):
    """A user logged in successfully."""


@hookspec
def sbcore_on_conversation_created(ctx, conversation):
    """A conversation was opened (new-conversation, direct-message, a channel)."""


@hookspec
def sbcore_on_conversation_updated(ctx, conversation, changes):
    """A conversation's status, department, agent or other fields changed;
    ``changes`` maps each changed field to its new value."""


@hookspec
def sbcore_on_message_sent(ctx, message, conversation):
    """A message was added to a conversation (send-message and everything that sends)."""


@hookspec
def sbcore_on_message_updated(ctx, message):
    """A message's text, attachments or payload changed."""


@hookspec
def sbcore_on_message_deleted(ctx, message):
    """A message was deleted (the row is gone; ``message`` is its last state)."""


# --- One answer wins ---


@hookspec(firstresult=True)
def sbcore_bot_reply(ctx, conversation, message):
    """A user's ``message`` in ``conversation`` was committed: the chatbot that answers
    it returns True (having stored its reply through ``ctx``, in a short transaction of
    its own); a chatbot that does not answer returns None, so the next may. Called after
    the commit, outside any transaction, only while ``conversations.bot_may_answer``;
    an exception is logged and never fails the user's call."""


@hookspec
def sbcore_bot_active(ctx):
    """Whether this plugin's chatbot answers users' messages now (its switch is on and its
    settings are complete), from ``ctx.settings``: asked in the caller's transaction
    before a ``sbcore_bot_reply`` is scheduled, so that no work is done after the commit
    while every chatbot is off. A plugin that implements ``sbcore_bot_reply`` without
    this hook is always asked to reply."""


@hookspec(firstresult=True)
def sbcore_channel_send(ctx, conversation, message, attachments):
    """Send ``message`` (text) and ``attachments`` (``[[name, url], …]``) out through
    the channel that owns ``conversation.source``: return True, or the list of the
    platform's ids of the messages sent, when the source is yours; None when not.
    A platform's failure is an ApiError (502). Called after the commit, never inside
    a transaction."""


@hookspec(firstresult=True)
def sbcore_translate(ctx, strings, language_code):
    """Translate ``strings`` (plain text, never markup) into ``language_code`` (the
    reference's codes: ``it``, ``zt`` for Traditional Chinese …) by machine: return the
    translations in order, or None when you don't translate (not configured). A
    service's failure is an ApiError (502). Called outside any transaction."""
