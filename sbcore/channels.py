"""What every messaging-platform plugin shares (WhatsApp, Messenger, Instagram,
Telegram …), so that none copies it:

- inbound: ``receive`` stores a platform's message once (a unique index on the
  platform's message id, not a read-then-write), finding or creating the user by the
  platform's id and finding or opening the conversation of that source;
  ``download`` brings media into the uploads folder through the outbound guard;
  ``verify_meta_signature`` and ``verify_secret`` check a webhook in constant time;
  ``route`` turns a handler into an inbound route without the plugin touching falcon.
- outbound: ``deliver`` (run by send-message after its commit) sends an agent's reply
  through ``sbcore_channel_send``; a failure is written into the message's payload in
  a transaction of its own and answered as the call's error.

Network calls (downloads, profile look-ups, sends) never run inside a transaction:
the plugin fetches first, then ``receive`` writes."""

import hashlib
import hmac
import json
import logging
import mimetypes
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta

import requests
from peewee import IntegrityError

from . import conversations as C
from . import db as dbmod
from . import outbound, uploads
from . import users as U
from .errors import ApiError
from .hooks import hookimpl
from .models import ChannelMessage, ChannelUser, Conversation, Message, User
from .models.users import AGENT_TYPES

log = logging.getLogger("sbcore.channels")
# a conversation's source as the service that carries it, for error codes and messages
SOURCE_NAMES = {"wa": "whatsapp", "fb": "messenger", "ig": "instagram", "tg": "telegram", "ln": "line",
                "vb": "viber", "wc": "wechat", "gb": "gbm", "tw": "twitter", "em": "email", "tx": "sms"}

MEDIA_MAX_BYTES = 25 * 1024 * 1024  # the largest media file a platform's message brings
MEDIA_FOLDER = "channels"
REQUEST_MAX_BYTES = 2 * 1024 * 1024  # the largest inbound webhook body read
REPLAY_WINDOW = 300  # seconds a signed inbound request stays acceptable
RECEIVE_ATTEMPTS = 3


# --- verification ---


def verify_meta_signature(app_secret, body, header):
    """Meta's ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app
    secret>``, compared in constant time; False without a secret or a header."""
    if not app_secret or not isinstance(header, str) or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def verify_secret(expected, given):
    """A shared secret (a verify token, Telegram's secret token) in constant time;
    False when none is configured."""
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def meta_error(response):
    """The sentence of a Graph API (Meta) error body, ``{"error": {"message", "error_data":
    {"details"}}}``, for ``outbound.call_service(error_message=…)``."""
    try:
        error = response.json().get("error") or {}
        details = (error.get("error_data") or {}).get("details")
        message = error.get("message")
    except (ValueError, AttributeError):
        return None
    return f"{message} ({details})" if message and details else message


def meta_handshake(request, verify_token):
    """The ``hub.mode=subscribe`` handshake of Meta's webhooks: the challenge when the
    verify token matches, else 403."""
    params = request.params
    if params.get("hub.mode") == "subscribe" and verify_secret(verify_token, params.get("hub.verify_token")):
        return Answer(200, str(params.get("hub.challenge", "")))
    return Answer(403, "verification failed")


# --- inbound routes ---


@dataclass
class Request:
    """An inbound request as a channel's handler sees it (header names in lower case)."""

    method: str
    params: dict
    headers: dict
    body: bytes
    path: dict = field(default_factory=dict)

    def json(self):
        """The body as a JSON object; ApiError 400 when it is not one."""
        try:
            value = json.loads(self.body or b"null")
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ApiError("invalid-body", "The body is not a JSON object.", 400)
        return value


@dataclass
class Answer:
    status: int = 200
    text: str = "ok"
    content_type: str = "text/plain"


def route(path, handler):
    """``(path, resource)`` for ``sbcore_register_routes``: the core's web layer calls
    ``handler.get(request)`` / ``handler.post(request)`` (those it has) with a
    :class:`Request` and a database connection, and sends the :class:`Answer`."""
    from .web.resources import ChannelResource
    return path, ChannelResource(handler)


class ChannelPlugin:
    """A messaging channel's whole registration in one declaration, its entry point::

        channel = ChannelPlugin("telegram", functions=F.functions, settings=F.SETTINGS,
                                routes={"/channels/telegram/{bot_id}": F.Webhook},
                                send=F.channel_send)

    ``routes`` maps a path to a handler class built with the core (see ``route``);
    ``send(ctx, conversation, message, attachments)`` answers ``sbcore_channel_send``
    (None unless the conversation is the channel's); ``commands``, ``models`` and
    ``migrations`` are what the registration hooks of those names return."""

    def __init__(self, name, functions, settings=(), routes=None, send=None, commands=(),
                 models=(), migrations=()):
        self.__name__ = name  # the plugin's name when registered without an entry point
        self.functions = functions
        self.settings = list(settings)
        self.routes = dict(routes or {})
        self.send = send
        self.commands = list(commands)
        self.models = list(models)
        self.migrations = list(migrations)

    def __repr__(self):
        return f"<ChannelPlugin {self.__name__}>"

    @hookimpl
    def sbcore_register_functions(self):
        return self.functions.api_functions()

    @hookimpl
    def sbcore_register_settings(self):
        return self.settings

    @hookimpl
    def sbcore_register_routes(self, core):
        return [route(path, handler(core)) for path, handler in self.routes.items()]

    @hookimpl
    def sbcore_channel_send(self, ctx, conversation, message, attachments):
        if self.send is None:
            return None
        return self.send(ctx, conversation, message, attachments)

    @hookimpl
    def sbcore_register_commands(self):
        return self.commands

    @hookimpl
    def sbcore_register_models(self):
        return self.models

    @hookimpl
    def sbcore_register_migrations(self):
        return self.migrations


# --- inbound messages ---


@dataclass
class Contact:
    """The platform's user: ``external_id`` is its id on the platform; ``details`` are
    ``(slug, value, name)`` user details written when the user is created."""

    source: str
    external_id: str
    first_name: str = ""
    last_name: str = ""
    details: list = field(default_factory=list)


@dataclass
class Incoming:
    """One platform message, its media already downloaded (``attachments`` are
    ``[name, url]`` of files in the uploads folder)."""

    contact: Contact
    external_id: str
    text: str = ""
    attachments: list = field(default_factory=list)
    extra: str | None = None  # which chat / page / number of ours: the conversation's extra
    extra_2: str | None = None
    payload: dict | None = None


ID_MAX = 191  # the external_id column; a longer platform id is stored as its hash


def key(external_id):
    """A platform's id as stored: itself, or ``sha256:<hex>`` when longer than the column."""
    text = str(external_id)
    return text if len(text) <= ID_MAX else "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def is_stored(source, external_id):
    """Whether a platform message is already here (to skip a repeated delivery's
    downloads; ``receive`` alone decides, through the unique index)."""
    return ChannelMessage.select().where((ChannelMessage.source == source)
                                         & (ChannelMessage.external_id == key(external_id))).exists()


def message_id_of(source, external_id):
    row = (ChannelMessage.select(ChannelMessage.message)
           .where((ChannelMessage.source == source) & (ChannelMessage.external_id == key(external_id)))
           .first())
    return row.message_id if row else None


def user_of(source, external_id):
    row = ChannelUser.get_or_none((ChannelUser.source == source)
                                  & (ChannelUser.external_id == key(external_id)))
    return row.user_id if row else None


def external_user_id(source, user_id):
    """The platform's id of user ``user_id`` (the newest link), or None."""
    row = (ChannelUser.select(ChannelUser.external_id)
           .where((ChannelUser.source == source) & (ChannelUser.user == user_id))
           .order_by(ChannelUser.id.desc()).first())
    return row.external_id if row else None


def find_or_create_user(ctx, contact):
    user_id = user_of(contact.source, contact.external_id)
    if user_id is not None:
        return User.get_by_id(user_id)
    # names and details as the platform gives them, cut to what the columns hold
    user = U.create_user(ctx, first_name=str(contact.first_name or "")[:191] or None,
                         last_name=str(contact.last_name or "")[:191] or None, user_type="lead")
    U.set_details(user.id, [(slug, str(value)[:512], name) for slug, value, name in contact.details if value])
    if contact.details:
        U.reindex([user.id])
    # the unique index: a delivery racing us to create this user fails here, and runs again
    ChannelUser.create(source=contact.source, external_id=key(contact.external_id), user=user.id)
    return user


def locking(query):
    """``query`` as a locking read on MySQL and PostgreSQL (SQLite's single writer
    already serialises): it waits for, and then sees, what another delivery committed."""
    return query.for_update() if getattr(dbmod.database.obj, "for_update", False) else query


def find_or_open_conversation(ctx, user, source, extra=None, extra_2=None):
    """The user's newest conversation of ``source`` (and chat/page ``extra``) that is not
    in the trash, or a new one waiting for an agent. Two deliveries of one user wait
    for each other on the user's row, so they never open two conversations."""
    list(locking(User.select(User.id).where(User.id == user.id)))
    query = Conversation.select().where((Conversation.user == user.id) & (Conversation.source == source)
                                        & (Conversation.status_code != 4))
    if extra is not None:
        query = query.where(Conversation.extra == str(extra))
    conversation = locking(query.order_by(Conversation.id.desc()).limit(1)).first()
    if conversation is None:
        conversation = C.create_conversation(ctx, user.id, status_code=2, source=source,
                                             extra=None if extra is None else str(extra),
                                             extra_2=None if extra_2 is None else str(extra_2))
    return conversation


def store(ctx, incoming):
    """In the caller's transaction: claim the platform's message id, then write the
    message. A repeated id raises IntegrityError before anything is written."""
    source = incoming.contact.source
    claim = ChannelMessage.create(source=source, external_id=key(incoming.external_id), message=None)
    user = find_or_create_user(ctx, incoming.contact)
    conversation = find_or_open_conversation(ctx, user, source, incoming.extra, incoming.extra_2)
    attachments = C.check_attachments(incoming.attachments) if incoming.attachments else ""
    message = C.add_message(ctx, user, conversation, incoming.text or "", attachments,
                            C.check_payload(incoming.payload) if incoming.payload else "")
    ChannelMessage.update(message=message.id).where(ChannelMessage.id == claim.id).execute()
    return message


def receive(core, incoming):
    """Store ``incoming`` once: answers the new message's id, or None when the platform
    delivered it before (its downloaded files are then removed)."""
    source, external_id = incoming.contact.source, str(incoming.external_id)
    for attempt in range(RECEIVE_ATTEMPTS):
        try:
            return core.run(lambda ctx: store(ctx, incoming).id)
        except IntegrityError:
            with dbmod.connection():
                duplicate = is_stored(source, external_id)
            if duplicate or attempt == RECEIVE_ATTEMPTS - 1:
                uploads.remove_urls(core, [url for _, url in incoming.attachments])
                if duplicate:
                    return None
                raise
        except Exception:
            uploads.remove_urls(core, [url for _, url in incoming.attachments])
            raise


# --- media ---


class MediaError(Exception):
    """A platform's file that could not be brought in (refused, too large, not allowed)."""


def extension_for(name, mime_type):
    extension = os.path.splitext(name or "")[1].lstrip(".").lower()
    if not extension and mime_type:
        guessed = mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ""
        extension = {"jpe": "jpg", "jpeg": "jpg"}.get(guessed.lstrip("."), guessed.lstrip("."))
    return extension


def download(core, url, name="", mime_type="", headers=None, session=None):
    """Fetch a platform's file into ``uploads/channels/`` (through the outbound guard,
    at most MEDIA_MAX_BYTES, only allowed extensions) and answer ``[name, url]``.
    Raises MediaError. A network call: never inside a transaction."""
    from .functions.utilities import extension_allowed
    try:
        response = outbound.request(core.config, "GET", url, headers=headers or {}, stream=True,
                                    session=session)
    except (outbound.OutboundRefused, requests.RequestException) as error:
        raise MediaError(f"the file could not be fetched: {error}")
    with response:
        if not 200 <= response.status_code < 300:
            raise MediaError(f"the file could not be fetched: HTTP {response.status_code}")
        mime_type = mime_type or response.headers.get("Content-Type", "")
        extension = extension_for(name, mime_type)
        if not extension_allowed(core.settings.get("upload-allowed-extensions"), extension or "-"):
            raise MediaError(f"files of type '{extension or mime_type}' are not allowed")
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
            size = 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > MEDIA_MAX_BYTES:
                        raise MediaError(f"the file is larger than {MEDIA_MAX_BYTES} bytes")
                    spool.write(chunk)
            except (MediaError, requests.RequestException) as error:
                raise MediaError(str(error))
            spool.seek(0)
            key = uploads.store(core, MEDIA_FOLDER, f".{extension}", spool)
    base = os.path.basename(name) if name else f"{mime_type.split('/')[0] or 'file'}.{extension}"
    return [base, core.config.upload_url(key)]


# --- outbound ---


def routes(sender, conversation):
    """Whether send-message hands this message to a channel: an agent's or the bot's
    reply in a conversation that came from a platform."""
    return bool(conversation.source) and conversation.source != "tk" and (
        sender.user_type in AGENT_TYPES or sender.user_type == "bot")


def send_after_commit(ctx, sender, conversation, message):
    """send-message: once the message is committed, send it through the channel."""
    if routes(sender, conversation):
        ctx.after_commit(lambda: deliver(ctx.core, conversation, message))


def channel_send(ctx, conversation, message, attachments):
    """``sbcore_channel_send`` with every failure an ApiError: a plugin's bug or an SDK's
    own exception is the service's 502 (logged), never a 500."""
    try:
        return ctx.hook.sbcore_channel_send(ctx=ctx, conversation=conversation, message=message,
                                            attachments=attachments)
    except ApiError:
        raise
    except Exception as error:
        log.exception("sending through %s failed (conversation %s)", conversation.source, conversation.id)
        service = SOURCE_NAMES.get(conversation.source, conversation.source)
        raise ApiError(f"{service}-error", f"sending through {service} failed: {type(error).__name__}",
                       502) from None


def deliver(core, conversation, message):
    """Send a stored message through ``sbcore_channel_send``; the platform's message ids
    it answers are recorded (so that echoes and status updates find the message), a
    failure is written into the message's payload (``delivery``) and raised."""
    ctx = core.context()
    text = translated(ctx, conversation, message)
    try:
        result = channel_send(ctx, conversation, text, C.attachment_list(message.attachments))
    except ApiError as error:
        mark_failed(core, message.id, error.code, error.message)
        raise
    if isinstance(result, (list, tuple)) and result:
        record_sent(core, conversation.source, message.id, result)
    return result


def user_language(user_id):
    """The user's language code (detail ``language``, else ``browser_language``), or None."""
    for slug in ("language", "browser_language"):
        value = (U.detail_value(user_id, slug) or "").strip().lower().replace("_", "-")
        if value:
            return value
    return None


def translated(ctx, conversation, message):
    """With ``translate-replies`` on, the reply in its user's language through
    ``sbcore_translate``, written into the message's payload (``translation``,
    ``translation-language``) beside the agent's own text; the text as written when
    the setting is off, the language unknown, no plugin translates or the translation
    fails (logged: the reply still goes out)."""
    text = message.message
    if not text.strip() or not ctx.settings.get("translate-replies"):
        return text
    language = user_language(conversation.user_id)
    if language is None:
        return text
    try:
        result = ctx.hook.sbcore_translate(ctx=ctx, strings=[text], language_code=language)
    except ApiError as error:
        log.warning("message %s sent untranslated: %s", message.id, error.message)
        return text
    if not result or not isinstance(result[0], str) or not result[0].strip() or result[0] == text:
        return text

    def write(ctx):
        row = Message.get_or_none(Message.id == message.id)
        if row is not None:
            payload = payload_of(row)
            payload.update({"translation": result[0], "translation-language": language})
            C.edit_message(ctx, row, payload=json.dumps(payload))
    ctx.core.run(write)
    return result[0]


def payload_of(row):
    try:
        payload = json.loads(row.payload) if row.payload else {}
    except ValueError:
        payload = {}
    return payload if isinstance(payload, dict) else {}


def mark_failed(core, message_id, code, text):
    """Write ``{"delivery": {"status": "failed", "code", "error"}}`` into a message's
    payload, in a transaction of its own."""
    def write(ctx):
        row = Message.get_or_none(Message.id == message_id)
        if row is None:
            return
        payload = payload_of(row)
        payload["delivery"] = {"status": "failed", "code": code, "error": text}
        C.edit_message(ctx, row, payload=json.dumps(payload))
    core.run(write)


def record_sent(core, source, message_id, external_ids):
    def write(ctx):
        for external_id in external_ids:
            ChannelMessage.insert(source=source, external_id=key(external_id),
                                  message=message_id).on_conflict_ignore().execute()
    core.run(write)


def mark_read(core, source, external_id):
    """A platform says the user read our message: its status becomes read (2)."""
    def write(ctx):
        message_id = message_id_of(source, external_id)
        if message_id is not None:
            Message.update(status_code=2).where(Message.id == message_id).execute()
        return message_id
    return core.run(write)


# --- replays of signed inbound requests ---


def fresh(timestamp, window=REPLAY_WINDOW, now=None):
    """Whether ``timestamp`` (epoch seconds, as text) is within ``window`` seconds of now."""
    text = str(timestamp or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return False
    return abs((time.time() if now is None else now) - int(text)) <= window


def _nonce_key(source, nonce):
    return f"nonce:{source}:{hashlib.sha256(str(nonce).encode()).hexdigest()[:40]}"


def nonce_used(source, nonce):
    """Whether ``nonce`` of ``source`` was remembered within REPLAY_WINDOW."""
    from .models import RateHit
    since = dbmod.utcnow() - timedelta(seconds=REPLAY_WINDOW)
    return RateHit.select().where((RateHit.key == _nonce_key(source, nonce))
                                  & (RateHit.time > since)).exists()


def remember_nonce(core, source, nonce):
    """Remember ``nonce`` (in a transaction of its own) and forget those past the window."""
    from .models import RateHit
    key, now = _nonce_key(source, nonce), dbmod.utcnow()
    prefix = f"nonce:{source}:"

    def write():
        RateHit.delete().where(RateHit.key.startswith(prefix)
                               & (RateHit.time <= now - timedelta(seconds=REPLAY_WINDOW))).execute()
        RateHit.create(key=key, time=now)
    dbmod.in_transaction_retrying(core.database, write)
