"""sbcore extensions that the agent workspace (``/admin``) needs beyond the reference:
a conversation's tags, the settings registry with each setting's owner, and the
webhook outbox's delivery log with a test delivery and a replay. The workspace has no
logic of its own: what a screen shows, the Web API answers too."""

import json
import time

from .. import conversations as C
from .. import db as dbmod
from .. import outbound
from .. import webhooks as W
from ..errors import ApiError, invalid_argument, not_found
from ..models.events import DELIVERED, FAILED, PENDING, SKIPPED, Event
from ..registry import AGENT, FunctionSet, plugin_name

functions = FunctionSet()
sbcore_register_functions = functions.hook()
LOG_PAGE = 50
MAX_TAGS = 20


@functions("update-conversation-tags", role=AGENT)
def update_conversation_tags(ctx, conversation_id: int, tags: list | str):
    """Replace a conversation's tags (a list, or comma-separated text); answers them."""
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = []
    for tag in tags:
        if not isinstance(tag, str) or "," in tag or len(tag.strip()) > 64:
            raise invalid_argument("tags", "each tag is text of at most 64 characters, no comma.")
        if tag.strip() and tag.strip() not in cleaned:
            cleaned.append(tag.strip())
    if len(cleaned) > MAX_TAGS:
        raise invalid_argument("tags", f"at most {MAX_TAGS} tags.")
    stored = ",".join(cleaned)
    if len(stored) > 512:
        raise invalid_argument("tags", "the tags are longer than 512 characters together.")
    conversation = C.require_conversation(conversation_id)
    C.update_conversation(ctx, conversation, tags=stored or None)
    return cleaned


@functions("get-settings-registry")
def get_settings_registry(ctx):
    """Every registered setting: id, type, default, value, description and the plugin
    that registers it (``sbcore.*`` for the core's own)."""
    values = ctx.settings.all()
    rows = []
    for impl in ctx.core.pm.hook.sbcore_register_settings.get_hookimpls():
        owner = plugin_name(ctx.core.pm, impl.plugin)
        for spec in impl.function() or []:
            rows.append({"id": spec.id, "type": spec.type, "default": spec.default,
                         "value": values.get(spec.id, [spec.default])[0], "description": spec.doc,
                         "owner": owner})
    return sorted(rows, key=lambda row: (not row["owner"].startswith("sbcore"), row["owner"], row["id"]))


def event_row(event):
    return {"id": str(event.id), "event": event.name, "status": event.status,
            "attempts": str(event.attempts), "delivery_id": event.delivery_id,
            "created": dbmod.format_datetime(event.created),
            "delivered": dbmod.format_datetime(event.delivered) if event.delivered else "",
            "last_error": event.last_error}


@functions("get-webhook-deliveries")
def get_webhook_deliveries(ctx, status: str = "", pagination: int = 0):
    """The webhook outbox, newest first, a page of 50: each event's status (pending,
    delivered, failed, skipped), attempts and last error."""
    if status and status not in (PENDING, DELIVERED, FAILED, SKIPPED):
        raise invalid_argument("status", "one of pending, delivered, failed, skipped.")
    query = Event.select()
    if status:
        query = query.where(Event.status == status)
    query = dbmod.page(query.order_by(Event.id.desc()), pagination, LOG_PAGE)
    return [event_row(event) for event in query]


@functions("replay-webhook")
def replay_webhook(ctx, event_id: int):
    """Queue an event of the outbox to be delivered again (with its delivery id)."""
    if not Event.select().where(Event.id == event_id).exists():
        raise not_found("event-not-found", f"No webhook event has the ID {event_id}.")
    W.replay([event_id])
    ctx.core.outbox_signal.set()
    return event_row(Event.get_by_id(event_id))


@functions("test-webhook", transaction=False)  # waits on the receiver: no transaction held
def test_webhook(ctx):
    """Send a signed test event (``ping``) to the webhook URL now; answers whether the
    receiver took it (a 2xx answer) and, if not, why."""
    settings = W.config_of(ctx)
    if not settings["webhooks-url"]:
        raise ApiError("webhooks-not-configured", "Set webhooks-url in the webhooks setting first.")
    event = Event(name="ping", data=json.dumps({"message": "A test delivery from sbcore."}),
                  delivery_id=f"test-{int(time.time() * 1000)}")
    error = W.send(ctx.config, settings, event, ctx.config.public_url,
                   outbound.new_session(ctx.config))
    return {"delivered": error is None, "error": error or ""}
