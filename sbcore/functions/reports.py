"""The 27 reports of the reference, each one SQL query over the range."""

from peewee import Case, fn

from .. import reports as R
from ..models import (Article, ArticleRating, Conversation, ConversationAgent, Rating, ReportRow,
                      User, UserDetail)
from ..registry import FunctionSet
from .maintenance import REPORT_NAMES

functions = FunctionSet()
sbcore_register_functions = functions.hook()
REPORTS = {}


def registers(name):
    def decorate(fn_):
        REPORTS[name] = fn_
        return fn_
    return decorate


def per_day(span, model, column, *conditions):
    day = R.local_day(column, span.offset)
    query = (model.select(day.alias("day"), fn.COUNT(model._meta.primary_key).alias("n"))
             .where((column >= span.utc_start) & (column < span.utc_end), *conditions)
             .group_by(day).tuples())
    return R.daily(span, {R.day_key(d): n for d, n in query})


def counted(name, title, description):
    """A report of the rows reports-update (and sbcore itself) writes under ``name``."""
    def build(span):
        return R.report(title, description,
                        per_day(span, ReportRow, ReportRow.creation_time, ReportRow.name == name),
                        ["Date", "Count"])
    REPORTS[name] = build


for _name, _title, _description in (
        ("subscribe", "Subscriptions", "Emails given through the subscribe message."),
        ("follow-up", "Follow-up emails", "Emails given through the follow-up message."),
        ("registrations", "Registrations", "Users registered through the chat."),
        ("articles-searches", "Article searches", "Searches in the knowledge base."),
        ("articles-views", "Article views", "Views of knowledge-base articles."),
        ("sms-automations", "SMS automations", "Text messages sent by automations."),
        ("email-automations", "Email automations", "Emails sent by automations."),
        ("message-automations", "Message automations", "Chat messages sent by automations."),
        ("direct-sms", "Direct SMS", "Text messages sent to users directly."),
        ("direct-emails", "Direct emails", "Emails sent to users directly."),
        ("direct-messages", "Direct messages", "Chat messages sent to users directly.")):
    counted(_name, _title, _description)


@registers("conversations")
def conversations(span):
    return R.report("Conversations count", "Count of new conversations started by users.",
                    per_day(span, Conversation, Conversation.creation_time), ["Date", "Count"])


@registers("missed-conversations")
def missed_conversations(span):
    replied = ConversationAgent.select(ConversationAgent.id).where(
        ConversationAgent.conversation == Conversation.id)
    return R.report("Missed conversations", "New conversations that no agent answered.",
                    per_day(span, Conversation, Conversation.creation_time, ~fn.EXISTS(replied)),
                    ["Date", "Count"])


def users_of(user_type, title, description):
    def build(span):
        return R.report(title, description,
                        per_day(span, User, User.creation_time, User.user_type == user_type),
                        ["Date", "Count"])
    REPORTS[f"{user_type}s"] = build


users_of("visitor", "Visitors", "New visitors.")
users_of("lead", "Leads", "New leads.")
users_of("user", "Users", "New registered users.")


def span_filter(span, column):
    return (column >= span.utc_start) & (column < span.utc_end)


def duration():
    """A conversation's time from its start to its last message, in seconds."""
    return R.seconds_between(Conversation.creation_time, Conversation.last_update_time)


@registers("conversations-time")
def conversations_time(span):
    day = R.local_day(Conversation.creation_time, span.offset)
    rows = (Conversation.select(day.alias("day"), fn.AVG(duration()))
            .where(span_filter(span, Conversation.creation_time) & Conversation.last_message_id.is_null(False))
            .group_by(day).tuples())
    averages = {R.day_key(d): round(float(avg or 0)) for d, avg in rows}
    return R.report("Conversation duration", "Average seconds from the start to the last message of "
                    "the conversations started each day.", R.daily(span, averages),
                    ["Date", "Average time"], label_type=2)


def agent_name(row):
    return f"{row['first_name']} {row['last_name']}".strip()


def per_agent(span, value, title, description, table, label_type, rounding):
    """One value per agent over the conversations started in the range that the agent
    replied to (sb_conversation_agents, never the messages)."""
    rows = (User.select(User.first_name, User.last_name, value.alias("v"))
            .join(ConversationAgent, on=(ConversationAgent.agent == User.id))
            .join(Conversation, on=(Conversation.id == ConversationAgent.conversation))
            .where(span_filter(span, Conversation.creation_time))
            .group_by(User.id, User.first_name, User.last_name).order_by(User.id).dicts())
    return R.report(title, description, {agent_name(r): [rounding(r["v"])] for r in rows}, table,
                    chart_type="bar", label_type=label_type, inverse=False)


def seconds(value):
    return round(float(value or 0))


REPORTS["agents-response-time"] = lambda span: per_agent(
    span, fn.AVG(R.seconds_between(Conversation.creation_time, ConversationAgent.first_reply)),
    "Agents response time", "Average seconds to an agent's first reply.",
    ["Agent", "Average time"], 2, seconds)
REPORTS["agents-conversations"] = lambda span: per_agent(
    span, fn.COUNT(Conversation.id), "Agents conversations", "Conversations each agent replied to.",
    ["Agent", "Count"], 1, int)
REPORTS["agents-conversations-time"] = lambda span: per_agent(
    span, fn.AVG(duration()), "Agents conversation duration",
    "Average seconds from start to last message of the conversations each agent replied to.",
    ["Agent", "Average time"], 2, seconds)


@registers("agents-ratings")
def agents_ratings(span):
    positive = fn.SUM(Rating.rating)
    rows = (User.select(User.first_name, User.last_name, positive.alias("p"),
                        fn.COUNT(Rating.conversation).alias("n"))
            .join(Rating, on=(Rating.agent_id == User.id))
            .where(span_filter(span, Rating.creation_time))
            .group_by(User.id, User.first_name, User.last_name).order_by(User.id).dicts())
    return R.report("Agents ratings", "Positive and negative ratings of each agent's conversations.",
                    {agent_name(r): [int(r["p"] or 0), int(r["n"]) - int(r["p"] or 0)] for r in rows},
                    ["Agent", "Positive", "Negative"], chart_type="bar", inverse=False)


def detail_share(slug, title, description, column_title):
    def build(span):
        rows = (UserDetail.select(UserDetail.value, fn.COUNT(UserDetail.id).alias("n"))
                .join(User, on=(User.id == UserDetail.user))
                .where((UserDetail.slug == slug) & span_filter(span, User.creation_time))
                .group_by(UserDetail.value).order_by(fn.COUNT(UserDetail.id).desc(), UserDetail.value)
                .tuples())
        return R.report(title, description, {value: [n] for value, n in rows}, [column_title, "Count"],
                        chart_type="pie", inverse=False)
    return build


REPORTS["countries"] = detail_share("country", "Countries", "Users by country.", "Country")
REPORTS["languages"] = detail_share("language", "Languages", "Users by language.", "Language")
REPORTS["browsers"] = detail_share("browser", "Browsers", "Users by browser.", "Browser")
REPORTS["os"] = detail_share("os", "Operating systems", "Users by operating system.", "OS")


@registers("articles-ratings")
def articles_ratings(span):
    positive = fn.SUM(Case(None, ((ArticleRating.rating > 0, 1),), 0))
    rows = list(ArticleRating.select(ArticleRating.article_id, positive.alias("p"),
                                     fn.COUNT(ArticleRating.id).alias("n"))
                .where(span_filter(span, ArticleRating.creation_time))
                .group_by(ArticleRating.article_id).order_by(ArticleRating.article_id).dicts())
    titles = article_titles([r["article_id"] for r in rows])
    return R.report("Article ratings", "Positive and negative ratings of each article.",
                    {titles.get(r["article_id"], r["article_id"]): [int(r["p"] or 0), int(r["n"]) - int(r["p"] or 0)]
                     for r in rows}, ["Article", "Positive", "Negative"], chart_type="bar", inverse=False)


def article_titles(article_ids):
    return {a.article_id: a.title for a in Article.select(Article.article_id, Article.title)
            .where(Article.article_id.in_(list(article_ids) or [""]) & (Article.language == ""))}


@registers("articles-views-single")
def articles_views_single(span):
    rows = (ReportRow.select(ReportRow.value, fn.COUNT(ReportRow.id).alias("n"))
            .where((ReportRow.name == "articles-views") & span_filter(span, ReportRow.creation_time))
            .group_by(ReportRow.value).order_by(fn.COUNT(ReportRow.id).desc(), ReportRow.value).tuples())
    rows = list(rows)
    titles = article_titles([value for value, _ in rows])
    return R.report("Views of each article", "How often each article was opened.",
                    {titles.get(value, value): [n] for value, n in rows}, ["Article", "Views"],
                    chart_type="bar", inverse=False)


@functions("reports")
def reports(ctx, name: str, date_start: str | bool = False, date_end: str | bool = False,
            timezone: str | bool = False):
    if name not in REPORT_NAMES:
        return False  # Support Board 3.8's answer for a report it does not know
    report = REPORTS[name](R.date_range(date_start, date_end, timezone or None))
    # the union: the reference's one report, and Support Board 3.8's map of reports by name
    return dict(report, **{name: dict(report)})


assert set(REPORTS) == set(REPORT_NAMES), set(REPORT_NAMES) ^ set(REPORTS)
