"""Scheduled jobs and the worker that runs them.

``sbcore worker`` (or, with ``SB_WORKER=inline``, a thread in each server process)
runs every registered job on its interval. A job is claimed with a lease in
``sb_jobs`` so that several workers never run it at the same time."""

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from . import db as dbmod
from .db import utcnow
from .hooks import hookimpl
from .models import JobRun, LoginSession
from .models.events import PENDING
from .registry import collect_list

log = logging.getLogger("sbcore.worker")
OWNER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    name: str
    interval: float  # seconds
    run: Callable  # run(ctx)
    lease: float = 300.0
    # False for jobs that talk to the network (email piping): run holds no transaction
    # open and writes in short transactions of its own.
    transaction: bool = True


def purge_expired(ctx):
    LoginSession.delete().where(LoginSession.expires <= utcnow()).execute()
    ctx.presence.purge()


@hookimpl
def sbcore_register_jobs():
    return [Job("purge-expired", 600, purge_expired)]


def claim_due(model, now, owner, limit, lease):
    """Lease up to ``limit`` due pending rows of an outbox ``model`` (a
    ``models.events.LeasedRow``) to ``owner`` for ``lease`` seconds; another worker skips
    them. Answers the rows, oldest first."""
    due = [row[0] for row in model.select(model.id).where(
        (model.status == PENDING) & (model.next_attempt <= now) & (model.lease_until < now))
        .order_by(model.id).limit(limit).tuples()]
    claimed = [row_id for row_id in due if model.update(lease_until=now + lease, lease_owner=owner)
               .where((model.id == row_id) & (model.status == PENDING) & (model.lease_until < now))
               .execute()]
    return list(model.select().where(model.id.in_(claimed)).order_by(model.id)) if claimed else []


def new_owner():
    """A lease owner unique to one run: two runs in one process (the inline worker's
    thread and a forced run in a request) are two owners."""
    return f"{OWNER[:48]}:{secrets.token_hex(6)}"  # fits lease_owner's 64 characters


def claim(job, now, owner=None, force=False):
    """Take the job's lease if it is due (or ``force``) and free; answers the owner
    that holds it now (pass it to ``release``), or None. ``force`` skips the interval,
    never another run's lease.

    One UPDATE decides, with "due" and "free" both in its WHERE: a worker that read the
    row just before another finished the job (lease released, last_run set) must not run
    it again (two hosts ran an hourly job twice)."""
    owner = owner or new_owner()
    row = JobRun.get_or_none(JobRun.name == job.name)
    if row is None:
        try:
            with dbmod.database.atomic():
                JobRun.create(name=job.name, last_run=None, lease_until=0, lease_owner="")
        except dbmod.peewee.IntegrityError:
            pass
        row = JobRun.get(JobRun.name == job.name)
    if not force and row.last_run is not None and (utcnow() - row.last_run).total_seconds() < job.interval:
        return None
    condition = (JobRun.name == job.name) & (JobRun.lease_until < now)
    if not force:
        condition &= JobRun.last_run.is_null() | (
            JobRun.last_run <= utcnow() - timedelta(seconds=job.interval))
    taken = JobRun.update(lease_until=now + job.lease, lease_owner=owner).where(condition).execute()
    return owner if taken == 1 else None


def release(job, owner):
    """End a run: record it and free the lease, only if ``owner`` still holds it (a
    run that outlived its lease must not free the next run's)."""
    JobRun.update(last_run=utcnow(), lease_until=0, lease_owner="").where(
        (JobRun.name == job.name) & (JobRun.lease_owner == owner)).execute()


def run_due_jobs(core, force=False):
    """Run each due job once; return the names run."""
    ran = []
    for job in collect_list(core.pm, "sbcore_register_jobs", key=lambda j: j.name):
        with dbmod.connection():
            owner = claim(job, time.time(), force=force)
            if owner is None:
                continue
            try:
                if job.transaction:
                    dbmod.in_transaction_retrying(core.database, lambda: job.run(core.context()))
                else:
                    job.run(core.context())
                ran.append(job.name)
            except Exception:  # one failing job never stops the others
                log.exception("job %s failed", job.name)
            finally:
                release(job, owner)
    return ran


def run_forever(core, stop=None, tick=1.0):
    """Deliver the outbox and run due jobs until ``stop``; a commit that wrote events
    wakes the loop at once (``core.outbox_signal``)."""
    from .notifications import deliver_pending as deliver_notifications
    from .webhooks import deliver_pending
    stop = stop or threading.Event()
    next_jobs = 0.0
    while not stop.is_set():
        core.outbox_signal.clear()
        try:
            while deliver_pending(core) != (0, 0) and not stop.is_set():
                pass
            while deliver_notifications(core) != (0, 0) and not stop.is_set():
                pass
            if time.time() >= next_jobs:
                run_due_jobs(core)
                next_jobs = time.time() + tick
        except Exception:
            log.exception("worker tick failed")
        core.outbox_signal.wait(tick)


def start_inline(core, tick=1.0):
    """The inline worker thread of a server process (``SB_WORKER=inline``); between
    ticks it sleeps until a commit that wrote events wakes it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(core, stop, tick),
                              name="sbcore-worker", daemon=True)
    thread.start()
    stop.thread = thread  # set() then thread.join() to stop it cleanly
    return stop
