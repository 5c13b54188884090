"""Integration: hybrid search (BM25 + xQG k-NN fused client-side) on the real node, over the
bundled sample. The fused ranking equals the fusion computed here by hand from the two lists
the node returns; fused scores lie in their ranges; evaluate and search take ``--hybrid``; the
neural-search plugin path says in one line that the local node lacks the plugin."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_searchers import SAMPLE, sample_index  # noqa: F401 (the module's fixture)
from xqg_os.cli import main
from xqg_os.data.evalfiles import read_queries
from xqg_os.errors import ClusterError
from xqg_os.opensearch.hybrid_query import has_neural_search, hybrid_search, keyword_clause
from xqg_os.search.base import Hit, Searcher
from xqg_os.search.hybrid import HybridSearcher, QueryVectorCache
from xqg_os.search.knn import XQGSearcher

pytestmark = pytest.mark.integration


def by_hand(keyword: Sequence[Hit], vector: Sequence[Hit], method: str,
            weights: tuple[float, float]) -> dict[str, float]:
    """The fused score of every doc of the two lists, written out from the definitions."""
    fused: dict[str, float] = {}
    for hits, weight in ((keyword, weights[0]), (vector, weights[1])):
        scores = [hit.score for hit in hits]
        for rank, hit in enumerate(hits, start=1):
            if method == "rrf":
                part = weight / (60 + rank)
            elif method == "min_max":
                low, high = min(scores), max(scores)
                part = weight * (1.0 if high == low else
                                 (hit.score - low) / (high - low) or 0.001) / sum(weights)
            else:  # l2
                part = weight * hit.score / math.sqrt(sum(s * s for s in scores)) / sum(weights)
            fused[hit.id] = fused.get(hit.id, 0.0) + part
    return fused


@pytest.mark.parametrize(("fusion", "method", "weights", "top"), [
    ("rrf", "rrf", (1.0, 1.0), 2 / 61), ("min_max", "min_max", (1.0, 1.0), 1.0),
    ("min_max:0.3", "min_max", (0.3, 0.7), 1.0), ("l2", "l2", (1.0, 1.0), 1.0)])
def test_fused_ranking_is_the_fusion_of_the_two_lists(
        os_client: Any, sample_index: dict[str, Any], fusion: str,  # noqa: F811
        method: str, weights: tuple[float, float], top: float) -> None:
    queries = read_queries(SAMPLE / "queries.jsonl")
    texts = [query.text for query in queries]
    knn = XQGSearcher(os_client, sample_index["index"])
    hybrid = HybridSearcher(knn, fusion, candidates=20)
    assert isinstance(hybrid, Searcher)
    keyword, vector = hybrid.candidate_lists(texts, 10)
    assert sum(1 for hits in keyword if hits) >= 10  # BM25 ran and matched (de, es, fr, en...)
    assert all(len(hits) == 20 for hits in vector)
    fused = hybrid.search_queries(queries, 10)
    changed = 0
    for kw, vec, got in zip(keyword, vector, fused, strict=True):
        expected = by_hand(kw, vec, method, weights)
        assert len(got) == 10 and [h.rank for h in got] == list(range(1, 11))
        assert [h.score for h in got] == sorted((h.score for h in got), reverse=True)
        for hit in got:
            assert hit.score == pytest.approx(expected[hit.id], rel=1e-9)
            assert 0.0 < hit.score <= top + 1e-12
            assert hit.text  # the passage came with its hit
        best = sorted(expected.values(), reverse=True)[:10]
        assert [h.score for h in got] == pytest.approx(best, rel=1e-9)
        changed += [h.id for h in got] != [h.id for h in vec[:10]]
    assert changed > 0  # fusion reorders some rankings


def test_search_and_evaluate_take_hybrid(sample_index: dict[str, Any],  # noqa: F811
                                         os_url: str) -> None:
    index = sample_index["index"]
    runner = CliRunner()
    found = runner.invoke(main, ["search", "--index", index, "--hybrid", "min_max:0.5",
                                 "--json", "--url", os_url, "Eiffel Tower Paris"])
    assert found.exit_code == 0, found.output
    hits = [json.loads(line) for line in found.output.splitlines() if line.startswith("{")]
    assert hits[0]["id"] == "p01" and 0 < hits[0]["score"] <= 1.0
    paged = runner.invoke(main, ["search", "--index", index, "--hybrid", "min_max:0.5",
                                 "--from", "2", "--depth", "5", "--highlight",
                                 "--source-includes", "title", "--json", "--url", os_url,
                                 "Eiffel Tower Paris"])
    assert paged.exit_code == 0, paged.output
    page = [json.loads(line) for line in paged.output.splitlines() if line.startswith("{")]
    assert [h["rank"] for h in page] == [3, 4, 5]
    assert [h["id"] for h in page] == [h["id"] for h in hits[2:5]]
    assert all(set(h["source"]) == {"title"} for h in page)
    result = runner.invoke(main, [
        "evaluate", "--queries", str(SAMPLE / "queries.jsonl"), "--qrels",
        str(SAMPLE / "qrels.txt"), "--index", index, "--fields", "xqg_vector", "--hybrid",
        "rrf", "--hybrid", "min_max:0.3", "--recall-sample", "0", "--url", os_url])
    assert result.exit_code == 0, result.output
    assert f"{index}:xqg_vector+bm25:rrf" in result.output, result.output
    assert f"{index}:xqg_vector+bm25:min_max:0.3" in result.output
    for args, message in [(["--hybrid", "bm25"], "error: --hybrid: unknown fusion 'bm25'"),
                          (["--hybrid", "rrf", "--exact"], "error: --hybrid fuses BM25")]:
        refused = runner.invoke(main, ["evaluate", "--queries", str(SAMPLE / "queries.jsonl"),
                                       "--qrels", str(SAMPLE / "qrels.txt"), "--index", index,
                                       "--url", os_url, *args])
        assert refused.exit_code == 1 and refused.output.startswith(message), refused.output


def test_plugin_path_says_the_plugin_is_missing(os_client: Any,
                                                sample_index: dict[str, Any]) -> None:  # noqa: F811
    hybrid = HybridSearcher(XQGSearcher(os_client, sample_index["index"]), "min_max:0.3")
    body = hybrid.plugin_body("Eiffel Tower", 5)
    assert body["size"] == 5
    if has_neural_search(os_client):  # a cluster with the plugin: the server fuses
        assert [h.id for h in hybrid.plugin_search("Eiffel Tower", 5)][0] == "p01"
        return
    for attempt in (lambda: hybrid.plugin_search("Eiffel Tower", 5),
                    lambda: hybrid_search(os_client, sample_index["index"], {
                        "query": {"hybrid": {"queries": [keyword_clause("tower")]}}})):
        with pytest.raises(ClusterError, match="lacks the neural-search plugin") as caught:
            attempt()
        assert "\n" not in str(caught.value)


class CountingEncoder:
    """The index's encoder, counting the query texts it encodes."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.encoded = inner, 0

    def describe(self) -> dict[str, Any]:
        return dict(self.inner.describe())

    def encode_queries(self, texts: list[str]) -> Any:
        self.encoded += len(texts)
        return self.inner.encode_queries(texts)


def test_a_shared_cache_encodes_each_query_once(os_client: Any,
                                                sample_index: dict[str, Any]) -> None:  # noqa: F811
    queries = read_queries(SAMPLE / "queries.jsonl")
    counting = CountingEncoder(XQGSearcher(os_client, sample_index["index"]).encoder)
    knn = XQGSearcher(os_client, sample_index["index"], encoder=counting)
    cache = QueryVectorCache()
    first = HybridSearcher(knn, "rrf", query_cache=cache).search_queries(queries, 10)
    other = HybridSearcher(knn.with_field("passage_vector"), "min_max", query_cache=cache)
    other.search_queries(queries, 10)
    assert counting.encoded == len({q.text for q in queries})
    plain = HybridSearcher(knn, "rrf").search_queries(queries, 10)
    assert counting.encoded == len({q.text for q in queries}) + len(queries)
    assert [[h.id for h in hits] for hits in plain] == [[h.id for h in hits] for hits in first]
