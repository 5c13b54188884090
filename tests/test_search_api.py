"""The search API applications use: pages (``from_``/``size``, ``search_after``) within the ``k``
candidates, ``_source`` selection, highlight, bool clauses, post filters, efficient k-NN
filters, and the Hit's index and raw source; request building and hit parsing without a node,
then on the real node."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from tests.searchapi_data import LANGS, QUERIES, ConstantEncoder, ReadOnlyClient, indexed
from xqg_os.errors import InputError
from xqg_os.search.base import Hit
from xqg_os.search.request import (
    SearchOptions,
    parse_hits,
    parse_page,
    search_body,
    source_spec,
)

VECTOR = [0.5, -0.25, 1.0]


def test_hit_keeps_its_positional_constructor_and_hash() -> None:
    hit = Hit("d1", 0.5, "en", "T", "text", 3)
    assert (hit.rank, hit.index, dict(hit.source), dict(hit.highlight)) == (3, "", {}, {})
    with_source = Hit("d1", 0.5, "en", "T", "text", 3, source={"a": [1]},
                      highlight={"text": ["x"]})
    assert hash(with_source) == hash(hit) and with_source != hit


def test_body_pages_within_k_candidates() -> None:
    body = search_body(VECTOR, 30, "xqg_vector", 100, options=SearchOptions(size=10, from_=10))
    assert (body["size"], body["from"]) == (10, 10)
    assert body["query"]["knn"]["xqg_vector"]["k"] == 30
    assert body["sort"][0] == {"_score": "desc"} and body["track_scores"] is True
    last = search_body(VECTOR, 25, "xqg_vector", 100, options=SearchOptions(size=10, from_=20))
    assert last["size"] == 5  # the last page is cut at the k-th candidate
    assert search_body(VECTOR, 25, "xqg_vector", 100,
                       options=SearchOptions(from_=5))["size"] == 20
    with pytest.raises(InputError, match="from_ = 25 is not below k = 25") as info:
        search_body(VECTOR, 25, "xqg_vector", 100, options=SearchOptions(size=5, from_=25))
    assert info.value.params == ("from_", "k")
    for bad, param in ((SearchOptions(from_=-1), "from_"), (SearchOptions(size=0), "size")):
        with pytest.raises(InputError) as info:
            search_body(VECTOR, 25, "xqg_vector", 100, options=bad)
        assert info.value.param == param


def test_search_after_is_sent_without_from() -> None:
    options = SearchOptions(size=5, from_=5, search_after=[1.5, "d3"])
    body = search_body(VECTOR, 20, "xqg_vector", 100, options=options)
    assert body["search_after"] == [1.5, "d3"] and "from" not in body
    assert body["size"] == 5


def test_source_selection_leaves_vectors_out_unless_named() -> None:
    assert source_spec(None) == {"excludes": ["passage_vector", "xqg_vector"]}
    assert source_spec(False) is False
    assert source_spec(["title"]) == {"includes": ["title"],
                                      "excludes": ["passage_vector", "xqg_vector"]}
    assert source_spec({"includes": ["title", "xqg_vector"]}) == {
        "includes": ["title", "xqg_vector"], "excludes": ["passage_vector"]}
    assert source_spec({"excludes": ["text"]}) == {
        "excludes": ["text", "passage_vector", "xqg_vector"]}
    with pytest.raises(InputError, match="includes and excludes"):
        source_spec({"include": ["title"]})


def test_clauses_wrap_the_knn_clause_in_a_bool_query() -> None:
    options = SearchOptions(clauses={"filter": {"term": {"lang": "fr"}},
                                     "must_not": [{"term": {"passage_id": "d3"}}]},
                            post_filter={"term": {"lang": "fr"}},
                            highlight={"fields": {"text": {}}})
    body = search_body(VECTOR, 10, "xqg_vector", 100, filter={"term": {"lang": "de"}},
                       options=options)
    bool_query = body["query"]["bool"]
    assert bool_query["must"][0]["knn"]["xqg_vector"]["filter"] == {"term": {"lang": "de"}}
    assert bool_query["filter"] == [{"term": {"lang": "fr"}}]
    assert bool_query["must_not"] == [{"term": {"passage_id": "d3"}}]
    assert body["post_filter"] == {"term": {"lang": "fr"}}
    assert body["highlight"] == {"fields": {"text": {}}}
    with pytest.raises(InputError, match="unknown bool clause"):
        search_body(VECTOR, 10, "xqg_vector", 100, options=SearchOptions(clauses={"or": []}))
    with pytest.raises(InputError, match="unknown search option"):
        SearchOptions.of({"size": 3, "form_": 2})  # type: ignore[typeddict-unknown-key]


def test_parse_hits_of_any_response() -> None:
    response: dict[str, Any] = {"hits": {"total": {"value": 7}, "hits": [
        {"_index": "i1", "_id": "a", "_score": 2.5,
         "_source": {"lang": "en", "title": "A", "text": "alpha", "extra": 1},
         "highlight": {"text": ["<em>alpha</em>"]}},
        {"_index": "i1", "_id": 7, "_score": None}]}}
    first, second = parse_hits(response, start_rank=4)
    assert (first.id, first.score, first.rank, first.index) == ("a", 2.5, 4, "i1")
    assert (first.lang, first.title, first.text) == ("en", "A", "alpha")
    assert first.source == {"lang": "en", "title": "A", "text": "alpha", "extra": 1}
    assert first.highlight == {"text": ["<em>alpha</em>"]}
    assert second.id == "7" and math.isnan(second.score) and second.source == {}
    assert [h.id for h in parse_hits(response["hits"]["hits"])] == ["a", "7"]


def _response(count: int, total: int) -> dict[str, Any]:
    return {"hits": {"total": {"value": total}, "hits": [
        {"_id": f"d{i}", "_score": 1.0 / (i + 1), "_source": {}, "sort": [1.0 / (i + 1), f"d{i}"]}
        for i in range(count)]}}


def test_parse_page_says_where_the_next_page_starts() -> None:
    page = parse_page(_response(5, 40), 20, SearchOptions(size=5, from_=10))
    assert [h.rank for h in page.hits] == [11, 12, 13, 14, 15]
    assert (page.total, page.next_from, page.search_after) == (40, 15, [0.2, "d4"])
    end = parse_page(_response(5, 40), 20, SearchOptions(size=5, from_=15))
    assert (end.next_from, end.search_after) == (None, None)  # the k candidates are used up
    short = parse_page(_response(3, 13), 20, SearchOptions(size=5, from_=10))
    assert short.next_from is None  # fewer matches than a page


def test_a_read_only_role_needs_the_encoder() -> None:
    from xqg_os.opensearch.failures import PrivilegeError
    from xqg_os.search.knn import XQGSearcher

    client: Any = ReadOnlyClient()
    with pytest.raises(PrivilegeError, match="user 'reader' may not read the mapping") as info:
        XQGSearcher(client, "docs")
    assert info.value.params == ("encoder",)
    encoder = ConstantEncoder()
    searcher = XQGSearcher(client, "docs", encoder=encoder)
    assert searcher.encoder is encoder and searcher.meta == {}


api_index = pytest.fixture(scope="module")(indexed)


@pytest.fixture(scope="module")
def searcher(os_client: Any, api_index: str) -> Any:
    from xqg_os.search.knn import XQGSearcher

    return XQGSearcher(os_client, api_index)


@pytest.mark.integration
def test_pages_walk_the_k_candidates(searcher: Any, api_index: str) -> None:
    k = 20
    whole = searcher.search(QUERIES[0], k=k)
    assert len(whole) == k and [h.rank for h in whole] == list(range(1, k + 1))
    assert all(h.index == api_index and h.source["passage_id"] == h.id for h in whole)
    assert all("xqg_vector" not in h.source for h in whole)
    by_from, by_after, start, after = [], [], 0, None
    while True:
        page = searcher.search_page(QUERIES[0], k=k, size=7, from_=start)
        by_from += page.hits
        following = searcher.search_page(QUERIES[0], k=k, size=7, from_=start,
                                         search_after=after)
        by_after += following.hits
        assert following.next_from == page.next_from
        if page.next_from is None:
            break
        start, after = page.next_from, following.search_after
    assert [(h.id, h.rank) for h in by_from] == [(h.id, h.rank) for h in whole]
    assert [(h.id, h.rank) for h in by_after] == [(h.id, h.rank) for h in whole]
    assert [h.score for h in by_after] == pytest.approx([h.score for h in whole])
    with pytest.raises(InputError, match="is not below k"):
        searcher.search(QUERIES[0], k=k, from_=k)


@pytest.mark.integration
def test_efficient_filter_fills_k_where_a_bool_filter_cuts(os_client: Any, api_index: str
                                                           ) -> None:
    from xqg_os.search.knn import XQGSearcher

    # candidates = ef_search (lucene engine, one shard): 10, so that a bool filter has 10
    searcher = XQGSearcher(os_client, api_index, ef_search=10)
    french = {"term": {"lang": "fr"}}
    efficient = searcher.search(QUERIES[1], k=10, filter=french)
    assert len(efficient) == 10 and {h.lang for h in efficient} == {"fr"}
    # a bool filter acts on the 10 candidates only: about a third of them are French
    post = searcher.search(QUERIES[1], k=10, clauses={"filter": french})
    assert {h.lang for h in post} <= {"fr"} and len(post) < 10
    post_filtered = searcher.search(QUERIES[1], k=10, post_filter=french)
    assert [h.id for h in post_filtered] == [h.id for h in post]
    unfiltered = searcher.search(QUERIES[1], k=10)
    assert [h.id for h in post] == [h.id for h in unfiltered if h.lang == "fr"]
    without = searcher.search(QUERIES[1], k=10, clauses={"must_not": [french]})
    assert [h.id for h in without] == [h.id for h in unfiltered if h.lang != "fr"]
    assert set(LANGS) >= {h.lang for h in unfiltered}


@pytest.mark.integration
def test_source_selection_and_highlight(searcher: Any) -> None:
    titles = searcher.search(QUERIES[2], k=5, source=["title"])
    assert all(set(h.source) == {"title"} and h.text == "" for h in titles)
    vectors = searcher.search(QUERIES[2], k=5, source={"includes": ["xqg_vector"]})
    assert all(len(h.source["xqg_vector"]) == 32 for h in vectors)
    assert [h.id for h in vectors] == [h.id for h in titles]
    word = QUERIES[2].split()[0]
    lit = searcher.search(QUERIES[2], k=10, highlight={
        "fields": {"text": {}}, "highlight_query": {"match": {"text": word}}})
    marked = [h for h in lit if h.highlight]
    assert marked and all(f"<em>{word}</em>" in h.highlight["text"][0] for h in marked)
    assert all(word in h.text for h in marked)
    assert [h.score for h in lit] == pytest.approx(
        [h.score for h in searcher.search(QUERIES[2], k=10)])  # highlight leaves scores alone


@pytest.mark.integration
def test_vectors_and_batches_take_the_same_options(searcher: Any) -> None:
    vectors = searcher.encode(QUERIES)
    pages = searcher.search_vectors(vectors, k=12, size=4, from_=4, source=["passage_id"])
    batch = searcher.batch_search(QUERIES, k=12, size=4, from_=4, source=["passage_id"])
    assert [[(h.id, h.rank) for h in hits] for hits in pages] == \
        [[(h.id, h.rank) for h in hits] for hits in batch]
    for text, hits in zip(QUERIES, pages):
        whole = searcher.search(text, k=12)
        assert [h.id for h in hits] == [h.id for h in whole[4:8]]
        assert [h.rank for h in hits] == [5, 6, 7, 8]
    assert searcher.knn_query(np.zeros(32), k=5)["_source"] == {
        "excludes": ["passage_vector", "xqg_vector"]}


def test_cli_ef_search_defaults_to_the_library_default() -> None:
    from xqg_os.cli import main

    command = main.commands["search"]
    ctx = command.make_context("search", ["--index", "x", "text"])
    assert ctx.params["ef_search"] is None  # XQGSearcher's default_ef_search(--depth)
    assert ctx.params["from_"] == 0


@pytest.mark.integration
def test_cli_json_prints_the_hit_fields(searcher: Any, api_index: str, os_url: str) -> None:
    from click.testing import CliRunner

    from xqg_os.cli import main

    base = ["search", "--index", api_index, "--url", os_url, "--json", QUERIES[0]]
    result = CliRunner().invoke(main, [*base, "--depth", "9", "--from", "3",
                                       "--filter", '{"terms": {"lang": ["fr", "de"]}}',
                                       "--source-includes", "title,text", "--highlight"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    expected = searcher.search(QUERIES[0], k=9, filter={"terms": {"lang": ["fr", "de"]}})[3:]
    assert [(r["id"], r["rank"]) for r in lines] == [(h.id, h.rank) for h in expected]
    assert list(lines[0]) == ["index", "id", "score", "rank", "lang", "title", "text", "source",
                              "highlight"]
    assert all(r["index"] == api_index and set(r["source"]) == {"title", "text"}
               and r["lang"] == "" for r in lines)
    word = QUERIES[0].split()[0]
    assert any(f"<em>{word}</em>" in " ".join(r["highlight"].get("text", [])) for r in lines)
    table = CliRunner().invoke(main, [*base[:-2], "--highlight", "--depth", "5", QUERIES[0]])
    assert table.exit_code == 0 and f"<em>{word}</em>" in table.output

    for args, message in (([*base, "--depth", "5", "--from", "5"], "--from = 5 is not below "
                           "--depth = 5"),
                          ([*base, "--filter", "{lang: en}"], "not JSON"),
                          ([*base, "--filter", "[1]"], "a query clause is a JSON object")):
        bad = CliRunner().invoke(main, args)
        assert bad.exit_code != 0 and message in bad.output, bad.output
        assert "Traceback" not in bad.output
