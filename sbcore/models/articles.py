import peewee as pw

from ..db import BaseModel, utcnow


class Article(BaseModel):
    """A knowledge-base article in one language: ``language`` is "" for the default
    language; translations share the ``article_id`` of their original."""

    article_id = pw.CharField(max_length=32)
    language = pw.CharField(max_length=8, default="")
    title = pw.CharField(max_length=512)
    content = pw.TextField(default="")
    link = pw.CharField(max_length=512, default="")
    categories = pw.TextField(default="[]")
    position = pw.IntegerField(default=0)
    views = pw.IntegerField(default=0)
    updated = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sb_articles"
        indexes = ((("article_id", "language"), True), (("language", "position"), False))


class ArticleRating(BaseModel):
    article_id = pw.CharField(max_length=32, index=True)
    rating = pw.SmallIntegerField()  # 1 positive, -1 negative
    creation_time = pw.DateTimeField(default=utcnow)
    # the visitor who rated (one rating per visitor per article); None for the Web API's
    user_id = pw.IntegerField(null=True)

    class Meta:
        table_name = "sb_article_ratings"
        indexes = ((("article_id", "user_id"), True),)


class ArticleView(BaseModel):
    """An article one viewer (a visitor, or an address) read on one day: views count once
    per viewer per day."""

    article_id = pw.CharField(max_length=32)
    viewer = pw.CharField(max_length=64)
    day = pw.DateField(index=True)

    class Meta:
        table_name = "sb_article_views"
        indexes = ((("article_id", "viewer", "day"), True),)
