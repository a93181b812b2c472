"""``sbcore import-support-board``: a Support Board install's database (and its files)
into sbcore's database, one step per table, each table in batches of one transaction.

Ids are kept when the target is empty (only sbcore's own bot in it) and mapped into a
non-empty one; every imported user, conversation, article and note is recorded in
``sb_import_ids``, so that references resolve and a re-run imports only what is new
(rows past the last source id of each table; settings when they changed in Support Board).
Broken rows are skipped or mended and reported, never fatal."""

import json
import re

from peewee import fn

from .. import db as dbmod
from .. import users as U
from ..models import (Article, Conversation, ConversationAgent, ImportedId, ImportState, Message,
                      ReportRow, User, UserDetail)
from ..models.conversations import STATUS_CODES, box_of
from ..models.users import AGENT_TYPES, USER_TYPES
from ..search import normalise, search_backend
from .bulk import insert_rows, prefetched, set_last_messages
from .convert import Report, as_datetime, as_int, unescape
from .files import FileCopier
from .support_board_settings import SettingsSteps

STATE = "support-board"
BATCH = 2000
SLUG = re.compile(r"[^a-z0-9_-]+")
USER_COLUMNS = ("id", "first_name", "last_name", "password", "email", "profile_image", "user_type",
                "creation_time", "token", "last_activity", "typing", "department")
CONVERSATION_COLUMNS = ("id", "user_id", "title", "creation_time", "status_code", "department",
                        "agent_id", "source", "extra", "extra_2", "extra_3", "tags")
MESSAGE_COLUMNS = ("id", "user_id", "message", "creation_time", "status_code", "attachments",
                   "payload", "conversation_id")


class Importer(SettingsSteps):
    def __init__(self, core, source, files=None, dry_run=False, batch=BATCH, progress=None):
        self.core = core
        self.config = core.config
        self.source = source
        self.dry_run = dry_run
        self.batch = batch
        self.progress = progress  # progress(table, total) -> an object with update(n), close()
        self.report = Report()
        self.copier = FileCopier(self.config, core.storage, files, dry_run=dry_run)
        self.maps = {"users": {}, "conversations": {}}
        self.last_message = {}   # conversation here -> (its last message here, its time)
        self.agent_replies = {}  # (conversation, agent) here -> [first reply, last reply]
        self.database = core.database

    # --- state ---

    def load_state(self):
        # a dry run may meet a database that ``sbcore init`` has not brought up to date
        self.tables_ready = self.database.table_exists(ImportState._meta.table_name)
        row = ImportState.get_or_none(ImportState.name == STATE) if self.tables_ready else None
        if row is not None:
            return json.loads(row.value)
        return {"mode": "keep" if self.target_is_empty() else "map", "last": {}, "hashes": {}}

    def save_state(self):
        if self.dry_run:
            return
        value = json.dumps(self.state)
        if not ImportState.update(value=value).where(ImportState.name == STATE).execute():
            ImportState.create(name=STATE, value=value)

    def target_is_empty(self):
        bots = [u.id for u in User.select(User.id).where(User.user_type == "bot")]
        return (not Conversation.select().exists()
                and not User.select().where(User.id.not_in(bots or [0])).exists())

    def load_maps(self):
        if not self.tables_ready:
            return
        for kind in self.maps:
            self.maps[kind] = {int(s): t for s, t in ImportedId.select(
                ImportedId.source_id, ImportedId.target_id).where(ImportedId.kind == kind).tuples()}

    # --- ids ---

    def allocate(self, model, kind, rows):
        """Target ids for a batch of source rows (in order): the source id when ids are
        kept and it is free here, else the next free id."""
        ids = [row["id"] for row in rows]
        taken = set()
        if self.state["mode"] == "keep" and ids:
            taken = {r[0] for r in model.select(model.id).where(
                (model.id >= min(ids)) & (model.id <= max(ids))).tuples()}
        result = []
        for source_id in ids:
            if self.state["mode"] == "keep" and source_id not in taken:
                result.append(source_id)
            else:
                self.next_ids[kind] += 1
                result.append(self.next_ids[kind])
        return result

    def start_ids(self, model, kind, source_max):
        top = model.select(fn.MAX(model.id)).scalar() or 0
        # allocated ids start past every id the source may still bring, so that a kept id
        # never meets an allocated one
        self.next_ids[kind] = max(top, source_max if self.state["mode"] == "keep" else 0)

    def record_ids(self, kind, pairs, always=True):
        rows = [(kind, str(s), t) for s, t in pairs if always or s != t]
        if rows and not self.dry_run:
            insert_rows(ImportedId, rows, [ImportedId.kind, ImportedId.source_id, ImportedId.target_id])

    def fix_sequence(self, model):
        if dbmod.kind(self.database) == "postgres" and not self.dry_run:
            table = model._meta.table_name
            self.database.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")

    # --- the run ---

    def run(self):
        with dbmod.connection():
            if dbmod.kind(self.database) == "mysql" and not self.dry_run:
                # Every reference is resolved here before a row is written (unknown ids are
                # skipped and reported), so InnoDB's per-row checks only cost time.
                self.database.execute_sql("SET SESSION foreign_key_checks = 0")
            try:
                return self._run()
            finally:
                if dbmod.kind(self.database) == "mysql" and not self.dry_run:
                    self.database.execute_sql("SET SESSION foreign_key_checks = 1")

    def _run(self):
        self.state = self.load_state()
        self.next_ids = {}
        self.load_maps()
        self.limits = {name: self.source.max_id(name) for name in
                       ("users", "conversations", "messages", "reports", "articles")}
        if self.state["mode"] == "keep" and not self.state["last"] and not self.dry_run:
            self.remove_own_bots()
        self.bot_id = None if self.state["mode"] == "keep" else self.own_bot()
        self.import_users()
        self.import_conversations()
        self.import_messages()
        settings = self.source.settings()
        self.import_notes(settings)
        self.import_ratings(settings)
        self.import_settings(settings)
        self.import_automation_history(settings)
        self.import_reports()
        self.import_articles()
        self.finish()
        self.report.not_carried += NOT_CARRIED
        if self.copier.source is None:
            self.report.not_carried.append("files: no --uploads was given; attachments and profile "
                                           "images still point at the old install")
        return self.report

    def pages(self, name, columns=None):
        after = self.state["last"].get(name, 0)
        upto = self.limits[name]
        total = self.source.count_after(name, after, upto)
        self.report.count(name, 0)
        bar = self.progress(name, total) if self.progress else None
        try:
            for rows in prefetched(self.source.pages(name, after, upto, self.batch, columns)):
                yield rows
                if bar is not None:
                    bar.update(len(rows))
        finally:
            if bar is not None:
                bar.close()

    def write(self, fn):
        """One batch: in one transaction (nothing at all on a dry run)."""
        if self.dry_run:
            return
        dbmod.in_transaction_retrying(self.database, fn)

    def remove_own_bots(self):
        """An empty target holds only sbcore's bot: it makes way for the install's users
        (init makes a bot again if the install has none)."""
        bots = [u.id for u in User.select(User.id).where(User.user_type == "bot")]
        if bots:
            with self.database.atomic():
                search_backend().delete(U.SEARCH_INDEX, bots)
                User.delete().where(User.id.in_(bots)).execute()

    def own_bot(self):
        bot = User.select(User.id).where(User.user_type == "bot").order_by(User.id).first()
        return bot.id if bot else None

    # --- users and their details ---

    def import_users(self):
        columns = self.source.columns("users")
        extra_columns = [c for c in columns if c not in USER_COLUMNS]
        self.start_ids(User, "users", self.limits["users"])
        emails = set() if self.state["mode"] == "keep" and not self.state["last"] else None
        tokens = set() if emails is not None else None
        first = not self.state["last"].get("users")
        for rows in self.pages("users"):
            self.users_batch(rows, extra_columns, emails, tokens)
        if first:
            for row in self.source.orphan_user_data():
                self.report.skip("users_data", row["id"], f"detail {row['slug']!r} of unknown user {row['user_id']}")

    def users_batch(self, rows, extra_columns, emails, tokens):
        report = self.report
        if emails is None:  # a non-empty target: which emails and tokens are taken here
            batch_emails = [e for e in (self.clean_email(r["email"]) for r in rows) if e]
            emails = {e for (e,) in User.select(User.email).where(
                User.email.in_(batch_emails or [""])).tuples()}
            tokens = {t for (t,) in User.select(User.token).where(
                User.token.in_([r["token"] or "" for r in rows])).tuples()}
        bot_rows = [r for r in rows if r["user_type"] == "bot" and self.bot_id is not None]
        rows = [r for r in rows if r not in bot_rows]
        for row in bot_rows:  # the install's bot is sbcore's bot
            self.maps["users"][row["id"]] = self.bot_id
            report.change("users", row["id"], f"the bot became sbcore's bot {self.bot_id}")
        targets = self.allocate(User, "users", rows)
        users, pairs, index = [], [], []
        for row, target in zip(rows, targets):
            values = self.user_values(row, target, emails, tokens)
            users.append(values)
            pairs.append((row["id"], target))
            self.maps["users"][row["id"]] = target
        pairs += [(r["id"], self.bot_id) for r in bot_rows]
        details = self.user_details(rows, extra_columns) if rows else {}
        for values in users:
            index.append((values["id"], normalise(values["first_name"], values["last_name"],
                                                  values["email"],
                                                  *(d["value"] for d in details.get(values["id"], [])))))
        detail_rows = [d for items in details.values() for d in items]

        def write():
            insert_rows(User, users)
            insert_rows(UserDetail, detail_rows)
            self.record_ids("users", pairs)
            search_backend().upsert_many("users", index)
            self.state["last"]["users"] = max(r["id"] for r in rows + bot_rows)
            self.save_state()
        self.write(write)
        report.count("users", len(users) + len(bot_rows))
        report.count("users_data", len(detail_rows))

    @staticmethod
    def clean_email(value):
        value = (value or "").strip().lower()
        return value if value and len(value) <= 191 else None

    def user_values(self, row, target, emails, tokens):
        report, sid = self.report, row["id"]
        user_type = row["user_type"]
        email = self.clean_email(row["email"])
        if row["email"] and email is None:
            report.change("users", sid, "email longer than 191 characters: left out")
        if user_type not in USER_TYPES:
            fixed = "user" if email else "visitor"
            report.change("users", sid, f"unknown user type {user_type!r}: made {fixed}")
            user_type = fixed
        if email and email in emails:
            report.change("users", sid, f"email {email} belongs to another user: this one has none "
                          "(kept in its detail 'imported-email')")
            row["_lost_email"], email = email, None
        if email:
            emails.add(email)
        token = row["token"] or ""
        if not re.fullmatch(r"[A-Za-z0-9]{20,64}", token) or token in tokens:
            report.change("users", sid, "token empty, malformed or taken: a new one was made")
            token = U.new_token()
        tokens.add(token)
        password = row["password"] or ""
        if len(password) > 100:
            report.change("users", sid, "password hash longer than 100 characters: left out")
            password = ""
        created = as_datetime(row["creation_time"])
        if created is None:
            report.change("users", sid, f"creation_time {row['creation_time']!r}: set to now")
            created = dbmod.utcnow()
        return {
            "id": target, "first_name": unescape(row["first_name"])[:191],
            "last_name": unescape(row["last_name"])[:191], "password": password, "email": email,
            "profile_image": self.profile_image(row["profile_image"], user_type, sid),
            "user_type": user_type, "creation_time": created,
            "last_activity": as_datetime(row["last_activity"]) or created, "token": token,
            "department": as_int(row["department"]),
        }

    def profile_image(self, url, user_type, sid):
        if not url or re.search(r"/media/(user|bot)\.svg$", url):
            image = "bot.svg" if user_type == "bot" else "user.svg"
            return f"{self.config.public_url}/static/{image}"
        new = self.copier.url_for(url, lambda why: self.report.change("users", sid, why))
        return new[:512]

    def user_details(self, rows, extra_columns):
        """``{target user id: [detail rows]}`` for a batch of users: their rows of
        users_data (one query) and the columns this importer does not know."""
        report, result, seen = self.report, {}, set()
        wanted = {r["id"]: self.maps["users"][r["id"]] for r in rows}

        def add(source_user, target_user, slug, name, value, where):
            clean = SLUG.sub("-", str(slug).strip().lower()).strip("-")[:64]
            if not clean or not clean[0].isalnum():
                report.skip("users_data", where, f"detail name {slug!r} cannot be a slug")
                return
            if (target_user, clean) in seen:
                report.skip("users_data", where, f"a second detail {clean!r} of user {source_user}")
                return
            if clean != slug:
                report.change("users_data", where, f"detail name {slug!r} became {clean!r}")
            value = unescape(str(value))
            if len(value) > 512:
                report.change("users_data", where, f"value of {clean!r} cut to 512 characters")
                value = value[:512]
            seen.add((target_user, clean))
            result.setdefault(target_user, []).append(
                {"user": target_user, "slug": clean, "name": unescape(name or clean)[:191], "value": value})

        for row in self.source.user_data(min(wanted), max(wanted)):
            if row["user_id"] in wanted:
                add(row["user_id"], wanted[row["user_id"]], row["slug"], row["name"], row["value"] or "",
                    row["id"])
        for row in rows:
            for column in extra_columns:
                if row.get(column) not in (None, ""):
                    add(row["id"], wanted[row["id"]], column, column, row[column], f"user {row['id']}")
            if row.get("_lost_email"):
                add(row["id"], wanted[row["id"]], "imported-email", "Email", row["_lost_email"],
                    f"user {row['id']}")
        return result

    # --- conversations and messages ---

    def import_conversations(self):
        extra_columns = [c for c in self.source.columns("conversations") if c not in CONVERSATION_COLUMNS]
        self.start_ids(Conversation, "conversations", self.limits["conversations"])
        for rows in self.pages("conversations"):
            self.conversations_batch(rows, extra_columns)

    def conversations_batch(self, rows, extra_columns):
        report, users = self.report, self.maps["users"]
        kept = []
        for row in rows:
            if row["user_id"] not in users:
                report.skip("conversations", row["id"], f"unknown user {row['user_id']}")
            else:
                kept.append(row)
        targets = self.allocate(Conversation, "conversations", kept)
        values, pairs, index = [], [], []
        for row, target in zip(kept, targets):
            sid = row["id"]
            agent = row["agent_id"]
            if agent is not None and agent not in users:
                report.change("conversations", sid, f"unknown agent {agent}: no agent")
            status = as_int(row["status_code"])
            if status not in STATUS_CODES:
                report.change("conversations", sid, f"status {row['status_code']!r}: made 2")
                status = 2
            created = as_datetime(row["creation_time"]) or dbmod.utcnow()
            extra_3 = row["extra_3"]
            unknown = {c: str(row[c]) for c in extra_columns if row.get(c) not in (None, "")}
            if unknown:
                if extra_3:
                    report.change("conversations", sid, f"columns {sorted(unknown)} not carried "
                                  "(extra_3 is in use)")
                else:
                    extra_3 = json.dumps(unknown)
            value = {"id": target, "user": users[row["user_id"]], "title": unescape(row["title"])[:191],
                     "creation_time": created, "status_code": status, "box": box_of(status),
                     "department": as_int(row["department"]), "agent_id": users.get(agent),
                     "source": (row["source"] or None), "extra": row["extra"],
                     "extra_2": row["extra_2"], "extra_3": extra_3, "tags": row["tags"] or None,
                     "last_update_time": created, "last_message_id": None}
            values.append(value)
            pairs.append((sid, target))
            self.maps["conversations"][sid] = target
            index.append((target, normalise(value["title"], (value["tags"] or "").replace(",", " "))))

        def write():
            insert_rows(Conversation, values)
            self.record_ids("conversations", pairs)
            search_backend().upsert_many("conversations", index)
            self.state["last"]["conversations"] = rows[-1]["id"]
            self.save_state()
        self.write(write)
        report.count("conversations", len(values))

    def import_messages(self):
        self.agent_ids = {i for (i,) in User.select(User.id).where(User.user_type.in_(AGENT_TYPES)).tuples()}
        self.start_ids(Message, "messages", self.limits["messages"])
        for rows in self.pages("messages"):
            self.messages_batch(rows)

    def messages_batch(self, rows):
        report, users, conversations = self.report, self.maps["users"], self.maps["conversations"]
        kept = []
        for row in rows:
            if row["conversation_id"] not in conversations:
                report.skip("messages", row["id"], f"unknown or skipped conversation {row['conversation_id']}")
            elif row["user_id"] not in users:
                report.skip("messages", row["id"], f"unknown user {row['user_id']}")
            else:
                kept.append(row)
        targets = self.allocate(Message, "messages", kept)
        fields = [Message.id, Message.user, Message.message, Message.creation_time, Message.status_code,
                  Message.attachments, Message.payload, Message.conversation]
        values, pairs, index = [], [], []
        now = None
        for row, target in zip(kept, targets):
            sid = row["id"]
            attachments, names = self.attachments(row["attachments"], sid)
            payload = row["payload"] or ""
            if payload:
                try:
                    json.loads(payload)
                except ValueError:
                    report.change("messages", sid, "payload is not JSON: kept as text")
            created = as_datetime(row["creation_time"])
            if created is None:
                now = now or dbmod.utcnow()
                report.change("messages", sid, f"creation_time {row['creation_time']!r}: set to now")
                created = now
            text = unescape(row["message"])
            conversation = conversations[row["conversation_id"]]
            values.append((target, users[row["user_id"]], text, created, as_int(row["status_code"]) or 0,
                           attachments, payload, conversation))
            if sid != target:
                pairs.append((sid, target))
            index.append((target, normalise(text, names) if names else normalise(text)))
            last = self.last_message.get(conversation)
            if last is None or target > last[0]:
                self.last_message[conversation] = (target, created)
            author = values[-1][1]
            if author in self.agent_ids:
                span = self.agent_replies.setdefault((conversation, author), [created, created])
                span[0], span[1] = min(span[0], created), max(span[1], created)

        def write():
            insert_rows(Message, values, fields)
            self.record_ids("messages", pairs)
            search_backend().upsert_many("messages", index)
            self.state["last"]["messages"] = rows[-1]["id"]
            self.save_state()
        self.write(write)
        report.count("messages", len(values))

    def attachments(self, stored, sid):
        """The attachments' JSON with old upload URLs rewritten, and their names."""
        if not stored:
            return "", ""
        try:
            items = json.loads(stored)
        except ValueError:
            self.report.change("messages", sid, "attachments are not JSON: kept as text")
            return stored, ""
        if not isinstance(items, list):
            return stored, ""
        names = []
        for item in items:
            if isinstance(item, list) and len(item) > 1 and isinstance(item[1], str):
                item[1] = self.copier.url_for(
                    item[1], lambda why: self.report.change("messages", sid, why))
                names.append(str(item[0]))
        return json.dumps(items), " ".join(names)

    # --- reports and articles ---

    def import_reports(self):
        for rows in self.pages("reports"):
            values = [{"name": str(r["name"])[:64], "value": r["value"],
                       "external_id": None if r["external_id"] is None else str(r["external_id"]),
                       "extra": r["extra"],
                       "creation_time": as_datetime(r["creation_time"]) or dbmod.utcnow()} for r in rows]

            def write(values=values, last=rows[-1]["id"]):
                ReportRow.insert_many(values).as_rowcount().execute()
                self.state["last"]["reports"] = last
                self.save_state()
            self.write(write)
            self.report.count("reports", len(values))

    def import_articles(self):
        known = {a for (a,) in Article.select(Article.article_id).tuples()}
        for rows in self.pages("articles"):
            values = []
            top = Article.select(fn.MAX(Article.position)).scalar() or 0
            for row in rows:
                parent = row["parent_id"]
                article_id = str(parent or row["id"])
                if parent and article_id not in known and parent not in {r["id"] for r in rows}:
                    self.report.skip("articles", row["id"], f"a translation of the unknown article {parent}")
                    continue
                language = (row["language"] or "").lower() if parent else ""
                if parent and not language:
                    self.report.skip("articles", row["id"], "a translation without a language")
                    continue
                if not parent and row["language"]:
                    self.report.change("articles", row["id"], f"language {row['language']!r} is the "
                                       "default language here")
                known.add(article_id)
                link = row["link"] or ""
                values.append({"article_id": article_id, "language": language,
                               "title": unescape(row["title"])[:512], "content": row["content"] or "",
                               "link": link[:512] if link.lower().startswith(("http://", "https://")) else "",
                               "categories": json.dumps([c for c in (row["category"], row["parent_category"]) if c]),
                               "position": top + row["id"],
                               "updated": as_datetime(row["update_time"]) or dbmod.utcnow()})

            def write(values=values, last=rows[-1]["id"]):
                existing = {(a, lang) for a, lang in Article.select(Article.article_id, Article.language).where(
                    Article.article_id.in_([v["article_id"] for v in values] or [""])).tuples()}
                fresh = [v for v in values if (v["article_id"], v["language"]) not in existing]
                for v in values:
                    if (v["article_id"], v["language"]) in existing:
                        self.report.skip("articles", v["article_id"], f"article {v['article_id']} "
                                         f"({v['language'] or 'default'}) exists here already")
                if fresh:
                    Article.insert_many(fresh).as_rowcount().execute()
                    ids = Article.select(Article.id, Article.title, Article.content).where(
                        Article.article_id.in_([v["article_id"] for v in fresh]))
                    search_backend().upsert_many("articles", [(a.id, normalise(a.title, a.content)) for a in ids])
                self.state["last"]["articles"] = last
                self.save_state()
            self.write(write)
            self.report.count("articles", len(values))

    # --- the end ---

    def finish(self):
        if self.dry_run:
            return
        for model in (User, Conversation, Message):
            self.fix_sequence(model)
        # the inbox's denormalised last message, and who replied where (for reports and
        # routing), from what the messages step saw: no pass over the messages again
        rows = [(c, m, t) for c, (m, t) in sorted(self.last_message.items())]
        for start in range(0, len(rows), 5000):
            with self.database.atomic():
                set_last_messages(rows[start:start + 5000])
        self.merge_agent_replies()
        from ..functions.users import ensure_bot
        with self.database.atomic():
            ensure_bot(self.core.context())
        self.report.count("files", self.copier.copied)

    def merge_agent_replies(self):
        by_conversation = {}
        for (conversation, agent), span in self.agent_replies.items():
            by_conversation.setdefault(conversation, {})[agent] = span
        conversations = sorted(by_conversation)
        for start in range(0, len(conversations), 500):
            chunk = conversations[start:start + 500]
            with self.database.atomic():
                for conversation, agent, first, last in ConversationAgent.select(
                        ConversationAgent.conversation, ConversationAgent.agent, ConversationAgent.first_reply,
                        ConversationAgent.last_reply).where(ConversationAgent.conversation.in_(chunk)).tuples():
                    span = by_conversation[conversation].setdefault(agent, [first, last])
                    span[0], span[1] = min(span[0], first), max(span[1], last)
                ConversationAgent.delete().where(ConversationAgent.conversation.in_(chunk)).execute()
                merged = [(c, a, f, lt) for c in chunk for a, (f, lt) in by_conversation[c].items()]
                insert_rows(ConversationAgent, merged, [ConversationAgent.conversation, ConversationAgent.agent,
                             ConversationAgent.first_reply, ConversationAgent.last_reply])

    def id_map_rows(self):
        """Every id that changed: (kind, source id, id here)."""
        return list(ImportedId.select(ImportedId.kind, ImportedId.source_id, ImportedId.target_id)
                    .order_by(ImportedId.kind, ImportedId.id).tuples())


NOT_CARRIED = [
    "sb_users.typing: who is typing now (runtime state)",
    "sb_settings active_agents_conversations, ip-ban, cron, cron-email-piping: runtime state",
    "sb_articles.editor_js, nav and slug: sbcore keeps an article's HTML content, not the editor's blocks",
]


