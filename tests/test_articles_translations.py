"""The knowledge base and the translations."""

import json
import os

import pytest

from sbcore.testing import assert_shape, reference_example
from wire import assert_has_shape

ARTICLES = {"articles": [
    {"id": "6P2Oq", "title": "What's new with the API V2?", "content": "The API V2 is the new iteration "
     "of our developer API. The new API integrates webhooks, pagination and much more for everyone.",
     "link": "https://board.support", "categories": ["K92kl"]},
    {"id": "qf7kD", "title": "Should I move to the new system?", "content": "Yes. Refunds are faster.",
     "link": "", "categories": ["ols85"]},
]}
TRANSLATIONS = {"it": [{"id": "6P2Oq", "title": "Novità dell'API V2", "content": "La API V2 è nuova.",
                        "link": "", "categories": ["K92kl"]}]}


@pytest.fixture
def articles(api):
    assert api.ok("save-articles", articles=ARTICLES, translations=TRANSLATIONS) is True


def test_get_articles_excerpts_full_and_single(api, articles):
    rows = api.ok("get-articles")
    assert [r["id"] for r in rows] == ["6P2Oq", "qf7kD"]
    assert rows[0]["content"].endswith(" ...") and len(rows[0]["content"]) <= 104
    assert_has_shape(rows, reference_example("get-articles"))
    assert api.ok("get-articles", full=True)[0]["content"] == ARTICLES["articles"][0]["content"]
    [single] = api.ok("get-articles", id="6P2Oq")  # Support Board 3.8: always an array
    assert single["content"] == ARTICLES["articles"][0]["content"] and single["categories"] == ["K92kl"]
    assert api.ok("get-articles", id="nope1") == []
    assert len(api.ok("get-articles", count=1)) == 1
    assert [r["id"] for r in api.ok("get-articles", categories="ols85")] == ["qf7kD"]
    api.ok("save-articles-categories", categories=[{"id": "K92kl", "title": "Business"}])
    both = api.ok("get-articles", categories=True)
    assert len(both) == 2 and both[1] == [{"id": "K92kl", "title": "Business"}]


def test_articles_languages(api, articles):
    assert api.ok("get-articles", articles_language="it")[0]["title"] == "Novità dell'API V2"
    assert api.ok("get-articles", id="6P2Oq", articles_language="it")[0]["title"] == "Novità dell'API V2"
    assert api.ok("get-articles", id="qf7kD", articles_language="it")[0]["title"].startswith("Should")
    # Support Board 3.8's spelling of the argument
    assert api.ok("get-articles", language="it")[0]["title"] == "Novità dell'API V2"
    assert [r["id"] for r in api.ok("get-articles", articles_language="de")] == ["6P2Oq", "qf7kD"]
    everything = api.ok("get-articles", articles_language="all")
    assert sorted((r["id"], r["language"]) for r in everything) == [
        ("6P2Oq", ""), ("6P2Oq", "it"), ("qf7kD", "")]
    assert api.call("get-articles", articles_language="<x>").status == 400


def test_save_articles_replaces_all_and_refuses_bad_input(api, articles, snapshot):
    before = snapshot()
    for bad in ({"articles": [{"id": "a/b", "title": "x"}]}, {"articles": [{"title": ""}]},
                {"articles": [{"title": "x", "link": "javascript:alert(1)"}]},
                {"articles": [{"id": "dup", "title": "a"}, {"id": "dup", "title": "b"}]}, "nonsense"):
        assert api.call("save-articles", articles=bad).status == 400, bad
    assert api.call("save-articles", articles=ARTICLES, translations={"../x": []}).status == 400
    assert snapshot() == before
    api.ok("save-articles", articles={"articles": [{"title": "Only one"}]})
    rows = api.ok("get-articles")
    assert [r["title"] for r in rows] == ["Only one"] and len(rows[0]["id"]) >= 4
    assert api.ok("search-articles", search="refunds") == []


def test_search_articles(api, articles):
    found = api.ok("search-articles", search="webhooks pagination")
    assert [r["id"] for r in found] == ["6P2Oq"]
    assert_has_shape(found, reference_example("search-articles"))
    assert [r["id"] for r in api.ok("search-articles", search="refund")] == ["qf7kD"]
    assert [r["title"] for r in api.ok("search-articles", search="nuova", articles_language="it")] == [
        "Novità dell'API V2"]
    assert api.ok("search-articles", search="zzzz") == []
    assert api.call("search-articles", search='" OR *').status == 200


def test_categories_and_ratings(api, articles, snapshot):
    categories = [{"id": "Nv9PG", "title": "Business"}, {"id": "csPVh", "title": "Travel"}]
    assert api.ok("save-articles-categories", categories=categories) is True
    assert api.ok("get-articles-categories") == categories
    assert_shape(categories, reference_example("get-articles-categories"))
    assert api.call("save-articles-categories", categories=[{"id": "a b", "title": "x"}]).status == 400
    assert api.ok("article-ratings", article_id="6P2Oq") == []  # none: Support Board 3.8's []
    for rating in (1, 0, 1):
        assert api.ok("article-ratings", article_id="6P2Oq", rating=rating) is True
    assert json.loads(api.ok("article-ratings", article_id="6P2Oq")) == [1, -1, 1]
    before = snapshot()
    assert api.call("article-ratings", article_id="6P2Oq", rating=5).status == 400
    assert api.call("article-ratings", article_id="ghost", rating=1).status == 404
    assert snapshot() == before


def test_save_article_is_3_8s_one_article_save(api, articles):
    new_id = api.ok("save-article", article={"title": "Third", "content": "More text"})
    assert isinstance(new_id, int)  # a just-created id is a number, as in 3.8
    assert [r["id"] for r in api.ok("get-articles")] == ["6P2Oq", "qf7kD", str(new_id)]
    assert api.ok("save-article", article={"id": str(new_id), "title": "Third!"}) is True
    assert api.ok("get-articles", id=str(new_id))[0]["title"] == "Third!"
    assert api.call("save-article", article={"id": "ghost", "title": "x"}).status == 404


def test_translations_shipped_for_ten_languages(api):
    catalogs = api.ok("get-translations")
    assert len([c for c in catalogs if c != "en"]) >= 10
    italian = api.ok("get-translation", language_code="it")
    assert italian["name"] == "Italian" and italian["front"]["Send"] == "Invia"
    assert set(italian) == {"name", "front", "admin", "admin/js", "admin/settings"}
    english = api.ok("get-translation", language_code="en")
    assert english["front"]["Send"] == "Send"
    for code, catalog in catalogs.items():
        assert set(catalog["front"]) == set(english["front"]), code
    assert api.ok("get-translation", language_code="xx") is False
    assert api.call("get-translation", language_code="../../etc").status == 400


def test_translate_string_falls_back(api):
    assert api.ok("translate-string", string="Send", language_code="de") == "Senden"
    assert api.ok("translate-string", string="Never translated", language_code="de") == "Never translated"
    assert api.ok("translate-string", string="Send") == "Send"
    assert api.ok("translate-string", string="Send", language_code="xx") == "Send"


def test_save_translations_writes_the_data_folder_with_a_backup(api, core):
    import sbcore.translations as T
    shipped = os.path.join(T.SHIPPED, "it.json")
    with open(shipped, "rb") as handle:
        original = handle.read()
    assert api.ok("save-translations", translations={"it": {"front": {"Send": "Manda"}}}) is True
    assert api.ok("translate-string", string="Send", language_code="it") == "Manda"
    with open(shipped, "rb") as handle:
        assert handle.read() == original  # the package is never written
    assert os.path.exists(os.path.join(core.config.data_dir, "languages", "it.json"))
    backups = [os.path.join(folder, name) for folder, _, names in
               os.walk(os.path.join(core.config.uploads_dir, "backups")) for name in names]
    import re
    assert len(backups) == 1 and re.search(r"-translations-\d{8}-\d{6}\.json$", backups[0])
    with open(backups[0], encoding="utf-8") as handle:
        assert json.load(handle)["it"]["front"]["Send"] == "Invia"


def test_save_translations_of_nothing_is_true(api, core):
    assert api.ok("save-translations", translations={}) is True  # as Support Board 3.8


@pytest.mark.parametrize("translations", [{"../../x": {"front": {}}}, {"it": {"front": {"a": 1}}},
                                          {"it": {"front": [], "admin": {}}}, {"it": {"evil": {}}}, []])
def test_save_translations_refuses_corrupt_input(api, core, translations):
    result = api.call("save-translations", translations=translations)
    assert result.status == 400
    assert not os.path.exists(os.path.join(core.config.data_dir, "languages"))


def test_shipped_catalogs_are_complete():
    """Every shipped language translates every string, keeping its {placeholders}."""
    import sbcore.translations as T
    from sbcore.languages.check import check
    assert check(T.SHIPPED) == []
