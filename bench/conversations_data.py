"""Fill an sbcore database with C conversations and M messages, in bulk, after the users.

Everything is planned in memory first: the conversations in creation order, the
messages in global time order (so that message ids grow with time, as in a live
database, and a conversation's messages are interleaved with others'). Conversations
and messages go in with ``insert_many``, 1,000 rows per statement, one transaction per
batch; then each conversation's ``last_message_id`` and ``last_update_time`` are set
by one UPDATE per 10,000 conversations; then the full-text rows are written; then the
tables are analyzed. Used by ``python -m bench.generate`` and ``python -m bench.run``."""

import random
import sys
import time
from datetime import datetime, timedelta, timezone

from tqdm import tqdm

from .generate import BATCH, DAYS, analyze
from .texts import VOCABULARY, message_text

LINK_BATCH = 10_000
TAGS = ["billing", "vip", "bug", "refund", "shipping", "urgent", "feature", "sales"]
SOURCES = [(None, 85), ("tk", 6), ("wa", 5), ("em", 4)]
ATTACHMENT = '[["invoice.pdf", "https://example.com/f/invoice.pdf"]]'


def plan(rng, conversations, messages, now):
    """``(creation times, message counts, messages)``: conversations sorted by creation
    (epoch seconds), and every message as (time, conversation index, position in its
    conversation), sorted by time. Each conversation gets at least one message when
    there are enough; the rest are spread with exponential weights (mean M/C)."""
    base = 1 if messages >= conversations else 0
    weights = [rng.expovariate(1) for _ in range(conversations)]
    scale = (messages - base * conversations) / (sum(weights) or 1)
    counts = [base + int(w * scale) for w in weights]
    for index in rng.sample(range(conversations), messages - sum(counts)):
        counts[index] += 1
    end = int(epoch(now))
    starts, timeline = [], []
    for index, count in enumerate(counts):
        gaps = [5 + int(rng.expovariate(1 / 900)) for _ in range(count)]
        start = min(end - rng.randrange(DAYS * 86400), end - sum(gaps) - 1)
        starts.append(start)
        for position, gap in enumerate(gaps):
            start += gap
            timeline.append((start, index, position))
    order = sorted(range(conversations), key=starts.__getitem__)
    rank = [0] * conversations
    for new, old in enumerate(order):
        rank[old] = new
    starts = [starts[i] for i in order]
    counts = [counts[i] for i in order]
    timeline = [(moment, rank[index], position) for moment, index, position in timeline]
    timeline.sort()
    return starts, counts, timeline


def conversation_row(rng, created, count, user_id, agent_id):
    """One conversation; an inbox status follows its last sender (the user writes the
    even positions): 2 (waiting for an agent) after the user, 1 after an agent."""
    roll = rng.random()
    status = 3 if roll < 0.20 else 4 if roll < 0.25 else 0 if roll < 0.27 else 2 if count % 2 else 1
    title = "" if rng.random() < 0.5 else " ".join(
        rng.choices(VOCABULARY[20:], k=rng.randint(2, 5))).capitalize()
    tags = None if rng.random() < 0.75 else ",".join(rng.sample(TAGS, rng.randint(1, 2)))
    source = rng.choices([s for s, _ in SOURCES], weights=[w for _, w in SOURCES])[0]
    return (user_id, title, created, status, 0 if status in (0, 1, 2) else status,
            rng.randint(1, 5) if rng.random() < 0.6 else None, agent_id, source, tags,
            created)


def epoch(moment):
    """Seconds since 1970 of a naive UTC datetime (``utcfromtimestamp`` goes back)."""
    return moment.replace(tzinfo=timezone.utc).timestamp()


def new_ids(model, after, count):
    """The ids of the ``count`` rows just inserted, in insertion order: the only writer,
    the bench, appends them above ``after`` in the order of the rows."""
    rows = model.select(model.id).where(model.id > after).order_by(model.id).limit(count).tuples()
    return [row[0] for row in rows]


def max_id(model):
    from peewee import fn
    return model.select(fn.MAX(model.id)).scalar() or 0


def insert_conversations(core, rng, starts, counts, progress=True):
    """Insert the planned conversations; return (ids, user ids, agent per conversation)."""
    from sbcore import db as dbmod
    from sbcore.models import Conversation as Co, User
    from sbcore.models.users import AGENT_TYPES

    with dbmod.connection():
        customers = [r[0] for r in User.select(User.id).where(
            User.user_type.not_in(AGENT_TYPES + ("bot",))).tuples()]
        agents = [r[0] for r in User.select(User.id).where(User.user_type.in_(AGENT_TYPES)).tuples()]
        last = max_id(Co)
    fields = [Co.user, Co.title, Co.creation_time, Co.status_code, Co.box, Co.department,
              Co.agent_id, Co.source, Co.tags, Co.last_update_time]
    ids, users, speakers = [], [], []
    with tqdm(total=len(starts), unit="conv", desc="conversations", file=sys.stderr,
              disable=not progress) as bar:
        for start in range(0, len(starts), BATCH):
            rows = []
            for created, count in zip(starts[start:start + BATCH], counts[start:start + BATCH]):
                user, agent = rng.choice(customers), rng.choice(agents)
                assigned = agent if rng.random() < 0.6 else None
                rows.append(conversation_row(rng, datetime.utcfromtimestamp(created), count,
                                             user, assigned))
                users.append(user)
                speakers.append(agent)
            with dbmod.connection(), core.database.atomic():
                Co.insert_many(rows, fields=fields).execute()
                batch_ids = new_ids(Co, last, len(rows))
            ids.extend(batch_ids)
            last = batch_ids[-1]
            bar.update(len(rows))
    return ids, users, speakers


def insert_messages(core, rng, timeline, ids, users, speakers, now, progress=True):
    """Insert the planned messages in time order; return the id of the first."""
    from sbcore import db as dbmod
    from sbcore.models import Message as Me

    fields = [Me.user, Me.message, Me.creation_time, Me.status_code, Me.attachments,
              Me.payload, Me.conversation]
    recent = epoch(now) - 86400  # messages of the last day are unread (0), older read (2)
    with dbmod.connection():
        first = max_id(Me) + 1
    with tqdm(total=len(timeline), unit="msg", desc="messages", file=sys.stderr,
              disable=not progress) as bar:
        for start in range(0, len(timeline), BATCH):
            rows = [(speakers[index] if position % 2 else users[index], message_text(rng),
                     datetime.utcfromtimestamp(moment), 0 if moment > recent else 2,
                     ATTACHMENT if rng.random() < 0.03 else "", "", ids[index])
                    for moment, index, position in timeline[start:start + BATCH]]
            with dbmod.connection(), core.database.atomic():
                Me.insert_many(rows, fields=fields).execute()
            bar.update(len(rows))
    return first


LAST_MESSAGE = {
    "select": "SELECT conversation_id, MAX(id) AS id FROM sb_messages "
              "WHERE conversation_id BETWEEN {p} AND {p} GROUP BY conversation_id",
    "sqlite": "UPDATE sb_conversations SET last_message_id = m.id, last_update_time = m.creation_time "
              "FROM ({select}) AS last JOIN sb_messages AS m ON m.id = last.id "
              "WHERE sb_conversations.id = last.conversation_id",
    "mysql": "UPDATE sb_conversations AS c JOIN ({select}) AS last ON c.id = last.conversation_id "
             "JOIN sb_messages AS m ON m.id = last.id "
             "SET c.last_message_id = m.id, c.last_update_time = m.creation_time",
}
LAST_MESSAGE["postgres"] = LAST_MESSAGE["sqlite"]


def link_last_messages(core, ids, progress=True):
    """Set each conversation's last message and time: one UPDATE … FROM (a grouped
    sub-query over the (conversation_id, id) index) per 10,000 conversations."""
    from sbcore import db as dbmod

    kind = dbmod.kind(core.database)
    param = "?" if kind == "sqlite" else "%s"
    sql = LAST_MESSAGE[kind].format(select=LAST_MESSAGE["select"].format(p=param))
    with tqdm(total=len(ids), unit="conv", desc="last message", file=sys.stderr,
              disable=not progress) as bar:
        for start in range(0, len(ids), LINK_BATCH):
            chunk = ids[start:start + LINK_BATCH]
            with dbmod.connection(), core.database.atomic():
                core.database.execute_sql(sql, (chunk[0], chunk[-1]))
            bar.update(len(chunk))


def index_rows(core, index, model, columns, after, total, make, progress=True):
    """Read ``model``'s rows above id ``after`` in id order, 1,000 at a time, and write
    their search rows, ``make(*columns)`` each, with the backend's ``upsert_many``
    (1,000 rows to a statement, in whatever tables the backend keeps them)."""
    from sbcore import db as dbmod
    from sbcore.search import search_backend

    with tqdm(total=total, unit="rows", desc=f"search {index}", file=sys.stderr,
              disable=not progress) as bar:
        while True:
            with dbmod.connection(), core.database.atomic():
                rows = list(model.select(model.id, *columns).where(model.id > after)
                            .order_by(model.id).limit(BATCH).tuples())
                search_backend().upsert_many(index, [(row[0], make(*row[1:])) for row in rows])
            if not rows:
                return
            after = rows[-1][0]
            bar.update(len(rows))


def populate(core, conversations, messages, seed=1, progress=True):
    """Plan, insert, link, index and analyze; return timings in seconds."""
    from sbcore import db as dbmod
    from sbcore.conversations import attachment_list
    from sbcore.models import Conversation as Co, Message as Me
    from sbcore.search import normalise

    rng = random.Random(seed + 7)
    now = dbmod.utcnow() - timedelta(minutes=1)
    timings, clock = {}, [time.perf_counter()]

    def lap(name):
        clock.append(time.perf_counter())
        timings[name] = clock[-1] - clock[-2]

    starts, counts, timeline = plan(rng, conversations, messages, now)
    lap("plan")
    ids, users, speakers = insert_conversations(core, rng, starts, counts, progress)
    lap("conversations")
    first = insert_messages(core, rng, timeline, ids, users, speakers, now, progress)
    lap("messages")
    link_last_messages(core, ids, progress)
    lap("last message")
    from sbcore.conversations import rebuild_conversation_agents
    with dbmod.connection(), core.database.atomic():
        rebuild_conversation_agents()  # the agents' replies, as send-message keeps them
    lap("agents")
    index_rows(core, "conversations", Co, [Co.title, Co.tags], ids[0] - 1, len(ids),
               lambda title, tags: normalise(title, (tags or "").replace(",", " ")), progress)
    index_rows(core, "messages", Me, [Me.message, Me.attachments], first - 1, len(timeline),
               lambda text, stored: normalise(text, " ".join(
                   item[0] for item in attachment_list(stored) if item)), progress)
    lap("search")
    analyze(core, ["sb_conversations", "sb_messages", "sb_search_conversations",
                   "sb_search_messages", "sb_conversation_agents"])
    lap("analyze")
    return timings
