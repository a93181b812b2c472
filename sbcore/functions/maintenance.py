"""Maintenance: clean-data, cron-jobs and reports-update."""

import json
import sys
import time
from datetime import timedelta

from peewee import JOIN

from .. import conversations as C
from .. import db as dbmod
from .. import uploads
from .. import users as U
from ..db import utcnow
from ..errors import invalid_argument
from ..hooks import hookimpl
from ..models import Conversation, File, FileUse, Message, ReportRow, User
from ..models.users import AGENT_TYPES
from ..registry import FunctionSet, Json
from ..worker import Job, run_due_jobs

functions = FunctionSet()
sbcore_register_functions = functions.hook()
BATCH = 100  # rows a transaction: an API call waits for at most one batch (bench/clean.py)
VISITOR_AGE = timedelta(hours=24)
TRASH_AGE = timedelta(days=30)
ARCHIVE_AGE = timedelta(hours=24)
UPLOAD_AGE = timedelta(hours=24)  # a visitor's upload no message uses is deleted after this
REPORT_NAMES = (
    "conversations", "missed-conversations", "conversations-time", "visitors", "leads", "users",
    "agents-response-time", "agents-conversations", "agents-conversations-time", "agents-ratings",
    "countries", "languages", "browsers", "os", "subscribe", "follow-up", "registrations",
    "articles-searches", "articles-ratings", "articles-views-single", "articles-views",
    "sms-automations", "email-automations", "message-automations", "direct-sms", "direct-emails",
    "direct-messages")


@hookimpl
def sbcore_register_commands():
    return [("clean-data", "run clean-data now, showing its progress", lambda parser: None,
             clean_command)]


def clean_command(core, args):
    from tqdm import tqdm
    slowest = [0.0]

    with tqdm(unit="rows", file=sys.stderr, desc="clean-data") as bar:
        def progress(count, seconds):
            slowest[0] = max(slowest[0], seconds)
            bar.update(count)
        with dbmod.connection():
            result = clean(core.context(), on_batch=progress)
    print(f"deleted {result['visitors']} visitors and {result['trash']} trashed conversations, "
          f"archived {result['archived']} conversations, deleted {result['files']} unattached "
          f"visitor uploads; longest batch {slowest[0] * 1000:.0f} ms")
    return 0


@hookimpl
def sbcore_register_jobs():
    return [Job("clean-data", 24 * 3600, lambda ctx: clean(ctx), transaction=False),
            Job("expire-files", 600, lambda ctx: expire_files(ctx), transaction=False)]


def expire_files(ctx, on_batch=None):
    """Exports past their hour are deleted (rows, then the stored files)."""
    now = utcnow()
    return in_batches(ctx, lambda: File.select(File.id).where(File.expires <= now).order_by(File.id),
                      lambda ids: uploads.drop_files(ctx, ids), on_batch)


def in_batches(ctx, select_ids, act, on_batch=None):
    """Take ``BATCH`` ids at a time and act on them, each batch in its own short
    transaction, so that API calls wait at most one batch. ``on_batch(count, seconds)``
    follows each batch. Returns the count."""
    total = 0
    while True:
        def batch():
            ids = [row[0] for row in select_ids().limit(BATCH).tuples()]
            if ids:
                act(ids)
            return len(ids)
        started = time.perf_counter()
        done = dbmod.in_transaction_retrying(ctx.core.database, batch)
        ctx.run_after_commit()  # files of deleted rows go once their batch has committed
        total += done
        if on_batch and done:
            on_batch(done, time.perf_counter() - started)
        if done < BATCH:
            return total


def clean(ctx, on_batch=None):
    """Visitors inactive for 24 hours who never opened a conversation are deleted;
    conversations in the trash for 30 days are deleted; inbox conversations whose last
    message is an agent's reply older than 24 hours are archived; visitors' uploads
    that no message or profile uses, a day old, are deleted."""
    now = utcnow()
    visitors = in_batches(ctx, lambda: (
        User.select(User.id).join(Conversation, JOIN.LEFT_OUTER, on=(Conversation.user == User.id))
        .where((User.user_type == "visitor") & (User.last_activity < now - VISITOR_AGE)
               & Conversation.id.is_null()).order_by(User.id)),
        lambda ids: U.delete_users(ctx, ids), on_batch)

    trashed = in_batches(ctx, lambda: Conversation.select(Conversation.id).where(
        (Conversation.status_code == 4) & (Conversation.last_update_time < now - TRASH_AGE))
        .order_by(Conversation.id), lambda ids: C.delete_conversations(ctx, ids), on_batch)

    def archive(ids):
        for conversation in Conversation.select().where(Conversation.id.in_(ids)):
            C.update_conversation(ctx, conversation, status_code=3)

    archived = in_batches(ctx, lambda: (
        Conversation.select(Conversation.id)
        .join(Message, on=(Message.id == Conversation.last_message_id))
        .join(User, on=(User.id == Message.user))
        .where((Conversation.box == 0) & (Conversation.last_update_time < now - ARCHIVE_AGE)
               & User.user_type.in_(AGENT_TYPES)).order_by(Conversation.id)), archive, on_batch)
    unattached = in_batches(ctx, lambda: (
        File.select(File.id).join(FileUse, JOIN.LEFT_OUTER, on=(FileUse.file == File.id))
        .where((File.folder == uploads.VISITOR_FOLDER) & (File.created < now - UPLOAD_AGE)
               & FileUse.id.is_null()).order_by(File.id)),
        lambda ids: uploads.drop_files(ctx, ids), on_batch)
    return {"visitors": visitors, "trash": trashed, "archived": archived, "files": unattached}


@functions("clean-data", transaction=False)
def clean_data(ctx):
    clean(ctx)
    return True


@functions("cron-jobs", transaction=False)
def cron_jobs(ctx):
    run_due_jobs(ctx.core)
    return None  # Support Board 3.8 answers null (the reference: true)


@functions("reports-update")
def reports_update(ctx, name: str, value: Json = False, external_id: Json = False,
                   extra: Json = False):
    if name not in REPORT_NAMES:
        raise invalid_argument("name", f"'{name}' is not a report name.")

    def text(item):
        if item is False or item is None:
            return None
        return item if isinstance(item, str) else json.dumps(item)
    ReportRow.create(name=name, value=text(value), external_id=text(external_id), extra=text(extra))
    return True
