"""Support Board 3.8's settings catalogue: every id known to get-settings and
save-settings with its type; a value of the wrong type is refused."""

import json
import os

import pytest

HERE = os.path.dirname(__file__)


def catalogue():
    with open(os.path.join(HERE, "reference", "support_board_settings_ids.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_every_support_board_setting_is_listed_with_a_type(api):
    ids = catalogue()
    assert len(ids) == 140
    settings = api.ok("get-settings")
    missing = sorted(set(ids) - set(settings))
    assert not missing, missing
    assert settings["chat-manual-init"] == [False, "checkbox"]
    assert settings["agents-menu"] == [{}, "multi-input"]
    assert settings["supervisors"] == [[], "repeater"]
    assert settings["admin-title"] == ["", "text"]


def test_saved_values_read_back_bare_or_as_pairs(api):
    sb = "/include/api.php"
    body = {"token": api.token, "function": "save-settings", "setting": "x", "settings": {
        "chat-manual-init": [True, "checkbox"], "admin-title": "Help desk",
        "agents-menu": [{"agents-menu-active": [True, "checkbox"],
                         "agents-menu-title": ["Agents", "text"]}, "multi-input"],
        "rating-message": {"rating-active": True, "rating-email": "3"},
        "tags": [[{"tag-name": "vip", "tag-color": "red"}], "repeater"],
        "timetable": [[["09:00", "17:00"]], [], [], [], [], [], []]}}
    result = api.client.simulate_post(sb, json=body)
    assert result.json == {"success": True, "response": True}, result.json
    assert api.ok("get-setting", setting="chat-manual-init") is True
    assert api.ok("get-setting", setting="admin-title") == "Help desk"
    assert api.ok("get-setting", setting="agents-menu") == {"agents-menu-active": True,
                                                            "agents-menu-title": "Agents"}
    assert api.ok("get-multi-setting", id="rating-message", sub_id="rating-email") == "3"
    assert api.ok("get-setting", setting="tags") == [{"tag-name": "vip", "tag-color": "red"}]
    settings = api.ok("get-settings")
    assert settings["chat-manual-init"] == [True, "checkbox"]
    # the save merged: sbcore's own settings kept their values
    assert settings["color-1"][0] == "#028be5"


@pytest.mark.parametrize("settings", [
    {"chat-manual-init": "yes"},                       # checkbox takes true/false
    {"admin-title": 5},                                # text takes a string
    {"agents-menu": {"agents-menu-active": "on"}},      # a sub-field's type
    {"agents-menu": {"no-such-field": True}},          # an unknown sub-field
    {"supervisors": "nope"},                           # a repeater is an array
    {"rating-message": {"rating-email": "many"}},      # a number sub-field
    {"no-such-setting-anywhere": True},                # in neither catalogue
])
def test_wrong_types_are_refused_and_change_nothing(api, settings, snapshot):
    before = snapshot()
    result = api.call("save-settings", settings=settings)
    assert result.status == 400
    assert result.json["response"] in ("invalid-setting-value", "unknown-setting")
    assert snapshot() == before


def test_settings_of_both_take_3_8s_sub_fields(api):
    api.ok("save-settings", settings={"sms": {"sms-active-agents": True, "sms-user": "AC1"},
                                      "push-notifications": {"push-notifications-sw-url": "x"}})
    assert api.ok("get-multi-setting", id="sms", sub_id="sms-active-agents") is True
    assert api.ok("get-multi-setting", id="sms", sub_id="sms-user") == "AC1"
    # sbcore's own checks still hold on its keys
    assert api.call("save-settings", settings={"sms": {"sms-active": "x"}}).status == 400


def test_save_settings_with_or_without_3_8s_setting_field(api):
    for path in ("/include/api.php", "/api"):
        without = api.call("save-settings", path=path, settings={"admin-title": "A"})
        with_it = api.call("save-settings", path=path, setting="", settings={"admin-title": "B"})
        assert without.response is True and with_it.response is True
    assert api.ok("get-setting", setting="admin-title") == "B"


def test_3_8s_bot_message_settings_drive_execute_bot_message(api, visitor, open_conversation):
    cid = open_conversation(visitor)
    assert api.ok("execute-bot-message", name="welcome", conversation_id=cid) is False
    api.ok("save-settings", settings={"welcome-message": {"welcome-active": True,
                                                          "welcome-msg": "Hi from 3.8"}})
    answer = api.ok("execute-bot-message", name="welcome", conversation_id=cid)
    assert answer["message"] == "Hi from 3.8"
    api.ok("save-settings", settings={"chat-timetable": {"chat-timetable-active": True,
                                                         "chat-timetable-msg": "We are away"}})
    assert api.ok("execute-bot-message", name="offline", conversation_id=cid)["message"] == "We are away"


def test_3_8s_transcript_setting_picks_the_file_type(api, visitor, open_conversation):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=visitor, conversation_id=cid, message="hello")
    assert api.ok("transcript", conversation_id=cid).endswith(".csv")
    api.ok("save-settings", settings={"transcript": {"transcript-type": "txt"}})
    assert api.ok("transcript", conversation_id=cid).endswith(".txt")


def test_3_8s_email_server_setting_configures_smtp(api, core):
    from sbcore import db as dbmod
    from sbcore import mail
    api.ok("save-settings", settings={"email-server": {
        "email-server-host": "smtp.example.com", "email-server-user": "me@example.com",
        "email-server-password": "pw", "email-server-port": "2525",
        "email-server-from": "help@example.com", "email-sender-name": "Help"}})
    with dbmod.connection():
        ctx = core.context()
        assert mail.configured(ctx)
        settings = mail.smtp_settings(ctx)
    assert (settings["host"], settings["port"], settings["username"], settings["sender"],
            settings["sender_name"]) == ("smtp.example.com", 2525, "me@example.com",
                                         "help@example.com", "Help")
