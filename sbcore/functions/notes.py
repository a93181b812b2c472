"""Internal notes and ratings."""

from peewee import fn

from .. import conversations as C
from .. import users as U
from ..errors import ApiError, invalid_argument
from ..models import Note, Rating
from ..registry import AGENT, FunctionSet, Json, convert
from .conversations import last_agent, require_agent

functions = FunctionSet()


sbcore_register_functions = functions.hook()


@functions("get-notes", role=AGENT)
def get_notes(ctx, conversation_id: int):
    return C.note_rows(conversation_id)


@functions("add-note", role=AGENT)
def add_note(ctx, conversation_id: int, user_id: int, name: str = "", message: str = ""):
    C.require_conversation(conversation_id)
    require_agent(user_id)
    if not message.strip() and not name.strip():
        raise ApiError("empty-note", "A note needs a name or a message.")
    return Note.create(conversation=conversation_id, user=user_id,
                       name=U.check_name("name", name), message=message).id


@functions("delete-note", role=AGENT)
def delete_note(ctx, conversation_id: int, note_id: int):
    deleted = Note.delete().where((Note.id == note_id) & (Note.conversation == conversation_id)).execute()
    return bool(deleted)  # an unknown note: false, as Support Board 3.8 answers


@functions("set-rating", role=AGENT)
def set_rating(ctx, settings: Json = None, payload: dict | None = None, message_id: int | None = None,
               message: str | None = None, user_id: int | None = None,
               conversation_id: int | None = None, rating: int | None = None):
    values = settings if isinstance(settings, dict) else {}
    values = values.get("settings", values) if isinstance(values.get("settings", values), dict) else {}
    conversation_id = values.get("conversation_id", conversation_id)
    rating = values.get("rating", rating)
    try:
        conversation_id, rating = (convert("settings", int, conversation_id),
                                   convert("settings", int, rating))
    except ApiError:
        raise invalid_argument("settings", '{"settings": {"conversation_id": ID, "rating": 0 or 1}}.')
    if rating == -1:
        rating = 0  # Support Board 3.8 sends a negative rating as -1
    if rating not in (0, 1):
        raise invalid_argument("settings", "the rating is 1 (positive) or 0 (negative).")
    conversation = C.require_conversation(conversation_id)
    agent_id = conversation.agent_id
    if agent_id is None:
        agent = last_agent(conversation.id)
        agent_id = agent.id if agent else None
    updated = Rating.update(rating=rating, agent_id=agent_id).where(
        Rating.conversation == conversation.id).execute()
    if not updated:
        Rating.create(conversation=conversation.id, rating=rating, agent_id=agent_id)
    if message_id is not None:
        row = C.require_message(message_id)
        if row.conversation_id != conversation.id:
            raise invalid_argument("message_id", "the message is not in the rated conversation.")
        changes = {}
        if message is not None:
            changes["message"] = message
        if payload is not None:
            changes["payload"] = C.check_payload(payload)
        C.edit_message(ctx, row, **changes)
    return True


@functions("get-rating", role=AGENT)
def get_rating(ctx, user_id: int):
    counts = dict(Rating.select(Rating.rating, fn.COUNT(Rating.conversation))
                  .where(Rating.agent_id == user_id).group_by(Rating.rating).tuples())
    return [counts.get(1, 0), counts.get(0, 0)]
