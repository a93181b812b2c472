"""Automations: saving, the conditions, running, sent records."""

from datetime import date, datetime, timezone

import pytest
import time_machine

from sbcore import automations as A
from sbcore.testing import assert_shape, reference_example

# the day the tests that depend on "today" run on (a fake clock: a run past midnight is no failure)
TODAY = date(2026, 11, 25)
ON_TODAY = time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc), tick=True)


def ddmmyyyy(day):
    return day.strftime("%d/%m/%Y")


AUTOMATIONS = {
    "messages": [
        {"id": "welcome", "name": "Welcome Italians", "message": "Benvenuto!",
         "conditions": [["languages", "", "it,es"], ["repeat", "every-day"]]},
        {"id": "expired", "name": "Old promo", "message": "Too late",
         "conditions": [["datetime", "is-exactly", "01/01/2020"]]},
        {"id": "onpage", "name": "Pricing page", "message": "Questions about pricing?",
         "conditions": [["include_urls", "contains", "https://example.com/pricing"]]},
    ],
    "emails": [{"id": "mail1", "name": "Mail", "message": "Hello", "subject": "Hi",
                "conditions": [["user_type", "is-user"]]}],
    "sms": [],
    "popups": [{"id": "pop1", "name": "Popup", "message": "Sale!", "title": "Sale",
                "profile_image": "https://example.com/p.png", "conditions": [["user_type", "is-not-user"]]}],
    "design": [{"id": "des1", "name": "Red", "message": "", "title": "", "color_1": "rgb(255, 0, 0)",
                "color_2": "#00ff00", "color_3": "#0000ff", "background": "https://example.com/b.jpg",
                "brand": "", "icon": "", "conditions": []}],
}
TRANSLATIONS = {"es": {"messages": [{"id": "welcome", "message": "¡Bienvenido!"}]}}


@pytest.fixture
def saved(api):
    assert api.ok("automations-save", automations=AUTOMATIONS, translations=TRANSLATIONS) is True


@pytest.fixture
def italian(api):
    return api.ok("add-user", first_name="Ita", extra={"language": ["it", "Language"]})


def test_get_returns_what_was_saved(api, saved):
    automations, translations = api.ok("automations-get")
    assert automations == AUTOMATIONS and translations == TRANSLATIONS
    example = reference_example("automations-get")[0]
    assert set(automations) == set(example)
    assert_shape(automations["emails"][0], {k: v for k, v in example["emails"][0].items()})


@pytest.mark.parametrize("automations", [
    {"chats": []}, {"messages": [{"name": "no id"}]},
    {"messages": [{"id": "a", "conditions": [["mind_reading", "yes"]]}]},
    {"messages": [{"id": "a", "subject": "emails only"}]},
    {"design": [{"id": "d", "color_1": "red; display:none"}]},
    {"popups": [{"id": "p", "profile_image": "javascript:alert(1)"}]},
    {"messages": [{"id": "a"}, {"id": "a"}]},
])
def test_save_refuses_bad_automations(api, saved, snapshot, automations):
    before = snapshot()
    assert api.call("automations-save", automations=automations).status == 400
    assert snapshot() == before


def test_conditions_on_the_server():
    today = date(2026, 11, 25)
    now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    between = ["datetime", "is-between", "20/11/2026 - 30/11/2026"]
    assert A.evaluate([between], now=now) == ([], "")
    assert A.evaluate([["datetime", "is-between", "01/12/2026 - 05/12/2026"]], now=now) == (
        [["datetime", "is-between", "01/12/2026 - 05/12/2026"]], "")
    assert A.evaluate([["datetime", "is-between", "01/11/2026 - 05/11/2026"]], now=now) is None
    assert A.evaluate([["datetime", "is-exactly", ddmmyyyy(today)]], now=now) == ([], "")
    assert A.evaluate([["datetime", "is-before", "01/01/2026"]], now=now) is None
    assert A.evaluate([["datetime", "is-after", "01/01/2026"]], now=now) == ([], "")
    assert A.evaluate([["datetime", "is-exactly", "not a date"]], now=now) is None
    assert A.evaluate([["repeat", "every-week"]], now=now) == ([], "2026-W48")
    assert A.evaluate([["repeat", "every-month"]], now=now) == ([], "2026-11")
    assert A.evaluate([["user_type", "is-user"]], now=now) == ([["user_type", "is-user"]], "")
    assert A.evaluate([["website", "contains", "x"]], now=now) == ([["website", "contains", "x"]], "")


@ON_TODAY
def test_validate(api, saved, italian):
    assert api.ok("automations-validate", automation={"id": "expired"}) is False
    answer = api.ok("automations-validate", automation={"id": "onpage"})
    assert answer == {"conditions": [["include_urls", "contains", "https://example.com/pricing"]],
                      "repeat_id": ""}
    assert_shape(answer, reference_example("automations-validate"))
    for_italian = api.ok("automations-validate", automation={"id": "welcome"}, user_id=italian)
    assert for_italian == {"conditions": [], "repeat_id": TODAY.strftime("%Y-%m-%d")}
    german = api.ok("add-user", extra={"language": ["de", "Language"]})
    assert api.ok("automations-validate", automation={"id": "welcome"}, user_id=german) is False
    assert api.call("automations-validate", automation={"id": "ghost"}).status == 404


@ON_TODAY
def test_run_sends_a_message_once_per_repeat(api, saved, italian):
    repeat_id = TODAY.strftime("%Y-%m-%d")
    assert api.ok("automations-is-sent", user_id=italian, automation={"id": "welcome"},
                  repeat_id=repeat_id) is False
    assert api.ok("automations-run", automation={"id": "welcome"}, validate=True, user_id=italian) is True
    conversations = api.ok("get-user-conversations", user_id=italian)
    assert conversations[0]["message"] == "Benvenuto!" and conversations[0]["message_user_type"] == "bot"
    assert api.ok("automations-is-sent", user_id=italian, automation={"id": "welcome"},
                  repeat_id=repeat_id) is True
    assert api.ok("automations-run", automation={"id": "welcome"}, user_id=italian) is False  # sent today
    spanish = api.ok("add-user", extra={"language": ["es", "Language"]})
    api.ok("automations-run", automation={"id": "welcome"}, user_id=spanish)
    assert api.ok("get-user-conversations", user_id=spanish)[0]["message"] == "¡Bienvenido!"
    counts = api.ok("reports", name="message-automations")["data"]
    assert sum(v[0] for v in counts.values()) == 2


def test_run_refuses_what_it_cannot_do(api, saved, italian, snapshot):
    user = api.ok("add-user", email="u@example.com")
    before = snapshot()
    result = api.call("automations-run", automation={"id": "mail1"}, user_id=user)
    assert (result.status, result.response) == (400, "email-not-configured")
    assert api.ok("automations-run", automation={"id": "expired"}, validate=True, user_id=italian) is False
    assert api.call("automations-run", automation={"id": "welcome"}).status == 400
    assert snapshot() == before


def test_run_all(api, saved, italian):
    answer = api.ok("automations-run-all", user_id=italian)
    by_id = {item["id"]: item for item in answer}
    assert set(by_id) == {"onpage", "pop1", "des1"}  # welcome ran; mail1 not for visitors; expired never
    assert by_id["onpage"]["type"] == "messages" and by_id["onpage"]["conditions"]
    assert by_id["pop1"]["type"] == "popups" and by_id["des1"]["color_1"] == "rgb(255, 0, 0)"
    assert api.ok("get-user-conversations", user_id=italian)[0]["message"] == "Benvenuto!"
    again = {item["id"] for item in api.ok("automations-run-all", user_id=italian)}
    assert again == {"onpage", "pop1", "des1"}
    assert len(api.ok("get-user-conversations", user_id=italian)) == 1
    anonymous = {item["id"] for item in api.ok("automations-run-all")}
    assert anonymous == {"welcome", "onpage", "mail1", "pop1", "des1"}
