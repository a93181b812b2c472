"""The knowledge base: articles in several languages, categories, ratings and search."""

import json
import re
import secrets
from datetime import timedelta

from peewee import SQL

from ..db import utcnow
from ..errors import ApiError, invalid_argument, missing_argument
from ..hooks import hookimpl
from ..models import Article, ArticleRating, ArticleView, ReportRow
from ..registry import AGENT, FunctionSet, Json, Search
from ..search import normalise, search_backend
from ..translations import LANGUAGE_CODE
from ..settings import Setting, list_of_records

functions = FunctionSet()
ARTICLE_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
LANGUAGE = LANGUAGE_CODE
EXCERPT = 100
SEARCH_LIMIT = 50


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_register_settings():
    return [Setting("articles-categories", "repeater", [], 'Article categories: [{"id", "title"}].',
                    check_categories)]


def check_categories(value):
    list_of_records("articles-categories", ("id", "title"), ("id", "title"))(value)
    for item in value:
        if not ARTICLE_ID.match(str(item["id"])):
            raise ApiError("invalid-setting-value", f"'{item['id']}' is not a category id.", 400)
    return value


def language_of(value):
    """'' (the default language), 'all', or a checked language code."""
    if value in (False, None, "", "false"):
        return ""
    value = str(value).strip().lower()
    if value == "all" or LANGUAGE.match(value):
        return value
    raise invalid_argument("articles_language", f"'{value}' is not a language code.")


def shape(article, full=True, with_language=False):
    """The union of the reference's article (id, title, content, link, categories) and
    Support Board 3.8's row (editor_js, nav, category, parent_category, language,
    parent_id, slug, update_time)."""
    content = article.content
    if not full and len(content) > EXCERPT:
        content = content[:EXCERPT].rstrip() + " ..."
    categories = json.loads(article.categories or "[]")
    return {"id": article.article_id, "title": article.title, "content": content,
            "editor_js": "", "nav": "", "link": article.link,
            "category": categories[0] if categories else "", "parent_category": "",
            "language": article.language, "parent_id": None,
            "slug": slugify(article.title), "update_time": article.updated.strftime("%Y-%m-%d")
            if hasattr(article.updated, "strftime") else str(article.updated)[:10],
            "categories": categories}


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def in_language(query, language):
    """Rows of ``language``, or of the default language when it has none."""
    if language == "all":
        return list(query)
    if language:
        rows = list(query.where(Article.language == language))
        if rows:
            return rows
    return list(query.where(Article.language == ""))


@functions("get-articles", role=AGENT, spellings={"articles_language": ("language",)})
def get_articles(ctx, id: str | int = -1, count: int | None = None, full: bool = False,
                 categories: Json = False, articles_language: str | bool = False):
    return read_articles(ctx, id, count, full, categories, articles_language)


def count_view(article, viewer):
    """Count a view of ``article``; with a ``viewer`` (the visitor API's), once a day."""
    if viewer is not None:
        today = utcnow().date()
        if ArticleView.select().where((ArticleView.article_id == article.article_id)
                                      & (ArticleView.viewer == viewer)
                                      & (ArticleView.day == today)).exists():
            return
        ArticleView.delete().where(ArticleView.day < today - timedelta(days=1)).execute()
        ArticleView.create(article_id=article.article_id, viewer=viewer, day=today)
    Article.update(views=Article.views + 1).where(Article.id == article.id).execute()
    ReportRow.create(name="articles-views", value=article.article_id)


def read_articles(ctx, id, count, full, categories, articles_language, viewer=None):
    """get-articles; ``viewer`` (a visitor or an address) counts a view once a day."""
    language = language_of(articles_language)
    if str(id) not in ("-1", "", "false"):
        if not ARTICLE_ID.match(str(id)):
            raise invalid_argument("id", "an article id.")
        found = in_language(Article.select().where(Article.article_id == str(id)), language)
        if not found:
            return []
        count_view(found[0], viewer)
        return [shape(found[0])]  # Support Board 3.8: always an array
    query = Article.select().order_by(Article.position, Article.id)
    rows = in_language(query, language)
    if categories not in (False, True, None, "", "false", "true"):
        rows = [a for a in rows if str(categories) in json.loads(a.categories or "[]")]
    if count is not None:
        rows = rows[:max(count, 0)]
    articles = [shape(a, full, with_language=language == "all") for a in rows]
    if categories in (True, "true"):
        return [articles, ctx.settings.get("articles-categories")]
    return articles


def check_article(item, where):
    if not isinstance(item, dict):
        raise invalid_argument(where, "each article is an object with id, title, content, link, categories.")
    article_id = str(item.get("id") or "") or secrets.token_urlsafe(4)[:5]
    title = item.get("title")
    if not ARTICLE_ID.match(article_id):
        raise invalid_argument(where, f"'{article_id}' is not an article id.")
    if not isinstance(title, str) or not title.strip() or len(title) > 512:
        raise invalid_argument(where, f"the article '{article_id}' needs a title (at most 512 characters).")
    content, link = item.get("content", ""), item.get("link", "") or ""
    categories = item.get("categories") or []
    if not isinstance(content, str) or not isinstance(link, str) or not isinstance(categories, list):
        raise invalid_argument(where, f"the article '{article_id}' has a bad content, link or categories.")
    if link and not link.lower().startswith(("http://", "https://")):
        raise invalid_argument(where, f"the link of '{article_id}' must be an http(s) URL.")
    return {"article_id": article_id, "title": title.strip(), "content": content, "link": link[:512],
            "categories": json.dumps([str(c) for c in categories])}


@functions("save-articles", aliases=("save-article",))
def save_articles(ctx, articles: Json = None, translations: dict | None = None,
                  article: dict | None = None):
    if article is not None and articles is None:
        return save_one_article(article)
    if articles is None:
        raise missing_argument("articles")
    if isinstance(articles, dict):
        articles = articles.get("articles")
    if not isinstance(articles, list):
        raise invalid_argument("articles", '{"articles": [{"id", "title", "content", "link", "categories"}]}.')
    rows = [dict(check_article(item, "articles"), language="", position=i) for i, item in enumerate(articles)]
    for language, items in (translations or {}).items():
        if not LANGUAGE.match(language) or not isinstance(items, list):
            raise invalid_argument("translations", f"'{language}' must be a language code with a list.")
        rows += [dict(check_article(item, "translations"), language=language, position=i)
                 for i, item in enumerate(items)]
    keys = [(r["article_id"], r["language"]) for r in rows]
    if len(keys) != len(set(keys)):
        raise invalid_argument("articles", "an article id appears twice in one language.")
    backend = search_backend()
    old = [row[0] for row in Article.select(Article.id).tuples()]
    backend.delete("articles", old)
    Article.delete().execute()
    for start in range(0, len(rows), 200):
        Article.insert_many(rows[start:start + 200]).execute()
    backend.upsert_many("articles", [(a.id, normalise(a.title, a.content)) for a in Article.select()])
    return True


def save_one_article(item):
    """Support Board 3.8's ``save-article``: one article (default language) created,
    answering its new id as a number, or updated, answering true."""
    item = dict(item)
    article_id = str(item.get("id") or "")
    if article_id:
        existing = Article.get_or_none((Article.article_id == article_id) & (Article.language == ""))
        if existing is None:
            raise ApiError("article-not-found", f"No article has the ID {article_id}.", 404)
        row = check_article(item, "article")
        Article.update(title=row["title"], content=row["content"], link=row["link"],
                       categories=row["categories"], updated=utcnow()).where(
            Article.id == existing.id).execute()
        search_backend().upsert_many("articles", [(existing.id, normalise(row["title"], row["content"]))])
        return True
    item["id"] = "new"
    row = check_article(item, "article")
    position = Article.select().where(Article.language == "").count()
    created = Article.create(**dict(row, language="", position=position))
    number = created.id
    while Article.select().where(Article.article_id == str(number)).exists():
        number += 100000
    Article.update(article_id=str(number)).where(Article.id == created.id).execute()
    search_backend().upsert_many("articles", [(created.id, normalise(row["title"], row["content"]))])
    return number


@functions("search-articles", role=AGENT, spellings={"articles_language": ("language",)})
def search_articles(ctx, search: Search, articles_language: str | bool = False):
    language = language_of(articles_language)
    match = search_backend().match("articles", search)
    if search.strip():
        ReportRow.create(name="articles-searches", value=search.strip()[:1000])
    if match is None:
        return []
    sql, params = match
    query = (Article.select().where(Article.id.in_(SQL(f"({sql})", params)))
             .order_by(Article.position, Article.id).limit(SEARCH_LIMIT))
    return [shape(a, full=False, with_language=language == "all") for a in in_language(query, language)]


@functions("get-articles-categories", role=AGENT)
def get_articles_categories(ctx):
    return ctx.settings.get("articles-categories")


@functions("save-articles-categories")
def save_articles_categories(ctx, categories: list):
    ctx.settings.set("articles-categories", categories)
    return True


@functions("article-ratings", role=AGENT)
def article_ratings(ctx, article_id: str, rating: int | bool = False):
    return rate_article(ctx, article_id, rating)


def rate_article(ctx, article_id, rating, user_id=None):
    """article-ratings; a visitor's (``user_id``) rating replaces its earlier one, so
    each visitor counts once per article."""
    if not ARTICLE_ID.match(article_id):
        raise invalid_argument("article_id", "an article id.")
    if rating is False:
        ratings = [row[0] for row in ArticleRating.select(ArticleRating.rating)
                   .where(ArticleRating.article_id == article_id).order_by(ArticleRating.id).tuples()]
        return json.dumps(ratings) if ratings else []  # Support Board 3.8: [] when none
    if rating is True or rating not in (0, 1):
        raise invalid_argument("rating", "1 (positive) or 0 (negative).")
    if not Article.select().where(Article.article_id == article_id).exists():
        raise ApiError("article-not-found", f"No article has the ID {article_id}.", 404)
    value = 1 if rating == 1 else -1
    if user_id is None or not ArticleRating.update(rating=value, creation_time=utcnow()).where(
            (ArticleRating.article_id == article_id) & (ArticleRating.user_id == user_id)).execute():
        ArticleRating.create(article_id=article_id, rating=value, user_id=user_id)
    return True
