"""Automations: emails, SMS, chat messages, popups and design changes shown to the
users whose conditions hold (see sbcore.automations for the conditions)."""

import re

from .. import automations as A
from .. import conversations as C
from .. import mail, notifications, sms
from .. import users as U
from ..errors import ApiError, invalid_argument
from ..models import AutomationSent, Conversation, ReportRow
from ..registry import FunctionSet, Json
from ..settings import check_colour
from ..translations import LANGUAGE_CODE
from .users import ensure_bot

functions = FunctionSet()
sbcore_register_functions = functions.hook()
TYPES = ("emails", "sms", "messages", "popups", "design")
FIELDS = {"emails": ("subject",), "sms": (), "messages": (), "popups": ("title", "profile_image"),
          "design": ("title", "color_1", "color_2", "color_3", "background", "brand", "icon")}
URL_FIELDS = ("profile_image", "background", "brand", "icon")
ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
STORE, TRANSLATIONS = "automations", "automations-translations"


def check_automation(item, kind, where):
    if not isinstance(item, dict) or not ID.match(str(item.get("id", ""))):
        raise invalid_argument(where, "each automation is an object with an id (letters, digits, - and _).")
    allowed = {"id", "name", "message", "conditions", "type"} | set(FIELDS[kind])
    if set(item) - allowed:
        raise invalid_argument(where, f"{kind} automations take only {', '.join(sorted(allowed))}.")
    for key in allowed - {"conditions"}:
        if key in item and not isinstance(item[key], str):
            raise invalid_argument(where, f"'{key}' of automation {item['id']} must be text.")
    A.check(item.get("conditions"), where)
    for key in ("color_1", "color_2", "color_3"):
        if item.get(key):
            check_colour(item[key], key)
    for key in URL_FIELDS:
        if item.get(key) and not item[key].lower().startswith(("http://", "https://")):
            raise invalid_argument(where, f"'{key}' must be an http(s) URL.")
    return {k: v for k, v in item.items() if k != "type"}


def stored(ctx):
    value = ctx.settings.get_external(STORE, {}) or {}
    result = {kind: value.get(kind, []) for kind in TYPES}
    result.setdefault("more", [])  # Support Board 3.8's sixth type, always empty here
    return result


@functions("automations-get")
def automations_get(ctx):
    # Support Board 3.8: translations are [] when there are none
    return [stored(ctx), ctx.settings.get_external(TRANSLATIONS, {}) or []]


@functions("automations-save")
def automations_save(ctx, automations: dict, translations: dict | None = None):
    if set(automations) - set(TYPES):
        raise invalid_argument("automations", f"the types are {', '.join(TYPES)}.")
    clean, ids = {}, set()
    for kind in TYPES:
        items = automations.get(kind, [])
        if not isinstance(items, list):
            raise invalid_argument("automations", f"'{kind}' must be a list.")
        clean[kind] = [check_automation(item, kind, "automations") for item in items]
        for item in clean[kind]:
            if item["id"] in ids:
                raise invalid_argument("automations", f"the id {item['id']} is used twice.")
            ids.add(item["id"])
    for language, by_type in (translations or {}).items():
        if not LANGUAGE_CODE.match(language) or not isinstance(by_type, dict):
            raise invalid_argument("translations", f"'{language}' must be a language code with types.")
        for kind, items in by_type.items():
            if kind not in TYPES or not isinstance(items, list):
                raise invalid_argument("translations", f"'{language}.{kind}' is not a list of a type.")
            for item in items:
                check_automation(item, kind, "translations")
    ctx.settings.set_external(STORE, clean)
    ctx.settings.set_external(TRANSLATIONS, translations or {})
    return True


def find(ctx, automation):
    """The stored automation and its type, from an automation or ``{"id": …}``."""
    if not isinstance(automation, dict) or not ID.match(str(automation.get("id", ""))):
        raise invalid_argument("automation", 'an automation, or {"id": "…"}.')
    for kind, items in stored(ctx).items():
        for item in items:
            if item["id"] == str(automation["id"]):
                return dict(item), kind
    raise ApiError("automation-not-found", f"No automation has the ID {automation['id']}.", 404)


def user_facts(user_id):
    if user_id is None:
        return None, None, False
    user = U.require_user(user_id)
    details = {d.slug: d.value for d in U.details_of([user.id]).get(user.id, [])}
    has_history = Conversation.select().where(Conversation.user == user.id).exists()
    return user, details, has_history


def judge(ctx, automation, user_id):
    item, kind = find(ctx, automation)
    user, details, history = user_facts(user_id)
    verdict = A.evaluate(item.get("conditions"), user, details, history)
    return item, kind, verdict, user, details


def translated(ctx, item, kind, details):
    language = (details or {}).get("language", "")
    for other in (ctx.settings.get_external(TRANSLATIONS, {}) or {}).get(language, {}).get(kind, []):
        if other.get("id") == item["id"]:
            return {**item, **{k: v for k, v in other.items() if v}}
    return item


@functions("automations-validate")
def automations_validate(ctx, automation: Json, user_id: int | None = None):
    _, _, verdict, _, _ = judge(ctx, automation, user_id)
    if verdict is None:
        return False
    pending, repeat_id = verdict
    return {"conditions": pending, "repeat_id": repeat_id}


def is_sent(user_id, automation_id, repeat_id):
    return AutomationSent.select().where(
        (AutomationSent.user == user_id) & (AutomationSent.automation_id == automation_id)
        & (AutomationSent.repeat_id == (repeat_id or ""))).exists()


def phone_of(user):
    return U.detail_value(user.id, "phone")


def execute(ctx, item, kind, user, details, repeat_id):
    """Deliver one automation to one user and record it; False when already sent."""
    if is_sent(user.id, item["id"], repeat_id):
        return False
    if kind == "emails":
        mail.require_configured(ctx, "An email automation")
        if not user.email:
            raise ApiError("user-email-not-found", f"The user {user.id} has no email address.", 400)
    if kind == "sms":
        sms.configuration(ctx)  # sms-not-active / sms-not-configured
        if not phone_of(user):
            raise ApiError("user-phone-not-found", f"The user {user.id} has no phone detail.", 400)
    item = translated(ctx, item, kind, details)
    if kind == "sms":
        notifications.queue(ctx, "sms", [user], {
            "subject": item.get("name") or "", "message": item.get("message", ""), "attachments": [],
            "template": False})
        ReportRow.create(name="sms-automations", value=item["id"], external_id=str(user.id))
    if kind == "emails":
        notifications.queue(ctx, "email", [user], {
            "subject": item.get("subject") or item.get("name") or "", "heading": "",
            "message": item.get("message", ""), "attachments": []})
        ReportRow.create(name="email-automations", value=item["id"], external_id=str(user.id))
    if kind == "messages":
        latest = (Conversation.select().where((Conversation.user == user.id) & (Conversation.box == 0))
                  .order_by(Conversation.last_update_time.desc()).first())
        conversation = latest or C.create_conversation(ctx, user.id)
        C.add_message(ctx, ensure_bot(ctx), conversation, item.get("message", ""),
                      payload=C.check_payload({"automation": item["id"]}))
        ReportRow.create(name="message-automations", value=item["id"], external_id=str(user.id))
    AutomationSent.create(user=user.id, automation_id=item["id"], repeat_id=repeat_id or "")
    return True


@functions("automations-run")
def automations_run(ctx, automation: Json, validate: bool = False, user_id: int | None = None):
    if user_id is None:
        raise ApiError("missing-argument", "automations-run needs the user_id it runs for.", 400)
    item, kind, verdict, user, details = judge(ctx, automation, user_id)
    if validate and (verdict is None or verdict[0]):
        return False
    return execute(ctx, item, kind, user, details, verdict[1] if verdict else "")


@functions("automations-is-sent", spellings={"automation": ("automation_id",)})
def automations_is_sent(ctx, user_id: int, automation: Json, repeat_id: str | bool = False):
    if isinstance(automation, (str, int)) and not isinstance(automation, bool):
        automation = {"id": str(automation)}  # a bare automation id
    if not isinstance(automation, dict) or not ID.match(str(automation.get("id", ""))):
        raise invalid_argument("automation", 'an automation, or {"id": "…"}.')
    return is_sent(user_id, str(automation["id"]), repeat_id or "")


@functions("automations-run-all")
def automations_run_all(ctx, user_id: int | None = None):
    """Runs what holds on the server for ``user_id``; answers what the widget must finish:
    automations with pending conditions, and popups and design changes."""
    user, details, history = user_facts(user_id)
    answer = []
    for kind, items in stored(ctx).items():
        for item in items:
            verdict = A.evaluate(item.get("conditions"), user, details, history)
            if verdict is None:
                continue
            pending, repeat_id = verdict
            if user is not None and is_sent(user.id, item["id"], repeat_id):
                continue
            if pending or kind in ("popups", "design") or user is None:
                answer.append({**translated(ctx, item, kind, details), "conditions": pending,
                               "type": kind})
            elif kind == "messages" or (kind == "emails" and user.email and mail.configured(ctx)) \
                    or (kind == "sms" and sms.is_active(ctx) and phone_of(user)):
                execute(ctx, item, kind, user, details, repeat_id)
            # emails and SMS without their service or the user's address wait: never faked
    return answer
