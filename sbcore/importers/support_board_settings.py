"""The steps of ``sbcore import-support-board`` for what Support Board keeps in its
``sb_settings`` table: notes, ratings, the settings row, categories, automations and
their history, and the rows that plugins saved there."""

import json

from .. import db as dbmod
from ..models import AutomationSent, ImportedId, Note, Rating, Setting as SettingRow
from ..settings import EXTERNAL_PREFIX
from .convert import as_datetime, as_int, coerce, fingerprint, parse_time, unescape, unpack_setting

RUNTIME_SETTINGS = ("active_agents_conversations", "ip-ban", "cron", "cron-email-piping")
SETTINGS_ROWS = ("settings", "ratings", "automations", "automations-history", "articles-categories")


class SettingsSteps:
    """Mixed into ``Importer``: uses its maps, state, report and ``write``."""


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
            ImportedId.kind == "notes").tuples()} if self.tables_ready else set()
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
            if values:
                store.bump()  # every process's settings cache reloads what the import wrote
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

