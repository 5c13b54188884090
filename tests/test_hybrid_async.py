"""Hybrid search over ``AsyncOpenSearch`` answers as the sync one does: the same request bodies
(one implementation, :class:`~xqg_os.search.hybrid_base.HybridSearcherBase`), the same fused
ranking on the real node (ids and scores), with the filter, ``_source`` selection, highlight
and pages applications ask for. Coroutines run with ``asyncio.run`` (no pytest plugin)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from tests.searchapi_data import QUERIES, ConstantEncoder, ReadOnlyClient, indexed
from tests.test_async_search import run
from xqg_os.errors import InputError
from xqg_os.opensearch.knn import SOURCE_EXCLUDES
from xqg_os.search.aio import AsyncXQGSearcher
from xqg_os.search.aiohybrid import AsyncHybridSearcher
from xqg_os.search.base import Hit
from xqg_os.search.hybrid import HybridSearcher
from xqg_os.search.hybrid_base import hybrid_options
from xqg_os.search.knn import XQGSearcher

api_index = pytest.fixture(scope="module")(indexed)
LANG_DE = {"term": {"lang": "de"}}
MARK = {"fields": {"text": {}}}


def canned(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """An ``_msearch`` response to ``lines``: BM25 bodies find d1, d2, d3 (highlighted), k-NN
    bodies d3, d4."""
    bodies = lines[1::2]
    responses = []
    for body in bodies:
        found = ([("d3", 0.9), ("d4", 0.5)] if "knn" in str(body["query"]) else
                 [("d1", 7.0), ("d2", 3.0), ("d3", 1.0)])
        responses.append({"hits": {"total": {"value": len(found)}, "hits": [
            {"_id": doc, "_index": "i", "_score": score, "_source": {"title": doc},
             **({} if "knn" in str(body["query"]) else {"highlight": {"text": [f"<em>{doc}"]}})}
            for doc, score in found]}})
    return {"responses": responses}


class RecordingClient(ReadOnlyClient):
    """A client that records the ``_msearch`` requests sent and answers :func:`canned`."""

    def __init__(self, asynchronous: bool = False) -> None:
        super().__init__(asynchronous)
        self.sent: list[list[dict[str, Any]]] = []

    def msearch(self, body: list[dict[str, Any]]) -> Any:
        self.sent.append(body)

        async def answer() -> dict[str, Any]:
            return canned(body)

        return answer() if self.asynchronous else canned(body)


def searchers(**settings: Any) -> tuple[HybridSearcher, AsyncHybridSearcher]:
    """A sync and an async hybrid searcher over recording clients, the same settings."""
    sync = XQGSearcher(RecordingClient(), "idx", encoder=ConstantEncoder())
    aio = AsyncXQGSearcher(RecordingClient(True), "idx", {}, encoder=ConstantEncoder())
    return HybridSearcher(sync, **settings), AsyncHybridSearcher(aio, **settings)


def test_sync_and_async_build_and_send_the_same_bodies() -> None:
    sync, aio = searchers(fusion="min_max:0.3", candidates=20, text_fields=("text",),
                          batch_size=2)
    options: dict[str, Any] = {"source": {"includes": ["title"]}, "highlight": MARK}
    vectors = np.ones((2, 4), dtype=np.float32)
    checked = hybrid_options(10, options)  # type: ignore[arg-type]
    bodies = sync.batch_bodies(QUERIES[:2], vectors, 10, LANG_DE, checked)
    assert bodies == aio.batch_bodies(QUERIES[:2], vectors, 10, LANG_DE, checked)
    keyword, knn = bodies[:2], bodies[2:]
    assert keyword[0] == {
        "size": 20, "query": {"bool": {"must": [{"multi_match": {
            "query": QUERIES[0], "fields": ["text"]}}], "filter": [LANG_DE]}},
        "_source": {"includes": ["title"], "excludes": SOURCE_EXCLUDES}, "highlight": MARK}
    assert all(body["query"]["knn"]["xqg_vector"]["filter"] == LANG_DE for body in knn)
    assert all(body["size"] == 20 and "highlight" not in body for body in knn)
    assert all(body["_source"] == keyword[0]["_source"] for body in knn)

    fused = sync.batch_search(QUERIES, 3, LANG_DE, **options)
    fused_async = asyncio.run(aio.batch_search(QUERIES, 3, LANG_DE, **options))
    assert sync.knn.client.sent == aio.knn.client.sent
    assert len(sync.knn.client.sent) == 2  # QUERIES in batches of 2: two _msearch requests
    assert fused == fused_async and len(fused) == 3
    # min_max 0.3/0.7: d3 = 0.3 * 0.001 + 0.7 * 1, d1 = 0.3, d4 = 0.7 * 0.001, d2 = 0.3 * 1/3
    assert [(h.id, h.rank) for h in fused[0]] == [("d3", 1), ("d1", 2), ("d2", 3)]
    assert [h.score for h in fused[0]] == pytest.approx([0.7003, 0.3, 0.1])
    assert fused[0][0].highlight == {"text": ["<em>d3"]}  # the BM25 hit's, on a k-NN hit


def test_pages_and_refused_options() -> None:
    sync, aio = searchers(fusion="rrf", candidates=5)
    whole = sync.search(QUERIES[0], 4)
    page = asyncio.run(aio.search(QUERIES[0], 4, size=2, from_=1))
    assert [(h.id, h.rank, h.score) for h in page] == [
        (h.id, h.rank, h.score) for h in whole[1:3]]
    for bad, message in [({"sort": ["_score"]}, "hybrid search takes"),
                         ({"from_": 4}, "is not below k"), ({"size": 0}, "size must be")]:
        with pytest.raises(InputError, match=message):
            sync.search(QUERIES[0], 4, **bad)
        with pytest.raises(InputError, match=message):
            asyncio.run(aio.search(QUERIES[0], 4, **bad))


def scored(hits: list[Hit]) -> list[tuple[str, int, float]]:
    return [(hit.id, hit.rank, hit.score) for hit in hits]


@pytest.mark.integration
def test_async_hybrid_ranks_as_the_sync_one(os_client: Any, os_url: str, api_index: str
                                            ) -> None:
    fusions = ("rrf", "min_max:0.3", "l2")
    sync = XQGSearcher(os_client, api_index)

    async def work(client: Any) -> Any:
        knn = await AsyncXQGSearcher.create(client, api_index)
        found = {}
        for fusion in fusions:
            hybrid = AsyncHybridSearcher(knn, fusion, candidates=20)
            found[fusion] = (await hybrid.batch_search(QUERIES, 10),
                             await asyncio.gather(*(hybrid.search(t, 10) for t in QUERIES)),
                             await hybrid.candidate_lists(QUERIES, 10))
        return found

    found = run(os_url, work)
    for fusion in fusions:
        hybrid = HybridSearcher(sync, fusion, candidates=20)
        expected = hybrid.batch_search(QUERIES, 10)
        batch, single, (keyword, vector) = found[fusion]
        assert all(len(hits) == 10 for hits in expected)
        assert all(keyword) and all(len(hits) == 20 for hits in vector)  # both lists ran
        assert [scored(hits) for hits in batch] == [scored(hits) for hits in expected], fusion
        assert [scored(hits) for hits in single] == [scored(hits) for hits in expected]


@pytest.mark.integration
def test_filter_source_and_highlight_on_the_node(os_client: Any, os_url: str,
                                                 api_index: str) -> None:
    options: dict[str, Any] = {"source": ["title", "lang"], "highlight": MARK}

    async def work(client: Any) -> Any:
        knn = await AsyncXQGSearcher.create(client, api_index)
        hybrid = AsyncHybridSearcher(knn, "min_max:0.3", candidates=20)
        return (await hybrid.batch_search(QUERIES, 10, LANG_DE, **options),
                await hybrid.candidate_lists(QUERIES, 10, LANG_DE),
                await hybrid.search(QUERIES[0], 5))

    filtered, (keyword, vector), plain = run(os_url, work)
    sync = HybridSearcher(XQGSearcher(os_client, api_index), "min_max:0.3", candidates=20)
    assert [scored(h) for h in filtered] == [
        scored(h) for h in sync.batch_search(QUERIES, 10, LANG_DE, **options)]
    assert all(keyword) and all(vector)
    for hits in [*filtered, *keyword, *vector]:
        assert hits and all(hit.lang == "de" for hit in hits)  # the filter holds in both lists
    marked = 0
    for kw, hits in zip(keyword, filtered, strict=True):
        by_bm25 = {hit.id for hit in kw}
        for hit in hits:
            assert set(hit.source) == {"title", "lang"} and not hit.text
            assert bool(hit.highlight) == (hit.id in by_bm25)  # BM25's highlight, k-NN none
            marked += sum("<em>" in part for part in hit.highlight.get("text", []))
    assert marked > 0
    assert plain[0].text and not set(SOURCE_EXCLUDES) & set(plain[0].source)  # no vectors
