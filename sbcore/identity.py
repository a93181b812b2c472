"""Identities are not claimed by typing them.

- A user's email has a state (``User.email_status``): ``""`` when staff or an import set it,
  ``"claimed"`` when a visitor typed it in the widget, ``"verified"`` once mail from it
  arrived through email piping, an agent verified it (``verify-email``) or its owner
  followed the confirmation link (the visitor function ``send-email-confirmation``).
- Email piping never files mail under a claimed, unverified email: the mail's sender
  becomes a user of its own that holds the address (verified), and the claimant keeps its
  account without it (its claim stays in the detail ``claimed-email``). An agent who
  finds that both are the same person merges them with ``merge-users``.
- Visitors cannot set reserved details: those of ``RESERVED_DETAILS`` and those a plugin
  declares with ``sbcore_reserved_details``."""

from itsdangerous import BadSignature, URLSafeTimedSerializer

from . import users as U
from .errors import ApiError
from .hooks import hookimpl
from .models import Conversation, Message, User, UserDetail
from .registry import AGENT, FunctionSet

functions = FunctionSet()
sbcore_register_functions = functions.hook()

CLAIMED, VERIFIED = "claimed", "verified"
# details that only the server sets: plugins read identity from them
RESERVED_DETAILS = frozenset({"wp-id", "woocommerce_session_key", "token", "user_type"})
CLAIMED_EMAIL_DETAIL = "claimed-email"
CONFIRMATION_DAYS = 3


@hookimpl
def sbcore_reserved_details():
    return sorted(RESERVED_DETAILS)


def reserved_details(ctx):
    """The core's reserved detail slugs and every plugin's."""
    reserved = set()
    for slugs in ctx.hook.sbcore_reserved_details():
        reserved.update(slugs or ())
    return reserved


def refuse_reserved(ctx, argument, extra):
    """403 ``not-allowed`` when a visitor's ``extra`` names a reserved detail."""
    if not isinstance(extra, dict):
        return
    reserved = reserved_details(ctx)
    for slug in extra:
        if str(slug).strip().lower() in reserved:
            raise ApiError("not-allowed", f"A visitor cannot set the detail '{slug}' ({argument}).",
                           403)


def set_status(user_id, status):
    User.update(email_status=status).where(User.id == user_id).execute()


def claim(user_id):
    """The email of ``user_id`` was typed in the widget: claimed until verified."""
    user = User.get_or_none(User.id == user_id)
    if user is not None and user.email:
        set_status(user_id, CLAIMED)


def sender_for_piping(ctx, address):
    """The user that mail from ``address`` belongs to, or None when piping should open a
    new one: a claimed (unverified) email set through the widget gives its address up to
    the mail's sender, and the claimant keeps the claim as a detail. A user found is
    verified by the mail."""
    user = User.get_or_none(User.email == address)
    if user is None:
        return None
    if user.email_status == CLAIMED and not user.is_agent:
        User.update(email=None, email_status="").where(User.id == user.id).execute()
        U.set_details(user.id, [(CLAIMED_EMAIL_DETAIL, address, "Claimed email (unverified)")])
        U.reindex([user.id])
        return None
    if user.email_status != VERIFIED:
        set_status(user.id, VERIFIED)
    return user


# --- confirmation links ---


def _serializer(ctx):
    return URLSafeTimedSerializer(ctx.secret_key, salt="sbcore-email-confirmation")


def confirmation_code(ctx, user):
    return _serializer(ctx).dumps([user.id, user.email])


def confirm(ctx, code):
    """Verify the email a confirmation code was sent to, if it is still the user's."""
    try:
        user_id, email = _serializer(ctx).loads(code, max_age=CONFIRMATION_DAYS * 86400)
    except (BadSignature, ValueError, TypeError):
        return None
    user = User.get_or_none(User.id == user_id) if isinstance(user_id, int) else None
    if user is None or not user.email or user.email != email:
        return None
    set_status(user.id, VERIFIED)
    return user


def send_confirmation(ctx, user):
    """Email ``user`` a link that verifies its email (sent after the commit)."""
    from . import mail
    if not user.email:
        raise ApiError("no-email", "Set an email first.", 400)
    if user.email_status == VERIFIED:
        return False
    mail.require_configured(ctx, "Sending a confirmation link")
    link = f"{ctx.config.public_url}/widget/confirm-email?code={confirmation_code(ctx, user)}"
    address = user.email
    ctx.after_commit(lambda: mail.send(
        ctx, address, "Confirm your email", "email", heading="Confirm your email",
        message=f"Follow this link to confirm that this email is yours: {link}"))
    return True


# --- Web API ---


@functions("verify-email", role=AGENT)
def verify_email(ctx, user_id: int):
    """An agent vouches for a user's email (for example after a call)."""
    user = U.require_user(user_id)
    if not user.email:
        raise ApiError("no-email", f"The user {user_id} has no email.", 400)
    set_status(user.id, VERIFIED)
    return True


@functions("merge-users", role=AGENT)
def merge_users(ctx, user_id: int, into_user_id: int):
    """Move the conversations and messages of ``user_id`` to ``into_user_id``, copy the
    details and email it lacks, and delete ``user_id`` (the same person twice, such as
    a widget visitor and the user email piping opened)."""
    if user_id == into_user_id:
        raise ApiError("invalid-argument", "A user cannot be merged into itself.", 400)
    source, target = U.require_user(user_id), U.require_user(into_user_id)
    if source.is_agent or target.is_agent or "bot" in (source.user_type, target.user_type):
        raise ApiError("not-allowed", "Only customers are merged.", 403)
    Conversation.update(user=target.id).where(Conversation.user == source.id).execute()
    Message.update(user=target.id).where(Message.user == source.id).execute()
    have = {d.slug for d in UserDetail.select(UserDetail.slug).where(UserDetail.user == target.id)}
    U.set_details(target.id, [(d.slug, d.value, d.name) for d in
                              UserDetail.select().where(UserDetail.user == source.id)
                              if d.slug not in have])
    email, status = source.email, source.email_status
    U.delete_users(ctx, [source.id])
    if email and not target.email:
        User.update(email=email, email_status=status).where(User.id == target.id).execute()
    U.reindex([target.id])
    ctx.hook.sbcore_on_user_updated(ctx=ctx, user=U.get_user(target.id))
    return True
