"""The running core: configuration, database, plugins, registry and services.

``Core`` is what the web app, the command line and the in-process client share.
``core.call(name, **arguments)`` runs a registered function with the same binding,
validation and transaction as an HTTP request."""

import json
import logging
import secrets
import threading

from . import db as dbmod
from .config import Config
from .errors import ApiError, StartupError
from .models import Setting as SettingRow
from .plugins import get_plugin_manager
from .presence import make_presence
from .realtime import make_hub
from .registry import collect_functions, collect_list
from .settings import STAMP as SETTINGS_STAMP, SettingsStore
from .support_board import with_catalogue

log = logging.getLogger("sbcore")

SECRET_KEY_SETTING = "secret-key"


class Context:
    """What a function receives as ``ctx``: the core's services and the caller."""

    def __init__(self, core, caller_id=None, settings_stamp=None):
        self.core = core
        self.config = core.config
        self.hook = core.pm.hook
        # its stamp checked once per call (or given: read with the caller's token)
        self.settings = core.settings.view(settings_stamp)
        self.presence = core.presence
        self.caller_id = caller_id
        self.events_emitted = 0
        # true while a message's own status change is announced (webhook types follow 3.8)
        self.status_from_message = False
        self.stream_events = []  # realtime events written; published after the commit
        self._deferred = None
        self._after_commit = None

    def emit(self, name, data):
        """Write webhook event ``name`` in the current transaction (see sbcore.webhooks)."""
        self.emit_many(name, [data])

    def emit_many(self, name, items):
        from .webhooks import record
        record(self, name, items)

    def defer(self, fn):
        """Run ``fn`` at the end of the current API call, still inside its transaction
        (immediately when there is no call)."""
        if self._deferred is None:
            fn()
        else:
            self._deferred.append(fn)

    def run_deferred(self):
        while self._deferred:
            self._deferred.pop(0)()

    def after_commit(self, fn):
        """Run ``fn()`` once the current API call's transaction has committed, outside
        any transaction: the place for network calls (a channel's send). An ApiError
        raised there is still the call's answer, but what was committed stays.
        Without a call (domain code run directly), ``fn`` runs when the caller runs
        ``run_after_commit``."""
        if self._after_commit is None:
            self._after_commit = []
        self._after_commit.append(fn)

    def run_after_commit(self):
        """Run the functions given to ``after_commit`` in order; the first ApiError is
        raised once they have all run."""
        failure = None
        while self._after_commit:
            try:
                self._after_commit.pop(0)()
            except ApiError as error:
                failure = failure or error
        if failure is not None:
            raise failure

    def upload_url(self, relative_path):
        return self.config.upload_url(relative_path)

    @property
    def storage(self):
        return self.core.storage

    @property
    def secret_key(self):
        return self.core.secret_key


class Core:
    def __init__(self, config=None, pm=None, load_entrypoints=True):
        self.config = config or Config.from_env()
        self.pm = pm or get_plugin_manager(load_entrypoints=load_entrypoints)
        self.functions = collect_functions(self.pm)
        self.settings = SettingsStore(with_catalogue(collect_list(
            self.pm, "sbcore_register_settings", key=lambda s: s.id)))
        self.models = collect_list(self.pm, "sbcore_register_models")
        self.database = dbmod.init_database(self.config.database_url)
        self.presence = make_presence(self.config.redis_url)
        self.realtime = make_hub(self.config.redis_url)  # starts nothing until a stream opens
        self._secret_key = self.config.secret_key or None
        self._storage = None  # (config, backend): built on first use, again if config changes
        self.outbox_signal = threading.Event()  # set after a commit that wrote events
        self.ready = False  # init() has run: the schema is current

    def ensure_ready(self, migrate=True, report=None):
        """Before serving: apply pending migrations (core and plugins) with ``init``, or,
        with ``migrate=False``, refuse with one line naming the command. A half-made
        schema is never served."""
        if self.ready:
            return
        if not migrate:
            from .migrations import pending
            with dbmod.connection():
                waiting = pending(self.pm, self.database)
            if waiting:
                raise StartupError(f"the database schema is not current ({len(waiting)} migrations "
                                   "pending, e.g. " + f"{waiting[0].app} {waiting[0].number}): "
                                   "run `sbcore init`")
        self.init(report=report or log.info)

    # --- schema and secrets ---

    def init(self, report=print):
        """Create or upgrade the schema, the bot user and the secret key (idempotent)."""
        from .migrations import apply_migrations
        from .functions.users import ensure_bot
        with dbmod.connection():
            apply_migrations(self.pm, self.database, report=report)
            missing = [m._meta.table_name for m in self.models
                       if not self.database.table_exists(m._meta.table_name)]
            if missing:
                raise StartupError("tables without a migration that creates them: "
                                   + ", ".join(missing))
            self.storage.prepare()
            with self.database.atomic():
                if SettingRow.get_or_none(SettingRow.name == SECRET_KEY_SETTING) is None:
                    SettingRow.create(name=SECRET_KEY_SETTING,
                                      value=json.dumps(secrets.token_urlsafe(48)))
                    report("generated the secret key")
                if SettingRow.get_or_none(SettingRow.name == SETTINGS_STAMP) is None:
                    self.settings.bump()
                ensure_bot(self.context())
        self.ready = True

    @property
    def secret_key(self):
        if self._secret_key is None:
            with dbmod.connection():
                row = SettingRow.get_or_none(SettingRow.name == SECRET_KEY_SETTING)
            if row is None:
                raise StartupError("no secret key: run `sbcore init` or set SB_SECRET_KEY")
            self._secret_key = json.loads(row.value)
        return self._secret_key

    @property
    def storage(self):
        """The file store the configuration names (sbcore.storage)."""
        if self._storage is None or self._storage[0] is not self.config:
            from .storage import open_storage
            self._storage = (self.config, open_storage(self.config))
        return self._storage[1]

    def context(self, caller_id=None, settings_stamp=None):
        return Context(self, caller_id, settings_stamp)

    # --- calling functions ---

    def function(self, name):
        function = self.functions.get(name)
        if function is None:
            from .plugin_index import providing_distribution
            distribution = providing_distribution(name) if isinstance(name, str) else None
            if distribution:
                raise ApiError("function-not-found", f"The function '{name}' comes with the plugin "
                               f"{distribution}, which is not installed: pip install {distribution}",
                               404)
            raise ApiError("function-not-found", f"There is no function named '{name}'.", 404)
        return function

    def call_fields(self, name, fields, caller_id=None, settings_stamp=None):
        """Run function ``name`` with raw request ``fields`` in one transaction."""
        return self.run_function(self.function(name), fields, caller_id,
                                 settings_stamp=settings_stamp)

    def run_function(self, function, fields, caller_id=None, setup=None, settings_stamp=None):
        """Run an :class:`ApiFunction` with raw request ``fields``; ``setup(ctx)`` runs
        first, inside the same transaction (the visitor API authenticates there)."""
        def call(ctx):
            if setup is not None:
                setup(ctx)
            return function.fn(ctx, **function.bind(fields))
        return self.run(call, caller_id, transaction=function.needs_transaction,
                        settings_stamp=settings_stamp)

    def run(self, fn, caller_id=None, transaction=True, settings_stamp=None):
        """Run ``fn(ctx)`` as a call runs a function: in one transaction (run again when
        the database gives up on it), the ``defer``red work at its end, the
        ``after_commit`` work after the commit. Also for work that is not a Web API
        function, such as an inbound webhook of a channel. ``settings_stamp``: the
        settings stamp as the caller read it, on this connection, just before."""
        ctx = None

        def attempt():
            nonlocal ctx
            ctx = self.context(caller_id, settings_stamp)
            ctx._deferred = []
            value = fn(ctx)
            ctx.run_deferred()
            return value

        with dbmod.connection():
            # a call with a transaction writes (reads are declared read=True and have none):
            # on SQLite it queues for the write lock at BEGIN
            result = dbmod.in_transaction_retrying(self.database, attempt, immediate=True) \
                if transaction else attempt()
            if ctx.events_emitted:
                self.outbox_signal.set()
            if ctx.stream_events:
                self.realtime.publish(ctx.stream_events)
            ctx.run_after_commit()
        return result

    def call(self, function, /, **arguments):
        """The in-process client: ``core.call("get-user", user_id=1)`` (positional-only,
        so that a function's own ``name`` or ``function`` argument passes through)."""
        return self.call_fields(function, arguments)

    def admin_for_token(self, token):
        """The id of the admin whose token is ``token`` (compared in constant time)."""
        return self.admin_and_stamp(token)[0]

    def admin_and_stamp(self, token):
        """``(admin id or None, settings stamp)`` in one query: a call made on the same
        connection right after takes the stamp (``settings_stamp``) instead of reading
        it again."""
        from .functions.auth import admin_and_stamp
        with dbmod.connection():
            return admin_and_stamp(token)

    def close(self):
        self.realtime.close()
        if not self.database.is_closed():
            self.database.close()
        self.database.close_all()


def connect(database_url=None, load_entrypoints=True, **config):
    """An in-process sbcore: ``sbcore.connect(url).call("get-user", user_id=1)``.

    Applies pending migrations so that a new database is ready to use."""
    if database_url:
        config["database_url"] = database_url
    core = Core(Config.from_env(env_file=None).replace(**config), load_entrypoints=load_entrypoints)
    core.init(report=log.info)
    return core
