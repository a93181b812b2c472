"""The command line: init, create-admin, serve, worker, export-users, and the
commands plugins add through ``sbcore_register_commands``."""

import argparse
import logging
import os
import secrets
import sys

from . import db as dbmod


def load_core():
    from .core import Core
    return Core()


def cmd_init(core, args):
    core.init()
    if args.create_admin:
        from .models import User
        with dbmod.connection():
            exists = User.select().where(User.user_type == "admin").exists()
        if exists:
            print("an admin exists already: `sbcore token` prints its token "
                  "(`sbcore create-admin` makes another)")
        else:
            password = secrets.token_urlsafe(12)
            user = create_admin(core, "admin@example.com", password, "Admin", "", None)
            print(f"admin created: email admin@example.com password {password}")
            print(f"admin token (shown once): {user.token}")
    return 0


def create_admin(core, email, password, first_name, last_name, token):
    from . import users as U
    from .models import User
    with dbmod.connection(), core.database.atomic():
        user = U.create_user(core.context(), first_name=first_name, last_name=last_name,
                             email=email, password=password, user_type="admin")
        if token:
            if len(token) < 20:
                raise SystemExit("--token must be at least 20 characters")
            User.update(token=token).where(User.id == user.id).execute()
            user = User.get_by_id(user.id)
    return user


def cmd_create_admin(core, args):
    from .errors import ApiError
    core.ensure_ready(report=print)  # a new database: the schema first
    try:
        user = create_admin(core, args.email, args.password, args.first_name, args.last_name,
                            args.token)
    except ApiError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        return 1
    print(f"admin {user.id} created: {user.email}")
    print(user.token)
    return 0


def cmd_token(core, args):
    """Print an admin's token alone on the last line (the first admin, or ``--email``)."""
    from .models import User
    with dbmod.connection():
        query = User.select().where(User.user_type == "admin")
        if args.email:
            query = query.where(User.email == args.email)
        user = query.order_by(User.id).first()
    if user is None:
        print("error: no such admin (`sbcore create-admin` makes one)", file=sys.stderr)
        return 1
    print(f"admin {user.id}: {user.email}")
    print(user.token)
    return 0


def cmd_new_plugin(core, args):
    """Write a plugin skeleton (no database needed)."""
    import os

    from . import scaffold
    directory = args.directory or (os.path.join("plugins", args.name) if os.path.isdir("plugins")
                                   else f"sbcore-{args.name}")
    try:
        written = scaffold.write(args.name, directory)
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(written))
    print(f"next: pip install -e {directory} && (cd {directory} && python -m pytest)")
    return 0


def cmd_serve(core, args):
    from gunicorn.app.base import BaseApplication

    from .serving import options
    from .web import create_app

    config = core.config.serving(args.host, args.port)
    core.init(report=print)  # in the master, once: the workers find the schema ready
    if args.events:
        return serve_events(core, args)

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("accesslog", "-")
            for name, value in options().items():
                self.cfg.set(name, value)

        def load(self):
            return create_app(config)

    core.close()
    Server().run()
    return 0


def serve_events(core, args):
    """``sbcore serve --events``: the event streams (``/widget/events``,
    ``/admin/events``) on gevent workers, each holding thousands of idle streams; the
    reverse proxy sends those paths here and the rest to ``sbcore serve``.

    gunicorn runs in a fresh process that imports nothing of sbcore before its gevent
    workers have patched the standard library (peewee's per-connection state must be
    per greenlet); see ``sbcore.web.get_events_app``."""
    try:
        import gevent  # noqa: F401
    except ImportError:
        print("sbcore serve --events needs gevent: pip install 'sbcore[events]'", file=sys.stderr)
        return 1
    core.close()
    command = [sys.executable, "-m", "gunicorn", "--worker-class", "gevent",
               "--worker-connections", str(args.connections), "--workers", str(args.workers),
               "--bind", f"{args.host}:{args.port}", "--keep-alive", "75",
               "--graceful-timeout", "5", "sbcore.web:get_events_app()"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


def cmd_worker(core, args):
    from .worker import run_due_jobs, run_forever
    core.ensure_ready(report=print)
    if args.once:
        print("ran: " + (", ".join(run_due_jobs(core)) or "nothing due"))
        return 0
    print("sbcore worker running; Ctrl-C stops it")
    try:
        run_forever(core)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_export_users(core, args):
    import os

    from tqdm import tqdm

    from .functions.files import count_for_export, export_users
    with dbmod.connection():
        total = count_for_export()
        with tqdm(total=total, unit="users", file=sys.stderr) as bar:
            written = export_users(core.context(), args.output, progress=bar.update)
    print(f"{written} users written to {os.path.abspath(args.output)}")
    return 0


def cmd_storage_migrate(core, args):
    from .storage.migrate import command
    return command(core, args)
def configure_import_support_board(parser):
    from .importers.command import configure_parser
    configure_parser(parser)


def cmd_import_support_board(core, args):
    from .importers.command import run_command
    return run_command(core, args)


CORE_COMMANDS = [
    ("init", "create or upgrade the schema, the bot user and the secret key",
     lambda p: p.add_argument("--create-admin", action="store_true",
                              help="also create an admin when there is none, printing its token"),
     cmd_init),
    ("create-admin", "create an admin and print its token on the last line", lambda p: (
        p.add_argument("--email", required=True), p.add_argument("--password", required=True),
        p.add_argument("--first-name", default="Admin"), p.add_argument("--last-name", default=""),
        p.add_argument("--token", default=None)), cmd_create_admin),
    ("token", "print an admin's token (the first admin's, or --email's) on the last line",
     lambda p: p.add_argument("--email", default=None), cmd_token),
    ("serve", "serve the API with gunicorn (applies pending migrations first; --events: the "
     "event streams, on gevent)", lambda p: (
        p.add_argument("--host", default="127.0.0.1"), p.add_argument("--port", type=int, default=8000),
        p.add_argument("--workers", type=int, default=2),
        p.add_argument("--events", action="store_true", help="serve /widget/events and "
                       "/admin/events on gevent workers made for many idle connections"),
        p.add_argument("--connections", type=int, default=10000,
                       help="with --events: open streams per worker, at most")), cmd_serve),
    ("new-plugin", "write the skeleton of a plugin (setup.cfg, plugin module, a passing test)",
     lambda p: (p.add_argument("name"), p.add_argument("--directory", default=None)), cmd_new_plugin),
    ("worker", "run scheduled jobs and drain the outbox", lambda p: p.add_argument(
        "--once", action="store_true", help="run the due jobs once and exit"), cmd_worker),
    ("export-users", "write every user to a CSV file, with a progress bar", lambda p: p.add_argument(
        "--output", default="users.csv"), cmd_export_users),
    ("storage-migrate", "copy the uploads folder into the shared storage (the database, or the "
     "bucket of SB_STORAGE_URL), with a progress bar", lambda p: p.add_argument(
         "--source", default=None, help="the folder to copy (default SB_UPLOADS_DIR)"),
     cmd_storage_migrate),
    ("import-support-board", "import a Support Board install's database and files",
     configure_import_support_board, cmd_import_support_board),
]


NO_CORE = {"new-plugin"}  # commands that need no database


def build_parser(commands):
    parser = argparse.ArgumentParser(prog="sbcore", description="sbcore command line")
    sub = parser.add_subparsers(dest="command", required=True)
    handlers = {}
    for name, help_text, configure, run in commands:
        configure(sub.add_parser(name, help=help_text))
        handlers[name] = run
    return parser, handlers


def main(argv=None):
    logging.basicConfig(level=logging.WARNING)
    from .plugins import get_plugin_manager
    from .registry import collect_list
    pm = get_plugin_manager()
    commands = CORE_COMMANDS + collect_list(pm, "sbcore_register_commands", key=lambda c: c[0])
    parser, handlers = build_parser(commands)
    args = parser.parse_args(argv)
    if args.command in NO_CORE:
        return handlers[args.command](None, args) or 0
    from .config import Config
    from .core import Core
    from .errors import StartupError
    core = Core(Config.from_env(), pm=pm)
    try:
        return handlers[args.command](core, args) or 0
    except StartupError as error:  # one line, naming what to do, never a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if args.command != "serve":
            core.close()


if __name__ == "__main__":
    sys.exit(main())
