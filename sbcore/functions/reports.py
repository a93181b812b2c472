"""The 27 reports of the reference, each one SQL query over the range."""

from peewee import Case, fn

from .. import reports as R
from ..errors import invalid_argument
from ..models import (Article, ArticleRating, Conversation, Message, Rating, ReportRow, User,
                      UserDetail)
from ..models.users import AGENT_TYPES
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


def agent_replies(conversation_alias=Conversation):
    return (Message.select(Message.id).join(User, on=(User.id == Message.user))
            .where((Message.conversation == conversation_alias.id) & User.user_type.in_(AGENT_TYPES)))


@registers("missed-conversations")
def missed_conversations(span):
    return R.report("Missed conversations", "New conversations that no agent answered.",
                    per_day(span, Conversation, Conversation.creation_time, ~fn.EXISTS(agent_replies())),
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


def in_range(span, message_query):
    """Only the messages of conversations started in the range (the creation_time index,
    then each conversation's messages): a report never reads every message."""
    started = Conversation.select(Conversation.id).where(span_filter(span, Conversation.creation_time))
    return message_query.where(Message.conversation.in_(started))


@registers("conversations-time")
def conversations_time(span):
    """The average time from a conversation's first to its last message, per day."""
    first, last = fn.MIN(Message.creation_time), fn.MAX(Message.creation_time)
    durations = (in_range(span, Message.select(Message.conversation.alias("cid"),
                                               R.seconds_between(first, last).alias("seconds")))
                 .group_by(Message.conversation).alias("d"))
    day = R.local_day(Conversation.creation_time, span.offset)
    rows = (Conversation.select(day.alias("day"), fn.AVG(durations.c.seconds))
            .join(durations, on=(durations.c.cid == Conversation.id))
            .where(span_filter(span, Conversation.creation_time)).group_by(day).tuples())
    averages = {R.day_key(d): round(float(avg or 0)) for d, avg in rows}
    return R.report("Conversation duration", "Average seconds from the first to the last message of "
                    "the conversations started each day.", R.daily(span, averages),
                    ["Date", "Average time"], label_type=2)


def agent_name(row):
    return f"{row['first_name']} {row['last_name']}".strip()


def per_agent(rows, value):
    return {agent_name(row): [value(row)] for row in rows}


@registers("agents-response-time")
def agents_response_time(span):
    """Per agent: the average seconds from a conversation's start to the agent's first reply."""
    first_reply = (in_range(span, Message.select(Message.conversation.alias("cid"), Message.user.alias("agent"),
                                                 fn.MIN(Message.creation_time).alias("replied")))
                   .join(User, on=(User.id == Message.user))
                   .where(User.user_type.in_(AGENT_TYPES)).group_by(Message.conversation, Message.user)
                   .alias("f"))
    rows = (User.select(User.first_name, User.last_name,
                        fn.AVG(R.seconds_between(Conversation.creation_time, first_reply.c.replied)).alias("v"))
            .join(first_reply, on=(first_reply.c.agent == User.id))
            .join(Conversation, on=(Conversation.id == first_reply.c.cid))
            .where(span_filter(span, Conversation.creation_time))
            .group_by(User.id, User.first_name, User.last_name).order_by(User.id).dicts())
    return R.report("Agents response time", "Average seconds to an agent's first reply.",
                    per_agent(rows, lambda r: round(float(r["v"] or 0))), ["Agent", "Average time"],
                    chart_type="bar", label_type=2, inverse=False)


def agents_conversation_rows(span, value):
    involved = (in_range(span, Message.select(Message.conversation.alias("cid"), Message.user.alias("agent")))
                .join(User, on=(User.id == Message.user)).where(User.user_type.in_(AGENT_TYPES))
                .group_by(Message.conversation, Message.user).alias("a"))
    return (User.select(User.first_name, User.last_name, value.alias("v"))
            .join(involved, on=(involved.c.agent == User.id))
            .join(Conversation, on=(Conversation.id == involved.c.cid)),
            involved)


@registers("agents-conversations")
def agents_conversations(span):
    query, _ = agents_conversation_rows(span, fn.COUNT(Conversation.id))
    rows = (query.where(span_filter(span, Conversation.creation_time))
            .group_by(User.id, User.first_name, User.last_name).order_by(User.id).dicts())
    return R.report("Agents conversations", "Conversations each agent replied to.",
                    per_agent(rows, lambda r: int(r["v"])), ["Agent", "Count"], chart_type="bar",
                    inverse=False)


@registers("agents-conversations-time")
def agents_conversations_time(span):
    bounds = (in_range(span, Message.select(Message.conversation.alias("cid"),
                                            R.seconds_between(fn.MIN(Message.creation_time),
                                                              fn.MAX(Message.creation_time)).alias("seconds")))
              .group_by(Message.conversation).alias("b"))
    query, _ = agents_conversation_rows(span, fn.AVG(bounds.c.seconds))
    rows = (query.join(bounds, on=(bounds.c.cid == Conversation.id))
            .where(span_filter(span, Conversation.creation_time))
            .group_by(User.id, User.first_name, User.last_name).order_by(User.id).dicts())
    return R.report("Agents conversation duration", "Average seconds from first to last message of "
                    "the conversations each agent replied to.",
                    per_agent(rows, lambda r: round(float(r["v"] or 0))), ["Agent", "Average time"],
                    chart_type="bar", label_type=2, inverse=False)


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
        raise invalid_argument("name", f"'{name}' is not a report: use one of {', '.join(REPORT_NAMES)}.")
    return REPORTS[name](R.date_range(date_start, date_end, timezone or None))


assert set(REPORTS) == set(REPORT_NAMES), set(REPORT_NAMES) ^ set(REPORTS)
