"""Identities are not claimed by typing them (issue 15): email states, email piping and
claimed emails, reserved details, staff in the widget, login timing."""

from email.message import EmailMessage

import pytest
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore import hookimpl, identity, piping
from sbcore.models import Conversation, Message, User, UserDetail


def mail_from(address, text="Hello, it is me.", subject="Question"):
    message = EmailMessage()
    message["From"] = address
    message["To"] = "help@example.com"
    message["Subject"] = subject
    message.set_content(text)
    return message.as_bytes()


def pipe(core, raw):
    return core.run(lambda ctx: piping.store(ctx, raw))


def status_of(user_id):
    with dbmod.connection():
        return User.get_by_id(user_id).email_status


def test_an_email_typed_in_the_widget_is_claimed_and_piping_opens_a_separate_user(core, widget):
    claimant = widget.register(first_name="Mallory", email="ceo@example.com", password="password-1")
    assert status_of(claimant["id"]) == identity.CLAIMED
    message = pipe(core, mail_from("The CEO <ceo@example.com>", "My private invoice question"))
    with dbmod.connection():
        owner = User.get(User.email == "ceo@example.com")
        assert owner.id != int(claimant["id"]) and owner.email_status == identity.VERIFIED
        assert Message.get_by_id(message.id).user_id == owner.id
        # the claimant's account keeps nothing of the owner's mail, and its claim as a detail
        mine = Conversation.select().where(Conversation.user == claimant["id"])
        assert not Message.select().where(Message.conversation.in_(mine)).exists()
        assert User.get_by_id(claimant["id"]).email is None
        assert UserDetail.get((UserDetail.user == claimant["id"]) & (
            UserDetail.slug == identity.CLAIMED_EMAIL_DETAIL)).value == "ceo@example.com"
    # the widget shows the claimant nothing of it
    assert widget.ok("get-user-conversations") in ([], False)


def test_an_email_set_by_staff_takes_piped_mail_and_is_verified_by_it(api, core):
    ann = api.ok("add-user", first_name="Ann", email="ann@example.com")
    assert status_of(ann) == ""
    message = pipe(core, mail_from("Ann <ann@example.com>"))
    assert message.user_id == int(ann)
    assert status_of(ann) == identity.VERIFIED


def test_an_agent_verifies_a_claimed_email_and_piping_then_attaches(api, core, widget):
    visitor = widget.register(first_name="Vic", email="vic@example.com")
    assert api.ok("verify-email", user_id=visitor["id"]) is True
    assert status_of(visitor["id"]) == identity.VERIFIED
    assert pipe(core, mail_from("vic@example.com")).user_id == int(visitor["id"])
    assert api.call("verify-email", user_id=99).status == 404


def test_changing_the_email_in_the_widget_claims_it_again(api, widget):
    visitor = widget.register(first_name="Vic", email="vic@example.com")
    api.ok("verify-email", user_id=visitor["id"])
    widget.ok("update-user", email="other@example.com")
    assert status_of(visitor["id"]) == identity.CLAIMED
    api.ok("update-user", user_id=visitor["id"], email="staff-set@example.com")
    assert status_of(visitor["id"]) == ""
    widget.ok("subscribe", email="subscribed@example.com")
    assert status_of(visitor["id"]) == identity.CLAIMED


def test_a_confirmation_link_verifies_the_email_it_was_sent_to(core, app, widget):
    visitor = widget.register(first_name="Vic", email="vic@example.com")
    with dbmod.connection():
        code = identity.confirmation_code(core.context(), User.get_by_id(visitor["id"]))
    client = TestClient(app)
    assert client.simulate_get("/widget/confirm-email", params={"code": code + "x"}).status_code == 400
    assert status_of(visitor["id"]) == identity.CLAIMED
    answer = client.simulate_get("/widget/confirm-email", params={"code": code})
    assert answer.status_code == 200 and "confirmed" in answer.text
    assert status_of(visitor["id"]) == identity.VERIFIED
    # a link for an email the user no longer has verifies nothing
    widget.ok("update-user", email="new@example.com")
    assert client.simulate_get("/widget/confirm-email", params={"code": code}).status_code == 400
    assert status_of(visitor["id"]) == identity.CLAIMED


def test_sending_a_confirmation_needs_smtp_and_an_email(widget):
    widget.register(first_name="NoMail")
    assert widget.call("send-email-confirmation").status == 400
    other = widget.new(first_name="Mail", email="m@example.com")
    answer = other.call("send-email-confirmation")
    assert answer.status == 400 and answer.json["response"] == "email-not-configured"


def test_an_agent_merges_the_piped_user_into_the_visitor(api, core, widget):
    claimant = widget.register(first_name="Real", email="real@example.com")
    conversation = widget.ok("new-conversation")["details"]["id"]
    widget.ok("send-message", conversation_id=conversation, message="from the widget")
    pipe(core, mail_from("real@example.com", "from my mailbox"))
    with dbmod.connection():
        piped = User.get(User.email == "real@example.com").id
    assert api.ok("merge-users", user_id=piped, into_user_id=claimant["id"]) is True
    with dbmod.connection():
        assert User.get_or_none(User.id == piped) is None
        merged = User.get_by_id(claimant["id"])
        assert merged.email == "real@example.com" and merged.email_status == identity.VERIFIED
        texts = {m.message for m in Message.select().join(Conversation).where(
            Conversation.user == merged.id)}
    assert texts >= {"from the widget", "from my mailbox"}
    assert api.call("merge-users", user_id=claimant["id"], into_user_id=claimant["id"]).status == 400


# --- reserved details ---


@pytest.mark.parametrize("slug", ["wp-id", "woocommerce_session_key", "token", "user_type", "WP-ID"])
def test_visitors_cannot_set_reserved_details(widget, slug):
    answer = widget.call("register", first_name="R", extra={slug: ["42", "x"]})
    assert answer.status == 403 and answer.json["response"] == "not-allowed"
    widget.register(first_name="R")
    for argument in ("extra", "settings_extra"):
        answer = widget.call("update-user", **{argument: {slug: "42"}})
        assert answer.status == 403, argument
    assert widget.ok("get-user", extra=True).get("details", []) == []


def test_a_registration_form_cannot_set_reserved_details(api, widget):
    widget.register(first_name="F")
    conversation = widget.ok("new-conversation")["details"]["id"]
    message = api.ok("send-message", user_id=1, conversation_id=conversation,
                     message="[registration]")["message-id"]
    answer = widget.call("rich-message", conversation_id=conversation, message_id=message,
                         type="registration", values={"first_name": "F", "wp-id": "1"})
    assert answer.status == 403


class LoyaltyPlugin:
    """A plugin that reads identity from a detail of its own."""

    @staticmethod
    @hookimpl
    def sbcore_reserved_details():
        return ["loyalty-id"]


@pytest.fixture
def sbcore_plugins():
    return [LoyaltyPlugin()]


def test_a_plugin_declares_reserved_details(widget, api):
    answer = widget.call("register", first_name="L", extra={"loyalty-id": "gold"})
    assert answer.status == 403
    user = widget.register(first_name="L", extra={"loyalty": "gold"})
    # staff may still set it
    assert api.ok("update-user", user_id=user["id"], extra={"loyalty-id": ["gold", "Loyalty"]})


# --- logins ---


def test_staff_cannot_sign_in_through_the_widget(api, widget):
    api.ok("add-user", first_name="Bea", email="bea@example.com", password="agent-password",
           user_type="agent")
    answer = widget.call("login", email="bea@example.com", password="agent-password")
    assert answer.ok and answer.response is False
    answer = widget.call("login", email="admin@example.com", password="admin-password")
    assert answer.ok and answer.response is False
    api.ok("add-user", first_name="Cy", email="cy@example.com", password="user-password")
    assert widget.ok("login", email="cy@example.com", password="user-password")["login-cookie"]


def test_an_unknown_email_costs_a_bcrypt_check_like_a_wrong_password(widget, api, monkeypatch):
    import bcrypt
    checks = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda password, hashed: checks.append(hashed)
                        or real(password, hashed))
    api.ok("add-user", first_name="Cy", email="cy@example.com", password="user-password")
    assert widget.ok("login", email="nobody@example.com", password="whatever-1") is False
    assert widget.ok("login", email="cy@example.com", password="wrong-password") is False
    assert len(checks) == 2
    # the dummy hash has the configured cost, as real hashes do
    assert checks[0].split(b"$")[2] == checks[1].split(b"$")[2]


def test_migration_20_adds_the_email_state_to_an_older_database(core):
    from sbcore.models import AppliedMigration
    with dbmod.connection():
        core.database.execute_sql("ALTER TABLE sb_users DROP COLUMN email_status")
        AppliedMigration.delete().where((AppliedMigration.app == "core")
                                        & (AppliedMigration.number == 20)).execute()
    core.init(report=lambda line: None)
    with dbmod.connection():
        assert "email_status" in {c.name for c in core.database.get_columns("sb_users")}
    core.init(report=lambda line: None)  # idempotent


def test_the_web_api_login_also_checks_a_dummy_hash_for_an_unknown_email(api, monkeypatch):
    import bcrypt
    checks = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda password, hashed: checks.append(hashed)
                        or real(password, hashed))
    api.ok("add-user", first_name="NoPw", email="nopw@example.com")  # no password at all
    assert api.ok("login", email="nobody@example.com", password="whatever-1") is False
    assert api.ok("login", email="nopw@example.com", password="whatever-1") is False
    assert len(checks) == 2
