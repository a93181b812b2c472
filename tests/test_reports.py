"""Every report, on known data, with the exact numbers, in the caller's time zone."""

from datetime import datetime

import pytest

from sbcore import db as dbmod
from sbcore.conversations import rebuild_conversation_agents
from sbcore.functions.maintenance import REPORT_NAMES
from sbcore.models import ArticleRating, Conversation, Message, Rating, ReportRow, User

RANGE = {"date_start": "20/11/2026", "date_end": "2026-11-22", "timezone": "Europe/Rome"}  # UTC+1
DAYS = ("20/11/2026", "21/11/2026", "22/11/2026")


def at(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


def days(**counts):
    return {day: [counts.get("d" + day[:2], 0)] for day in DAYS}


@pytest.fixture
def seeded(api, core):
    """Users, conversations, messages, ratings, articles and report rows at known times."""
    a = api.ok("add-user", first_name="A", last_name="a",
               extra={"country": ["Italy", "Country"], "language": ["it", "Language"],
                      "browser": ["Chrome", "Browser"], "os": ["Linux", "OS"]})
    b = api.ok("add-user", first_name="B", last_name="b",
               extra={"country": ["Italy", "Country"], "browser": ["Firefox", "Browser"]})
    c = api.ok("add-user", first_name="C", last_name="c", user_type="lead",
               extra={"country": ["Spain", "Country"], "language": ["es", "Language"]})
    d = api.ok("add-user", first_name="D", last_name="d", email="d@example.com")
    ann = api.ok("add-user", first_name="Ann", last_name="Lee", email="ann@example.com", user_type="agent")
    bob = api.ok("add-user", first_name="Bob", last_name="Ray", email="bob@example.com", user_type="agent")
    times = {a: "2026-11-19 23:30", b: "2026-11-20 22:59", c: "2026-11-21 23:10", d: "2026-11-22 23:30"}
    conversations = {}
    script = {
        "c1": (a, "2026-11-20 10:00", [(a, "10:00"), (ann, "10:02"), (a, "10:05")]),
        "c2": (b, "2026-11-21 08:00", [(b, "08:00"), (ann, "08:10"), (bob, "08:20")]),
        "c3": (c, "2026-11-21 23:30", [(c, "23:30")]),
        "c4": (d, "2026-11-23 09:00", [(d, "09:00"), (ann, "09:30")]),
    }
    for key, (user, created, messages) in script.items():
        cid = int(api.ok("new-conversation", user_id=user)["details"]["id"])
        conversations[key] = cid
        for sender, clock in messages:
            mid = api.ok("send-message", user_id=sender, conversation_id=cid, message=key)["message-id"]
            with dbmod.connection():
                Message.update(creation_time=at(created[:11] + clock)).where(Message.id == mid).execute()
        with dbmod.connection():
            Conversation.update(creation_time=at(created),
                                last_update_time=at(created[:11] + messages[-1][1])).where(
                Conversation.id == cid).execute()
    api.ok("set-rating", settings={"conversation_id": conversations["c1"], "rating": 1})
    api.ok("set-rating", settings={"conversation_id": conversations["c2"], "rating": 0})
    api.ok("save-articles", articles=[{"id": "art1", "title": "First"}, {"id": "art2", "title": "Second"}])
    for article, rating in (("art1", 1), ("art1", 1), ("art1", 0), ("art2", 0)):
        api.ok("article-ratings", article_id=article, rating=rating)
    for article in ("art1", "art1", "art2"):
        api.ok("get-articles", id=article)
    api.ok("search-articles", search="first")
    api.ok("search-articles", search="second")
    api.ok("direct-message", user_ids=[api.ok("add-user"), api.ok("add-user")], message="Offer")
    for name in REPORT_NAMES:
        if name in ("subscribe", "follow-up", "registrations", "sms-automations", "email-automations",
                    "message-automations", "direct-sms", "direct-emails"):
            api.ok("reports-update", name=name, value="1")
    with dbmod.connection():
        rebuild_conversation_agents()  # the agents' reply times, from the back-dated messages
        for user, created in times.items():
            User.update(creation_time=at(created)).where(User.id == user).execute()
        Rating.update(creation_time=at("2026-11-21 12:00")).execute()
        ArticleRating.update(creation_time=at("2026-11-21 12:00")).execute()
        ReportRow.update(creation_time=at("2026-11-20 12:00")).where(ReportRow.name == "articles-views").execute()
        ReportRow.update(creation_time=at("2026-11-22 10:00")).where(
            ReportRow.name.in_(["articles-searches", "direct-messages"])).execute()
        ReportRow.update(creation_time=at("2026-11-21 23:30")).where(ReportRow.name == "subscribe").execute()
        ReportRow.update(creation_time=at("2026-11-20 12:00")).where(ReportRow.name.not_in(
            ["articles-views", "articles-searches", "direct-messages", "subscribe"])).execute()
    return conversations


EXPECTED = {
    "conversations": days(d20=1, d21=1, d22=1),
    "missed-conversations": days(d22=1),
    "conversations-time": {"20/11/2026": [300], "21/11/2026": [1200], "22/11/2026": [0]},
    "visitors": days(d20=2),
    "leads": days(d22=1),
    "users": days(),
    "agents-response-time": {"Ann Lee": [360], "Bob Ray": [1200]},
    "agents-conversations": {"Ann Lee": [2], "Bob Ray": [1]},
    "agents-conversations-time": {"Ann Lee": [750], "Bob Ray": [1200]},
    "agents-ratings": {"Ann Lee": [1, 0], "Bob Ray": [0, 1]},
    "countries": {"Italy": [2], "Spain": [1]},
    "languages": {"es": [1], "it": [1]},
    "browsers": {"Chrome": [1], "Firefox": [1]},
    "os": {"Linux": [1]},
    "subscribe": days(d22=1),  # 23:30 UTC on the 21st is the 22nd in Rome
    "follow-up": days(d20=1),
    "registrations": days(d20=1),
    "articles-searches": days(d22=2),
    "articles-ratings": {"First": [2, 1], "Second": [0, 1]},
    "articles-views-single": {"First": [2], "Second": [1]},
    "articles-views": days(d20=3),
    "sms-automations": days(d20=1),
    "email-automations": days(d20=1),
    "message-automations": days(d20=1),
    "direct-sms": days(d20=1),
    "direct-emails": days(d20=1),
    "direct-messages": days(d22=2),
}


def test_every_report_has_an_expectation():
    assert set(EXPECTED) == set(REPORT_NAMES) and len(REPORT_NAMES) == 27


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_numbers(api, seeded, name):
    answer = api.ok("reports", name=name, **RANGE)
    assert answer["data"] == EXPECTED[name]
    report_keys = {"title", "description", "data", "table", "table-inverse", "label_type",
                   "chart_type", "table_inverse", "average", "average_label"}
    assert set(answer) == report_keys | {name}  # the union: the report, and 3.8's map by name
    assert set(answer[name]) == report_keys
    assert answer["title"] and answer["description"] and answer["table"]


def test_the_time_zone_moves_days(api, seeded):
    utc = api.ok("reports", name="visitors", date_start="2026-11-19", date_end="2026-11-21")["data"]
    assert utc == {"19/11/2026": [1], "20/11/2026": [1], "21/11/2026": [0]}
    tokyo = api.ok("reports", name="visitors", date_start="2026-11-20", date_end="2026-11-21",
                   timezone="Asia/Tokyo")["data"]
    assert tokyo == {"20/11/2026": [1], "21/11/2026": [1]}


def test_report_shape_matches_the_reference(api, seeded):
    from sbcore.testing import reference_example
    from wire import assert_has_shape
    example = reference_example("reports")
    answer = api.ok("reports", name="conversations", **RANGE)
    assert_has_shape({k: v for k, v in answer.items() if k != "data"},
                 {k: v for k, v in example.items() if k != "data"})
    assert answer["table"] == ["Date", "Count"] and answer["chart_type"] == "line"


def test_an_unknown_report_is_false_as_in_3_8(api):
    assert api.ok("reports", name="nope") is False


@pytest.mark.parametrize("fields", [{"name": "users", "date_start": "31/31/2026"},
                                    {"name": "users", "timezone": "Mars/Olympus"},
                                    {"name": "users", "date_start": "2026-11-22", "date_end": "2026-11-01"},
                                    {"name": "users", "date_start": "2000-01-01", "date_end": "2026-01-01"}])
def test_bad_report_arguments(api, fields):
    result = api.call("reports", **fields)
    assert result.status == 400 and result.response == "invalid-argument"
