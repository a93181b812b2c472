"""One scenario of calls over /include/api.php, the way a Support Board 3.8 client
makes them: each function called once with arguments that succeed. ``$name`` in an
argument is a value made by an earlier step (see ``prepare``)."""

import json

SB = "/include/api.php"


def prepare(api):
    """Rows the calls need; returns the ``$`` values."""
    values = {}
    values["admin"] = api.ok("get-users", user_types=["admin"])[0]["id"]
    values["agent"] = api.ok("add-user", first_name="Bruce", last_name="Peterson",
                             email="bruce@example.com", user_type="agent", password="agent-pw-1")
    values["user"] = api.ok("add-user", first_name="Don", last_name="John", email="don@example.com",
                            password="user-pw-12", extra={"phone": ["+123", "Phone"],
                                                          "language": ["it", "Language"]})
    values["lead"] = api.ok("add-user", first_name="Lea", user_type="lead")
    values["spare"] = api.ok("add-user", first_name="Spare", user_type="lead")
    values["spare2"] = api.ok("add-user", first_name="Spare2", user_type="lead")
    values["user_token"] = api.ok("get-user", user_id=values["user"])["token"]
    conversation = api.ok("new-conversation", user_id=values["user"], title="Hello", tags="a,b")
    values["conversation"] = conversation["details"]["id"]
    values["conversation2"] = api.ok("new-conversation", user_id=values["lead"])["details"]["id"]
    api.ok("send-message", user_id=values["lead"], conversation_id=values["conversation2"],
           message="Anyone there?")
    sent = api.ok("send-message", user_id=values["user"], conversation_id=values["conversation"],
                  message="Hi there")
    values["message"] = sent["id"]
    reply = api.ok("send-message", user_id=values["agent"], conversation_id=values["conversation"],
                   message="Hello, how can I help?")
    values["reply"] = reply["id"]
    values["note"] = api.ok("add-note", conversation_id=values["conversation"],
                            user_id=values["agent"], name="Bruce", message="A note")
    api.ok("add-note", conversation_id=values["conversation"], user_id=values["agent"],
           name="Bruce", message="Another note")
    api.ok("save-settings", settings={
        "departments": [{"department-id": "1", "department-name": "Sales",
                         "department-color": "red", "department-image": ""}],
        "saved-replies": [{"reply-name": "hi", "reply-text": "Hello!"}]})
    api.ok("save-articles-categories", categories=[{"id": "c1", "title": "General"}])
    api.ok("save-articles", articles=[{"title": "First article", "content": "Some text",
                                                   "categories": ["c1"]}])
    values["article"] = api.ok("get-articles")[0]["id"]
    values["now"] = "2000-01-01 00:00:00"
    return values


# function -> arguments (one call each); a list of several dicts is several calls
CALLS = {
    "get-user": {"user_id": "$user", "extra": "true"},
    "get-user-by": {"by": "email", "value": "don@example.com"},
    "get-user-extra": {"user_id": "$user"},
    "get-user-language": {"user_id": "$user"},
    "get-users": {"extra": "true"},
    "get-new-users": {"datetime": "0"},
    "get-online-users": {},
    "get-users-with-details": {"details": ["email", "phone"]},
    "get-agent": {"agent_id": "$agent"},
    "get-agents-ids": {},
    "get-user-from-conversation": {"conversation_id": "$conversation"},
    "agents-online": {},
    "search-users": {"search": "Don"},
    "add-user": {"first_name": "New", "email": "new@example.com"},
    "update-user": {"user_id": "$lead", "first_name": "Leah"},
    "update-user-to-lead": {"user_id": "$spare"},
    "is-online": {"user_id": "$user"},
    "current-url": {"user_id": "$user", "url": "https://example.com/page"},
    "count-users": {},
    "get-avatar": {"first_name": "Ann", "last_name": "#1"},
    "get-bot-id": {},
    "is-typing": {"user_id": "$user", "conversation_id": "$conversation"},
    "is-agent-typing": {"conversation_id": "$conversation"},
    "set-typing": {"user_id": "$user", "conversation_id": "$conversation"},
    "login": {"user_id": "$user", "user_token": "$user_token"},
    "logout": {},
    "update-bot": {"name": "Helper"},
    "csv-users": {},
    "get-conversation": {"conversation_id": "$conversation"},
    "get-conversations": {},
    "get-new-conversations": {"datetime": "0"},
    "get-user-conversations": {"user_id": "$user"},
    "get-new-user-conversations": {"user_id": "$user", "datetime": "0"},
    "search-conversations": {"search": "Hello"},
    "search-user-conversations": {"search": "Hello", "user_id": "$user"},
    "new-conversation": {"user_id": "$user"},
    "update-conversation-status": {"conversation_id": "$conversation2", "status_code": "1"},
    "update-conversation-department": {"conversation_id": "$conversation2", "department": "1"},
    "update-conversation-agent": {"conversation_id": "$conversation2", "agent_id": "$agent"},
    "set-rating": {"conversation_id": "$conversation", "user_id": "$user", "rating": "1"},
    "get-rating": {"user_id": "$agent"},
    "get-new-messages": {"user_id": "$user", "conversation_id": "$conversation",
                         "datetime": "$now"},
    "get-last-message": {"conversation_id": "$conversation"},
    "send-message": {"user_id": "$user", "conversation_id": "$conversation", "message": "More"},
    "update-message": {"message_id": "$message", "message": "Hi there!"},
    "delete-attachments": {"message_id": "$message"},
    "update-messages-status": {"conversation_id": "$conversation", "message_ids": ["$reply"]},
    "get-agents-in-conversation": {"conversation_id": "$conversation"},
    "transcript": {"conversation_id": "$conversation"},
    "count-conversations": {},
    "check-conversations-assignment": {"conversation_ids": ["$conversation"]},
    "get-last-agent-in-conversation": {"conversation_id": "$conversation"},
    "execute-bot-message": {"name": "offline", "conversation_id": "$conversation"},
    "get-setting": {"setting": "departments"},
    "get-multi-setting": {"id": "webhooks", "sub_id": "webhooks-active"},
    "get-external-setting": {"setting": "my-external"},
    "save-external-setting": {"name": "my-external", "value": "x"},
    "get-settings": {},
    "save-settings": {"setting": "", "settings": {"chat-manual-init": [False, "checkbox"]}},
    "export-settings": {},
    "get-departments": {},
    "saved-replies": {},
    "get-translation": {"language_code": "it"},
    "save-translations": {"translations": {}},
    "translate-string": {"string": "Hello", "language_code": "it"},
    "get-articles": {},
    "search-articles": {"search": "article"},
    "get-articles-categories": {},
    "save-articles-categories": {"categories": [{"id": "c1", "title": "General"}]},
    "article-ratings": {"article_id": "$article", "rating": "1"},
    "chat-css": {"color_1": "#ff0000"},
    "text-formatting-to-html": {"message": "*bold*"},
    "clear-text-formatting": {"message": "*bold*"},
    "get-notes": {"conversation_id": "$conversation"},
    "add-note": {"conversation_id": "$conversation", "user_id": "$agent", "name": "Bruce",
                 "message": "Third"},
    "delete-note": {"conversation_id": "$conversation", "note_id": "$note"},
    "automations-get": {},
    "reports": {"name": "conversations"},
    "reports-update": {"name": "articles-searches"},
    "upload-path": {},
    "is-allowed-extension": {"extension": "jpg"},
    "logs": {"string": "a log line"},
    "app-get-key": {"app_name": "dialogflow"},
    "newsletter": {"email": "news@example.com"},
    "cron-jobs": {},
    "clean-data": {},
    "delete-message": {"message_id": "$message"},
    "delete-user": {"user_id": "$spare"},
    "delete-users": {"user_ids": ["$spare2"]},
    "get-translations": {},
    "automations-save": {"automations": {"messages": []}},
    "automations-is-sent": {"user_id": "$user", "automation_id": {"id": "1"}},
    "push-notification": {"title": "Hi", "message": "Hello", "interests": ""},
    "delete-leads": {},
}


def resolve(value, values):
    if isinstance(value, str) and value.startswith("$"):
        return values[value[1:]]
    if isinstance(value, list):
        return [resolve(item, values) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, values) for key, item in value.items()}
    return value


def call_sb(api, function, arguments, values):
    """One call over /include/api.php as a JSON body (real arrays, as 3.8 wants them)."""
    body = {"token": api.token, "function": function}
    body.update(resolve(arguments, values))
    return api.client.simulate_post(SB, json=body)


def dump(value):
    return json.dumps(value, ensure_ascii=False)
