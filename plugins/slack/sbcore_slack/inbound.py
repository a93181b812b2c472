"""The Events API endpoint (``/channels/slack/events``): what agents write in a
conversation's Slack channel comes back into the conversation as theirs.

Every request must carry Slack's signature (``X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:{X-Slack-Request-Timestamp}:{body}" with the signing secret>``, at most five minutes
old), checked in constant time by the SDK's ``SignatureVerifier``; any other request
answers 403 and changes nothing. ``url_verification`` answers its challenge. A message
is stored once (its channel and ``ts`` are a unique key, so Slack's retries store
nothing); the bot's own posts, edits, joins and other subtypes are acknowledged only."""

import logging
import re
from html import unescape

from peewee import IntegrityError
from slack_sdk.signature import SignatureVerifier

from sbcore import ApiError, channels
from sbcore import conversations as C
from sbcore.functions.messages import send as send_message
from sbcore.models import ChannelMessage
from sbcore.uploads import remove_urls

from . import functions as F
from .models import SlackChannel

log = logging.getLogger("sbcore.slack")
STORED_SUBTYPES = (None, "file_share", "thread_broadcast")  # a person's message, with or without files
LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def verified(secret, request):
    """Slack's v0 signature of the raw body within the five-minute window."""
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    if not secret or not isinstance(timestamp, str) or not timestamp.strip().isdecimal() or not signature:
        return False
    try:
        return SignatureVerifier(secret).is_valid(request.body, timestamp.strip(), signature)
    except (ValueError, TypeError):  # a body that is not UTF-8, a signature that is not ASCII
        return False


def plain_text(text):
    """Slack's markup as the inbox shows it: ``<url|label>`` as ``label (url)``, the three
    escaped characters back."""
    def link(match):
        url, label = match.group(1), match.group(2)
        if url.startswith("mailto:"):
            return label or url[len("mailto:"):]
        return f"{label} ({url})" if label and label != url else url
    return unescape(LINK.sub(link, text)) if "&" in text or "<" in text else text


class Events:
    """``POST /channels/slack/events``."""

    def __init__(self, core):
        self.core = core

    def post(self, request):
        options = self.core.settings.options("slack")
        if not verified(str(options["slack-signing-secret"] or ""), request):
            return channels.Answer(403, "verification failed")
        body = request.json()
        if body.get("type") == "url_verification":
            return channels.Answer(200, str(body.get("challenge", "")), "text/plain")
        event = body.get("event")
        if body.get("type") == "event_callback" and isinstance(event, dict) and event.get("type") == "message":
            self.receive(event, body)
        return channels.Answer(200, "ok")

    def receive(self, event, body):
        user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
        if event.get("subtype") not in STORED_SUBTYPES or event.get("bot_id") or event.get("hidden"):
            return
        if not all(isinstance(v, str) and v for v in (user, channel, ts)):
            return
        bots = {a.get("user_id") for a in body.get("authorizations") or [] if isinstance(a, dict) and a.get("is_bot")}
        if user in bots:
            return
        mapping = SlackChannel.get_or_none(SlackChannel.channel == channel)
        external_id = f"{channel}:{ts}"[:191]
        if mapping is None or channels.is_stored(F.SOURCE, external_id):
            return  # not a conversation's channel, or delivered before
        try:
            slack = F.api(self.core.context())
            agent = F.agent_of(self.core.context(), slack, user)
        except ApiError as error:
            log.warning("Slack message %s not stored: %s", external_id, error.message)
            return
        if agent is None:
            log.warning("Slack message %s not stored: the Slack user %s is no agent (link them in "
                        "slack-agents or give them the agent's email)", external_id, user)
            return
        text = plain_text(str(event.get("text") or ""))
        attachments, payload = self.files(slack, event.get("files"))
        if not text.strip() and not attachments:
            return
        self.store(mapping, agent, external_id, text, attachments, payload)

    def files(self, slack, files):
        """Download the message's files (with the bot token) into the uploads folder."""
        attachments, errors = [], []
        for item in files if isinstance(files, list) else []:
            url = isinstance(item, dict) and (item.get("url_private_download") or item.get("url_private"))
            if not url:
                continue
            try:
                attachments.append(channels.download(self.core, url, name=str(item.get("name") or ""),
                                                     mime_type=str(item.get("mimetype") or ""),
                                                     headers={"Authorization": f"Bearer {slack.token}"}))
            except channels.MediaError as error:
                log.warning("Slack file %s not stored: %s", item.get("id"), error)
                errors.append(str(error))
        return attachments, ({"media_error": "; ".join(errors)} if errors else None)

    def store(self, mapping, agent, external_id, text, attachments, payload):
        def write(ctx):
            claim = ChannelMessage.create(source=F.SOURCE, external_id=external_id, message=None)
            conversation_id = mapping.conversation_id or F.newest_conversation(mapping.user_id)
            if conversation_id is None:
                conversation_id = C.create_conversation(ctx, mapping.user_id, status_code=1).id
                SlackChannel.update(conversation=conversation_id).where(SlackChannel.id == mapping.id).execute()
            message = send_message(ctx, agent.id, conversation_id, text, attachments, payload, None)
            ChannelMessage.update(message=message.id).where(ChannelMessage.id == claim.id).execute()
            return message.id
        try:
            return self.core.run(write)
        except IntegrityError:  # Slack delivered it again meanwhile
            remove_urls(self.core, [url for _, url in attachments])
            return None
        except ApiError as error:  # stored; a platform (WhatsApp …) refused the reply
            log.warning("Slack message %s: %s", external_id, error.message)
            return None

