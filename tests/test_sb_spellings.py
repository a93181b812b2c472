"""Arguments and function names in either dialect: the reference's and Support Board
3.8's (as a 3.8 client sends them: forms with JSON strings, PHP brackets, JSON bodies)."""

from urllib.parse import urlencode

import pytest

from sbcore.plugins import get_plugin_manager
from sbcore.registry import collect_functions

SB = "/include/api.php"


def form(api, path, pairs):
    """A form body with repeated keys, as PHP's http_build_query sends arrays."""
    body = urlencode([("token", api.token)] + pairs)
    return api.client.simulate_post(path, body=body,
                                    content_type="application/x-www-form-urlencoded").json


@pytest.mark.parametrize("path", [SB, "/api"])
def test_get_users_takes_user_ids_and_3_8s_users_id(api, make_user, path):
    a, b = make_user(), make_user()
    make_user()
    for body in ({"function": "get-users", "user_ids": [a, b]},
                 {"function": "get-users", "users_id": [a, b]}):
        rows = api.client.simulate_post(path, json=dict(body, token=api.token)).json["response"]
        assert sorted(int(r["id"]) for r in rows) == sorted([a, b])
    rows = form(api, path, [("function", "get-users"), ("users_id[]", str(a)),
                            ("users_id[]", str(b))])["response"]
    assert sorted(int(r["id"]) for r in rows) == sorted([a, b])


def test_csv_users_takes_users_id(api, make_user, core):
    a = make_user(first_name="Only")
    make_user(first_name="Other")
    url = api.ok("csv-users", users_id=[a])
    relative = url.split("/uploads/", 1)[1]
    import os
    with open(os.path.join(core.config.uploads_dir, relative), encoding="utf-8") as handle:
        text = handle.read()
    assert "Only" in text and "Other" not in text


def test_get_external_setting_takes_name_or_setting(api):
    api.ok("save-external-setting", name="my-key", value="abc")
    assert api.ok("get-external-setting", name="my-key") == "abc"
    assert api.call("get-external-setting", path=SB, setting="my-key").response == "abc"


@pytest.mark.parametrize("fields", [
    {"settings": {"conversation_id": "$c", "rating": 1}},            # the reference's wrapper
    {"settings": {"settings": {"conversation_id": "$c", "rating": 1}}},
    {"conversation_id": "$c", "user_id": "$u", "rating": 1},          # 3.8's flat arguments
])
def test_set_rating_takes_the_wrapper_or_flat_arguments(api, visitor, agent, open_conversation,
                                                        fields):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=agent, conversation_id=cid, message="hello")

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return {"$c": cid, "$u": visitor}.get(value, value)
    assert api.call("set-rating", path=SB, **fill(fields)).response is True
    assert api.ok("get-rating", user_id=agent) == [1, 0]


def test_set_rating_takes_3_8s_minus_one(api, visitor, agent, open_conversation):
    cid = open_conversation(visitor)
    api.ok("send-message", user_id=agent, conversation_id=cid, message="hello")
    assert api.call("set-rating", path=SB, conversation_id=cid, user_id=visitor,
                    rating=-1).response is True
    assert api.ok("get-rating", user_id=agent) == [0, 1]


def test_check_assignment_and_user_conversations_take_3_8s_names(api, visitor, agent,
                                                                  open_conversation):
    a = open_conversation(visitor, department=2)
    b = open_conversation(visitor)
    assert api.call("check-conversations-assignment", path=SB, conversation_ids=[a, b],
                    department=2).response == [a]
    api.ok("send-message", user_id=agent, conversation_id=b, message="x")
    rows = api.call("get-user-conversations", path=SB, user_id=agent, agent=True).response
    assert [r["conversation_id"] for r in rows] == [str(b)]


def test_automations_is_sent_takes_automation_id(api, visitor):
    result = api.client.simulate_post(SB, json={"token": api.token, "function": "automations-is-sent",
                                                "user_id": visitor, "automation_id": {"id": "7"}})
    assert result.json == {"success": True, "response": False}


def test_upload_path_reads_3_8s_email_switch(api):
    assert api.ok("upload-path", email=True).startswith("http://testserver/uploads")
    assert api.ok("upload-path", url=True).startswith("http://testserver/uploads")
    assert not api.ok("upload-path").startswith("http")


def test_3_8s_function_names_are_aliases():
    functions = collect_functions(get_plugin_manager(load_entrypoints=True))
    for alias, name in (("save-article", "save-articles"), ("wp-sync", "wp-synch"),
                        ("google-get-token", "dialogflow-get-token"),
                        ("google-translate-detection-update-user",
                         "google-language-detection-update-user")):
        assert functions[alias] is functions[name], alias


def test_an_alias_answers_over_include_api(api):
    result = api.client.simulate_post(SB, json={"token": api.token, "function": "save-article",
                                                "article": {"title": "Hello", "content": "x"}})
    assert result.status_code == 200 and isinstance(result.json["response"], int)


def test_php_bracket_objects_reach_the_function(api):
    answer = form(api, SB, [("function", "add-user"), ("first_name", "Br"),
                            ("extra[phone][]", "+39"), ("extra[phone][]", "Phone")])
    user = api.ok("get-user", user_id=answer["response"], extra=True)
    assert user["details"] == [{"slug": "phone", "name": "Phone", "value": "+39"}]
