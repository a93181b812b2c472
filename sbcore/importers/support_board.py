"""``sbcore import-support-board``: a Support Board install's database (and its files)
into sbcore's database, one step per table, each table in batches of one transaction.

Ids are kept when the target is empty (only sbcore's own bot in it) and mapped into a
non-empty one; every imported user, conversation, article and note is recorded in
``sb_import_ids``, so that references resolve and a re-run imports only what is new
(rows past the last source id of each table; settings when they changed in Support Board).
Broken rows are skipped or mended and reported, never fatal."""

import hashlib
import html
import json
import re
from datetime import date, datetime

from peewee import DateTimeField, fn

from .. import db as dbmod
from .. import users as U
from ..models import (Article, AutomationSent, Conversation, ImportedId, ImportState, Message,
                      Note, Rating, ReportRow, Setting as SettingRow, User, UserDetail)
from ..models.conversations import STATUS_CODES, box_of
from ..models.users import USER_TYPES
from ..search import normalise, search_backend
from ..settings import EXTERNAL_PREFIX
from .files import FileCopier

STATE = "support-board"
BATCH = 2000
SLUG = re.compile(r"[^a-z0-9_-]+")
USER_COLUMNS = ("id", "first_name", "last_name", "password", "email", "profile_image", "user_type",
                "creation_time", "token", "last_activity", "typing", "department")
CONVERSATION_COLUMNS = ("id", "user_id", "title", "creation_time", "status_code", "department",
                        "agent_id", "source", "extra", "extra_2", "extra_3", "tags")
MESSAGE_COLUMNS = ("id", "user_id", "message", "creation_time", "status_code", "attachments",
                   "payload", "conversation_id")
RUNTIME_SETTINGS = ("active_agents_conversations", "ip-ban", "cron", "cron-email-piping")
SETTINGS_ROWS = ("settings", "ratings", "automations", "automations-history", "articles-categories")


def unescape(value):
    """Support Board's stored text (``&lt;`` ``&gt;`` ``&amp;`` …) as it was written."""
    return html.unescape(value) if isinstance(value, str) and "&" in value else (value or "")


def as_datetime(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None  # NULL or a zero date ('0000-00-00 …' comes back as text)


def as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def fingerprint(value):
    return hashlib.sha256((value or "").encode("utf-8")).hexdigest()


def unpack_setting(value):
    """A Support Board setting ``[value, type]`` (multi-input values ``{sub: [value, type]}``,
    repeater items the same) as sbcore keeps it: the bare value."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        value = value[0]
    if isinstance(value, dict):
        return {key: unpack_setting(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unpack_setting(item) for item in value]
    return value


def coerce(value, kind):
    """Support Board keeps numbers and booleans as text at times: "14", "true"."""
    if kind == "number" and isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if kind == "checkbox" and isinstance(value, str):
        return {"true": True, "false": False, "": False, "1": True, "0": False}.get(value.lower(), value)
    return value


class Report:
    """Counts per table, every skipped row and every row imported with a change."""

    def __init__(self):
        self.counts = {}
        self.skipped = []   # (table, source id, reason)
        self.changed = []   # (table, source id, what changed)
        self.not_carried = []

    def count(self, table, n=1):
        self.counts[table] = self.counts.get(table, 0) + n

    def skip(self, table, source_id, reason):
        self.skipped.append((table, str(source_id), reason))
        self.counts.setdefault(table, 0)

    def change(self, table, source_id, what):
        self.changed.append((table, str(source_id), what))

    def lines(self, dry_run):
        verb = "would import" if dry_run else "imported"
        out = [f"{verb}:"]
        for table, n in self.counts.items():
            skipped = sum(1 for t, _, _ in self.skipped if t == table)
            out.append(f"  {table:<22} {n:>9}" + (f"   skipped {skipped}" if skipped else ""))
        if self.skipped:
            out.append(f"skipped rows ({len(self.skipped)}):")
            out += [f"  {t} {i}: {why}" for t, i, why in self.skipped]
        if self.changed:
            out.append(f"imported with a change ({len(self.changed)}):")
            out += [f"  {t} {i}: {why}" for t, i, why in self.changed]
        if self.not_carried:
            out.append("not carried over:")
            out += [f"  {line}" for line in self.not_carried]
        return out


class Importer:
    def __init__(self, core, source, files=None, dry_run=False, batch=BATCH, progress=None):
        self.core = core
        self.config = core.config
        self.source = source
        self.dry_run = dry_run
        self.batch = batch
        self.progress = progress  # progress(table, total) -> an object with update(n), close()
        self.report = Report()
        self.copier = FileCopier(self.config, files, dry_run=dry_run)
        self.maps = {"users": {}, "conversations": {}}
        self.touched_conversations = set()
        self.database = core.database

    # --- state ---

    def load_state(self):
        row = ImportState.get_or_none(ImportState.name == STATE)
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
            bulk_index("users", index)
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
            bulk_index("conversations", index)
            self.state["last"]["conversations"] = rows[-1]["id"]
            self.save_state()
        self.write(write)
        self.touched_conversations.update(t for _, t in pairs)
        report.count("conversations", len(values))

    def import_messages(self):
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
            self.touched_conversations.add(conversation)

        def write():
            insert_rows(Message, values, fields)
            self.record_ids("messages", pairs)
            bulk_index("messages", index)
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

    # --- what Support Board keeps in its settings table ---

    def settings_changed(self, name, value):
        """Whether the settings row ``name`` is new or changed since the last run."""
        digest = fingerprint(value)
        if self.state["hashes"].get(name) == digest:
            return False
        self.state["hashes"][name] = digest
        return True

    def parse(self, name, value, table):
        try:
            return json.loads(value) if value else None
        except ValueError:
            self.report.skip(table, name, "its value is not JSON")
            return None

    def import_notes(self, settings):
        report, conversations, users = self.report, self.maps["conversations"], self.maps["users"]
        done = {s for (s,) in ImportedId.select(ImportedId.source_id).where(
            ImportedId.kind == "notes").tuples()}
        rows, pairs = [], []
        for name, value in settings.items():
            if not name.startswith("notes-") or not name[6:].isdigit():
                continue
            notes = self.parse(name, value, "notes")
            if notes is None:
                continue
            conversation = int(name[6:])
            if conversation not in conversations:
                report.skip("notes", name, f"unknown or skipped conversation {conversation}")
                continue
            if not isinstance(notes, list):
                report.skip("notes", name, "not a list of notes")
                continue
            for note in notes:
                key = f"{conversation}:{note.get('id') if isinstance(note, dict) else '?'}"
                if key in done:
                    continue
                author = as_int(note.get("user_id")) if isinstance(note, dict) else None
                if author not in users:
                    report.skip("notes", key, f"unknown author {author}")
                    continue
                rows.append({"conversation": conversations[conversation], "user": users[author],
                             "name": unescape(str(note.get("name") or ""))[:191],
                             "message": unescape(str(note.get("message") or "")),
                             "creation_time": as_datetime(parse_time(note.get("date"))) or dbmod.utcnow()})
                pairs.append(key)

        def write():
            for row, key in zip(rows, pairs):
                note_id = Note.insert(row).execute()
                self.record_ids("notes", [(key, note_id)])
        self.write(write)
        report.count("notes", len(rows))

    def import_ratings(self, settings):
        ratings = self.parse("ratings", settings.get("ratings"), "ratings")
        if not isinstance(ratings, dict) or not self.settings_changed("ratings", settings.get("ratings")):
            return
        report, conversations, users = self.report, self.maps["conversations"], self.maps["users"]
        rows = []
        for key, item in ratings.items():
            conversation = conversations.get(as_int(key))
            if conversation is None:
                report.skip("ratings", key, f"unknown or skipped conversation {key}")
            elif not isinstance(item, dict) or str(item.get("rating")) not in ("1", "-1", "0"):
                report.skip("ratings", key, f"not a rating: {str(item)[:60]}")
            else:
                rows.append({"conversation": conversation, "rating": 1 if str(item["rating"]) == "1" else 0,
                             "agent_id": users.get(as_int(item.get("agent_id")))})

        def write():
            existing = {c for (c,) in Rating.select(Rating.conversation).where(
                Rating.conversation.in_([r["conversation"] for r in rows] or [0])).tuples()}
            fresh = [r for r in rows if r["conversation"] not in existing]
            if fresh:
                Rating.insert_many(fresh).as_rowcount().execute()
            self.save_state()
        self.write(write)
        report.count("ratings", len(rows))

    def import_settings(self, settings):
        """The ``settings`` row, setting by setting; categories, automations and the rows
        that plugins saved (save-external-setting)."""
        report, store = self.report, self.core.settings
        values = {}
        raw = settings.get("settings")
        if raw is not None and self.settings_changed("settings", raw):
            parsed = self.parse("settings", raw, "settings")
            for setting_id, item in (parsed or {}).items():
                spec = store.specs.get(setting_id)
                value = unpack_setting(item)
                if spec is not None:
                    value = coerce(value, spec.type)
                    if spec.type == "multi-input" and isinstance(value, dict) and isinstance(spec.default, dict):
                        unknown = sorted(set(value) - set(spec.default))
                        if unknown:
                            report.change("settings", setting_id, f"sub-settings {', '.join(unknown)} "
                                          "are not sbcore's: left out")
                        value = {key: coerce(item, "checkbox" if isinstance(spec.default[key], bool) else "")
                                 for key, item in value.items() if key in spec.default}
                    try:
                        value = spec.check(value)
                    except Exception as error:  # noqa: BLE001 - ApiError: reported, left out
                        report.skip("settings", setting_id, getattr(error, "message", str(error)))
                        continue
                values[setting_id] = value
        categories = settings.get("articles-categories")
        if categories is not None and self.settings_changed("articles-categories", categories):
            parsed = self.parse("articles-categories", categories, "settings")
            if isinstance(parsed, list):
                values["articles-categories"] = parsed  # with "parent", as Support Board keeps them
        for name in ("automations",):
            if settings.get(name) is not None and self.settings_changed(name, settings[name]):
                parsed = self.parse(name, settings[name], "settings")
                if isinstance(parsed, dict):
                    values[EXTERNAL_PREFIX + name] = parsed
        for name, raw_value in settings.items():
            if name in SETTINGS_ROWS or name.startswith("notes-") or name in RUNTIME_SETTINGS:
                continue
            if raw_value is None or not self.settings_changed(name, raw_value):
                continue
            try:
                store.check_external_name(name)
            except Exception:  # noqa: BLE001
                report.skip("settings", name, "not a setting name sbcore can keep")
                continue
            try:
                parsed = json.loads(raw_value)
            except ValueError:
                parsed = raw_value
            values[EXTERNAL_PREFIX + name] = parsed

        def write():
            for name, value in values.items():
                encoded = json.dumps(value)
                if not SettingRow.update(value=encoded).where(SettingRow.name == name).execute():
                    SettingRow.create(name=name, value=encoded)
            self.save_state()
        self.write(write)
        report.count("settings", len(values))

    def import_automation_history(self, settings):
        raw = settings.get("automations-history")
        history = self.parse("automations-history", raw, "automations_history")
        if not isinstance(history, list) or not self.settings_changed("automations-history", raw):
            return
        rows = []
        for item in history:
            if not isinstance(item, list) or len(item) < 2:
                self.report.skip("automations_history", str(item)[:40], "not [user id, automation id]")
                continue
            user = self.maps["users"].get(as_int(item[0]))
            if user is None:
                self.report.skip("automations_history", f"{item[0]}:{item[1]}", f"unknown user {item[0]}")
                continue
            rows.append({"user": user, "automation_id": str(item[1])[:32], "repeat_id": ""})

        def write():
            for start in range(0, len(rows), 1000):
                AutomationSent.insert_many(rows[start:start + 1000]).on_conflict_ignore().as_rowcount().execute()
            self.save_state()
        self.write(write)
        self.report.count("automations_history", len(rows))

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
                    bulk_index("articles", [(a.id, normalise(a.title, a.content)) for a in ids])
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
        touched = sorted(self.touched_conversations)
        for start in range(0, len(touched), 500):
            chunk = touched[start:start + 500]
            last = Message.select(fn.MAX(Message.id)).where(Message.conversation == Conversation.id)
            when = Message.select(fn.MAX(Message.creation_time)).where(
                Message.conversation == Conversation.id)
            with self.database.atomic():
                Conversation.update(last_message_id=last,
                                    last_update_time=fn.COALESCE(when, Conversation.creation_time)
                                    ).where(Conversation.id.in_(chunk)).execute()
        from ..conversations import rebuild_conversation_agents
        from ..functions.users import ensure_bot
        with self.database.atomic():
            rebuild_conversation_agents()
            ensure_bot(self.core.context())
        self.report.count("files", self.copier.copied)

    def id_map_rows(self):
        """Every id that changed: (kind, source id, id here)."""
        return list(ImportedId.select(ImportedId.kind, ImportedId.source_id, ImportedId.target_id)
                    .order_by(ImportedId.kind, ImportedId.id).tuples())


def prefetched(pages, depth=2):
    """The pages of ``pages`` read ahead in a thread: the source database answers the next
    page while this one is written (both servers work at once)."""
    import queue
    import threading
    buffer, stop, done = queue.Queue(maxsize=depth), threading.Event(), object()

    def read():
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(page, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as error:  # noqa: BLE001 - raised again in the consumer
            buffer.put(error)
    reader = threading.Thread(target=read, name="sb-import-reader", daemon=True)
    reader.start()
    try:
        while True:
            page = buffer.get()
            if page is done:
                return
            if isinstance(page, BaseException):
                raise page
            yield page
    finally:
        stop.set()
        reader.join(timeout=30)


def parse_time(value):
    if isinstance(value, str):
        try:
            return datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
    return None


def insert_rows(model, rows, fields=None):
    """Insert many rows (dicts of field names, or tuples in the order of ``fields``) with
    the driver's own bulk path: peewee's ``insert_many`` spends more time building the SQL
    of a large batch than the database spends storing it (profiled: 60% of an import)."""
    if not rows:
        return
    if fields is None:
        names = list(rows[0])
        fields = [model._meta.fields[name] for name in names]
        rows = [tuple(row[name] for name in names) for row in rows]
    kind = dbmod.kind(model._meta.database.obj)
    quote = "`{}`" if kind == "mysql" else '"{}"'
    columns = ", ".join(quote.format(f.column_name) for f in fields)
    table = quote.format(model._meta.table_name)
    cursor = model._meta.database.cursor()
    if kind == "sqlite":
        stamp = [i for i, f in enumerate(fields) if isinstance(f, (DateTimeField,))]
        if stamp:
            rows = [tuple(dbmod.format_datetime(v) if i in stamp and v is not None else v
                          for i, v in enumerate(row)) for row in rows]
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(fields))})", rows)
    elif kind == "mysql":
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", rows)
    else:
        from psycopg2.extras import execute_values
        execute_values(cursor, f"INSERT INTO {table} ({columns}) VALUES %s", rows, page_size=1000)


def bulk_index(index, rows):
    """Search rows for new keys, many to a statement."""
    if not rows:
        return
    backend = search_backend()
    table = backend.table(index)
    mark = backend.param
    kind = dbmod.kind(backend.database)
    upsert = {"mysql": " ON DUPLICATE KEY UPDATE body = VALUES(body)",
              "postgres": f" ON CONFLICT ({backend.key}) DO UPDATE SET body = EXCLUDED.body"}.get(kind, "")
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        if kind == "sqlite":  # FTS5 has no upsert
            backend.delete(index, [key for key, _ in chunk])
        params = [value for row in chunk for value in row]
        backend.execute(f"INSERT INTO {table} ({backend.key}, body) VALUES "
                        + ", ".join([f"({mark}, {mark})"] * len(chunk)) + upsert, params)


NOT_CARRIED = [
    "sb_users.typing: who is typing now (runtime state)",
    "sb_settings active_agents_conversations, ip-ban, cron, cron-email-piping: runtime state",
    "sb_articles.editor_js, nav and slug: sbcore keeps an article's HTML content, not the editor's blocks",
]


def write_id_map(rows, path):
    """The ids that changed, as CSV: kind, source_id, target_id. Answers how many."""
    import csv
    changed = [row for row in rows if str(row[1]) != str(row[2])]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "source_id", "target_id"])
        writer.writerows(changed)
    return len(changed)


def run_command(core, args):
    """``sbcore import-support-board``: the command line around ``Importer``."""
    import os
    import sys

    from tqdm import tqdm

    from .files import FileSource
    from .source import Source, SourceError
    if not args.dry_run:
        core.init(report=lambda line: print(line, file=sys.stderr))
    try:
        source = Source(args.url, prefix=args.prefix)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    files = FileSource(core.config, args.uploads) if args.uploads else None
    if files is not None and not files.remote and not os.path.isdir(args.uploads):
        print(f"error: the uploads folder {args.uploads} does not exist", file=sys.stderr)
        return 1

    def progress(table, total):
        return tqdm(total=total, desc=table, unit="rows", file=sys.stderr, leave=True)
    importer = Importer(core, source, files=files, dry_run=args.dry_run, batch=args.batch,
                        progress=progress)
    try:
        report = importer.run()
    finally:
        source.close()
        if files is not None:
            files.close()
    for line in report.lines(args.dry_run):
        print(line)
    if args.dry_run:
        print("dry run: nothing was changed")
        return 0
    with dbmod.connection():
        rows = importer.id_map_rows()
    path = args.id_map or os.path.join(core.config.data_dir, "support-board-id-map.csv")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    changed = write_id_map(rows, path)
    mode = "kept" if importer.state["mode"] == "keep" else "mapped"
    print(f"ids {mode}; {changed} ids changed, written to {os.path.abspath(path)}")
    return 0


def configure_parser(parser):
    parser.add_argument("url", help="the Support Board database: mysql://user:password@host:3306/database")
    parser.add_argument("--uploads", default=None,
                        help="the old install's uploads folder, or its base URL (https://…/uploads)")
    parser.add_argument("--dry-run", action="store_true", help="print the counts and change nothing")
    parser.add_argument("--prefix", default="sb_", help="the tables' prefix (default sb_)")
    parser.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")
    parser.add_argument("--id-map", default=None,
                        help="where to write the changed ids as CSV (default <data dir>/support-board-id-map.csv)")
