"""Email functions: send-email, send-custom-email and email-piping.

send-email and send-custom-email answer the SMTP server's verdict, so they send during
the call, holding no transaction (``transaction=False``); the email-sent webhook is
written in a short transaction once the server took the email."""

from .. import conversations as C
from .. import db as dbmod
from .. import mail, piping
from ..errors import ApiError
from ..models import User
from ..notifications import full_name, sent_data
from ..registry import FunctionSet
from ..registry import Attachments

functions = FunctionSet()
sbcore_register_functions = functions.hook()


def emit_sent(ctx, recipient_id, message, attachments):
    dbmod.in_transaction_retrying(ctx.core.database, lambda: ctx.emit(
        "email-sent", sent_data(recipient_id, message, attachments)))


@functions("send-email", transaction=False)
def send_email(ctx, recipient_id: int | None = None, message: str = "",
               attachments: Attachments | None = None, sender_id: int | None = None):
    """The notification email to an existing user, from ``sender_id`` (default: the
    caller)."""
    if recipient_id is None or not message.strip():
        raise ApiError("missing-user-id-or-message", "send-email needs a recipient_id and a message.", 400)
    stored = C.attachment_list(C.check_attachments(attachments))
    sender_id = sender_id if sender_id is not None else ctx.caller_id
    recipient = User.get_or_none(User.id == recipient_id)
    sender = User.get_or_none(User.id == sender_id) if sender_id is not None else None
    if recipient is None or sender is None:
        raise ApiError("user-or-sender-not-found", f"No user has the ID "
                       f"{recipient_id if recipient is None else sender_id}.", 404)
    if not recipient.email:
        raise ApiError("user-email-not-found", f"The user {recipient.id} has no email address.", 400)
    mail.require_configured(ctx, "send-email")
    subject = (f"New reply from {full_name(sender)}" if sender.is_agent
               else f"New message from {full_name(sender)}")
    mail.send(ctx, recipient.email, subject, "email", heading=subject, message=message,
              attachments=stored, footer="")
    emit_sent(ctx, recipient.id, message, stored)
    return True


@functions("send-custom-email", transaction=False)
def send_custom_email(ctx, to: str, subject: str, message: str, sender_suffix: str = ""):
    address = mail.check_address(to)
    if not subject.strip():
        raise ApiError("missing-argument", "send-custom-email needs a subject.", 400)
    if not message.strip():
        raise ApiError("missing-argument", "send-custom-email needs a message.", 400)
    mail.require_configured(ctx, "send-custom-email")
    mail.send(ctx, address, subject, "email", sender_suffix=sender_suffix, heading="",
              message=message, attachments=[], footer="")
    user = User.get_or_none(User.email == address.lower())
    emit_sent(ctx, user.id if user else None, message, [])
    return True


@functions("email-piping", transaction=False)
def email_piping(ctx, force: bool = False):
    """Read the IMAP mailbox now (at most once a minute unless ``force``); False when
    the last run was less than a minute ago. Each email is stored in its own transaction."""
    return piping.run(ctx, force)
