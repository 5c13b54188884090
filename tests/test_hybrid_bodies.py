"""Request bodies of hybrid search: the BM25 request of client-side fusion, and the neural-search
plugin's ``hybrid`` query and search pipelines, against the plugin's documented request format
(docs.opensearch.org: normalization-processor, score-ranker-processor, hybrid query)."""

from __future__ import annotations

import pytest

from xqg_os.errors import InputError
from xqg_os.opensearch.hybrid_query import (
    hybrid_query,
    keyword_clause,
    keyword_query,
    pipeline_body,
)
from xqg_os.opensearch.knn import SOURCE_EXCLUDES, knn_query


def test_keyword_query_matches_title_and_text() -> None:
    assert keyword_query("Eiffel Tower", 50) == {
        "size": 50,
        "query": {"multi_match": {"query": "Eiffel Tower", "fields": ["title", "text"]}},
        "_source": {"excludes": SOURCE_EXCLUDES}}
    lang = {"term": {"lang": "en"}}
    assert keyword_clause("tower", ["text"], filter=lang) == {"bool": {
        "must": [{"multi_match": {"query": "tower", "fields": ["text"]}}], "filter": [lang]}}
    with pytest.raises(InputError, match="empty query text"):
        keyword_query("  ", 10)
    with pytest.raises(InputError, match="size must be positive"):
        keyword_query("tower", 0)


def test_normalization_pipeline_as_documented() -> None:
    # the documented example: min_max, arithmetic_mean, weights 0.3 / 0.7
    body = pipeline_body("min_max:0.3")
    assert body["phase_results_processors"] == [{"normalization-processor": {
        "normalization": {"technique": "min_max"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}},
    }}]
    assert isinstance(body["description"], str)
    weights = pipeline_body("l2:0.7")["phase_results_processors"][0][
        "normalization-processor"]["combination"]["parameters"]["weights"]
    assert weights == [0.7, 0.3] and sum(weights) == 1.0  # the plugin wants a sum of 1.0
    assert pipeline_body("l2")["phase_results_processors"] == [{"normalization-processor": {
        "normalization": {"technique": "l2"}, "combination": {"technique": "arithmetic_mean"}}}]


def test_rrf_pipeline_as_documented() -> None:
    assert pipeline_body("rrf")["phase_results_processors"] == [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "rank_constant": 60}}}]
    assert pipeline_body("rrf:0.7")["phase_results_processors"] == [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "rank_constant": 60,
                        "parameters": {"weights": [0.7, 0.3]}}}}]


def test_hybrid_query_holds_both_sub_queries() -> None:
    knn = knn_query([0.5, 0.25], k=100, field="xqg_vector", ef_search=300)
    body = hybrid_query(keyword_clause("tower"), knn, size=10)
    assert body == {
        "size": 10,
        "query": {"hybrid": {"queries": [
            {"multi_match": {"query": "tower", "fields": ["title", "text"]}},
            {"knn": {"xqg_vector": {"vector": [0.5, 0.25], "k": 100,
                                    "method_parameters": {"ef_search": 300}}}}]}},
        "_source": {"excludes": SOURCE_EXCLUDES}}
    body["query"]["hybrid"]["queries"][1]["knn"]["xqg_vector"]["k"] = 1
    assert knn["query"]["knn"]["xqg_vector"]["k"] == 100  # a copy, not the caller's body
    with pytest.raises(InputError, match="size must be positive"):
        hybrid_query(keyword_clause("tower"), knn, size=0)
