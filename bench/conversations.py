"""The conversations and messages calls of the load driver, with random arguments over
the generated data (read back from the database by ``load``). The timing itself is
``users.measure``: the same threads, sessions, warm-up and table."""

import random
from dataclasses import dataclass, field

from . import texts
from .users import CALLS as USER_CALLS

SAMPLE = 1000  # conversations whose message ids are known, for get-new-messages
VISITORS = 200  # owners of sampled conversations that poll through the widget API
# the reports a dashboard opens, each over the last year
REPORT_NAMES = ("conversations", "missed-conversations", "conversations-time",
                "agents-response-time", "agents-conversations", "visitors")


@dataclass
class Target:
    base_url: str
    token: str
    conversations: list  # (id, user id) of every conversation
    writable: list  # (id, user id) of inbox conversations outside ``recent``
    recent: dict  # conversation id -> its message ids, in order
    last_conversation: int  # the highest conversation id
    cookies: dict = field(default_factory=dict)  # conversation id -> its owner's login cookie
    common: list = field(default_factory=lambda: list(texts.COMMON_WORDS))
    rare: list = field(default_factory=lambda: list(texts.RARE_WORDS))

    def __post_init__(self):
        self.recent_ids = sorted(self.recent)
        self.polled_ids = sorted(self.cookies)


def load(core, token, seed=1):
    """What the calls need, from the database as generated (before any call)."""
    from sbcore import db as dbmod
    from sbcore.models import Conversation, Message

    rng = random.Random(seed)
    with dbmod.connection():
        rows = list(Conversation.select(Conversation.id, Conversation.user, Conversation.box)
                    .order_by(Conversation.id).tuples())
        sample = [row[0] for row in rng.sample(rows, min(SAMPLE, len(rows)))]
        recent = {}
        for start in range(0, len(sample), 500):
            for conversation, message in (Message.select(Message.conversation, Message.id)
                                          .where(Message.conversation.in_(sample[start:start + 500]))
                                          .order_by(Message.conversation, Message.id).tuples()):
                recent.setdefault(conversation, []).append(message)
    # send-message writes to conversations outside the sample, so that get-new-messages
    # keeps answering 1-5 messages however the calls are ordered.
    writable = [(c, u) for c, u, box in rows if box == 0 and c not in recent]
    return Target("", token, [(c, u) for c, u, _ in rows], writable or [rows[0][:2]], recent,
                  rows[-1][0] if rows else 0,
                  log_in_owners(core, [(c, u) for c, u, _ in rows if c in recent][:VISITORS]))


def log_in_owners(core, conversations):
    """A login cookie for the owner of each conversation, as the widget holds one."""
    from sbcore import db as dbmod
    from sbcore.functions.auth import issue_cookie
    from sbcore.models import User

    ctx = core.context()
    with dbmod.connection(), core.database.atomic():
        users = {u.id: u for u in User.select().where(User.id.in_([u for _, u in conversations] or [0]))}
        return {c: issue_cookie(ctx, users[u]) for c, u in conversations if u in users}


def call(function, make_fields):
    """A request maker whose arguments depend on each other (``make_fields`` → dict)."""
    def make(target, rng):
        return "POST", "/api", {"token": target.token, "function": function,
                                **make_fields(target, rng)}
    return make


def new_messages(target, rng):
    """A sampled conversation and the id of its k-th message from the end (or 0), so that
    the answer is its last k messages, 1 <= k <= 5."""
    conversation = rng.choice(target.recent_ids)
    ids = target.recent[conversation]
    back = rng.randint(1, 5)
    return {"conversation_id": conversation, "datetime": ids[-back - 1] if len(ids) > back else 0}


def widget_poll(target, rng):
    """The widget's poll: a visitor's own conversation, after its last message (the
    answer is usually empty, as most polls are)."""
    conversation = rng.choice(target.polled_ids)
    return "POST", "/widget/api", {"function": "get-new-messages",
                                   "login-cookie": target.cookies[conversation],
                                   "conversation_id": conversation,
                                   "datetime": target.recent[conversation][-1]}


def report(target, rng):
    from datetime import date, timedelta
    today = date.today()
    return {"name": rng.choice(REPORT_NAMES), "date_start": (today - timedelta(days=365)).isoformat(),
            "date_end": today.isoformat(), "timezone": "Europe/London"}


def send(target, rng):
    conversation, user = rng.choice(target.writable)
    return {"user_id": user, "conversation_id": conversation,
            "message": texts.sentence(rng, 3, 10)}


def rows(minimum=1, maximum=None):
    def check(body):
        response = body.get("response")
        return isinstance(response, list) and minimum <= len(response) <= (maximum or len(response))
    return check


# (label, request maker, check of the JSON answer); send-message runs last.
CALLS = [
    USER_CALLS[0],  # GET /health, the baseline of this table too
    ("get-conversation", call("get-conversation", lambda t, rng: {
        "conversation_id": rng.choice(t.conversations)[0]}),
     lambda body: len((body.get("response") or {}).get("messages") or []) > 0),
    ("get-conversations page 0", call("get-conversations", lambda t, rng: {"pagination": 0}),
     rows(1)),
    ("get-conversations status 3", call("get-conversations", lambda t, rng: {
        "pagination": 0, "status_code": 3}), rows(1)),
    ("get-new-messages", call("get-new-messages", new_messages), rows(1, 5)),
    ("get-user-conversations", call("get-user-conversations", lambda t, rng: {
        "user_id": rng.choice(t.conversations)[1]}), rows(1)),
    ("get-new-conversations", call("get-new-conversations", lambda t, rng: {
        "datetime": max(0, t.last_conversation - rng.randint(1, 50))}), rows(1, 50)),
    ("search-conversations common", call("search-conversations", lambda t, rng: {
        "search": rng.choice(t.common)}), rows(1)),
    ("search-conversations rare", call("search-conversations", lambda t, rng: {
        "search": rng.choice(t.rare)}), rows(0)),
    ("widget poll (get-new-messages)", widget_poll, rows(0, 0)),
    ("reports (one year)", call("reports", report),
     lambda body: isinstance(body.get("response"), (dict, list))),
    ("send-message", call("send-message", send),
     lambda body: bool((body.get("response") or {}).get("message-id"))),
]
