"""Hybrid search: BM25 and xQG k-NN, fused client-side on any cluster.

:class:`HybridSearcher` wraps an :class:`~xqg_os.search.knn.XQGSearcher`: for each query it
sends a BM25 request (``multi_match`` over the passage text fields) and the k-NN request, each
to a candidate depth, through ``_msearch``, and fuses the two lists with a
:class:`~xqg_os.search.fusion.Fusion` (reciprocal rank fusion, or min-max / l2 score
normalisation with weights). It is a :class:`~xqg_os.search.base.Searcher`, so ``evaluate``
ranks it beside the k-NN systems. :meth:`HybridSearcher.plugin_search` sends the same search
as one neural-search ``hybrid`` query through a search pipeline, for clusters with that plugin
(see :mod:`xqg_os.opensearch.hybrid_query`; untested here: the local node lacks the plugin).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.errors import InputError
from xqg_os.opensearch.hybrid_query import (
    DEFAULT_PIPELINE,
    TEXT_FIELDS,
    hybrid_query,
    hybrid_search,
    keyword_clause,
    keyword_query,
    put_pipeline,
)
from xqg_os.opensearch.knn import run_msearch
from xqg_os.search.base import Hit
from xqg_os.search.fusion import Fusion, fuse, parse_fusion
from xqg_os.search.request import Clause, parse_hits

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from xqg_os.search.knn import XQGSearcher

__all__ = ["DEFAULT_CANDIDATES", "HybridSearcher", "QueryVectorCache", "hybrid_name"]

# candidates per list: the neural-search docs find 100-200 best for nDCG@10 up to 10M documents
DEFAULT_CANDIDATES = 100


def hybrid_name(system: str, fusion: Fusion | str) -> str:
    """How a hybrid system is named in tables: ``index:field+bm25:rrf``."""
    return f"{system}+bm25:{parse_fusion(fusion).name}"


class QueryVectorCache:
    """Query vectors by encoder and text, shared by hybrid searchers so that an evaluation of
    several fusions and fields encodes each query once (the k-NN systems share theirs in
    :func:`~xqg_os.search.runs.retrieve`)."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[int, str], np.ndarray] = {}

    def encode(self, knn: XQGSearcher, texts: Sequence[str]) -> np.ndarray:
        """The vectors of ``texts`` by ``knn``'s encoder, encoding only those not seen yet."""
        key = id(knn.encoder)
        missing = [t for t in dict.fromkeys(texts) if (key, t) not in self._vectors]
        if missing:
            self._vectors.update({(key, t): v for t, v in zip(missing, knn.encode(missing),
                                                               strict=True)})
        return np.stack([self._vectors[key, t] for t in texts])


class HybridSearcher:
    """BM25 + k-NN over one xQG index, fused client-side.

    Args:
        knn: the k-NN searcher (its client, index, vector field, encoder and ``ef_search``).
        fusion: a :class:`~xqg_os.search.fusion.Fusion` or its spelling: ``rrf``,
            ``min_max``, ``l2``, optionally ``:WEIGHT``, the BM25 weight in [0, 1]
            (``min_max:0.3``: 0.3 BM25, 0.7 k-NN).
        candidates: hits each of the two lists contributes (at least ``k``); None:
            :data:`DEFAULT_CANDIDATES`.
        text_fields: the text fields BM25 matches (``title`` and ``text`` of an xQG index).
        batch_size: queries encoded and sent per ``_msearch`` round.
        query_cache: query vectors shared with other hybrid searchers of the same encoder
            (None: encode every call).
    """

    def __init__(self, knn: XQGSearcher, fusion: Fusion | str = "rrf",
                 candidates: int | None = None, text_fields: Sequence[str] = TEXT_FIELDS,
                 batch_size: int = 256, query_cache: QueryVectorCache | None = None
                 ) -> None:
        if candidates is not None and candidates < 1:
            raise InputError(f"candidates must be positive, not {candidates}",
                             param="candidates")
        if batch_size < 1:
            raise InputError(f"batch_size must be positive, not {batch_size}",
                             param="batch_size")
        self.knn = knn
        self.fusion = parse_fusion(fusion)
        self.candidates = candidates
        self.text_fields = tuple(text_fields)
        self.batch_size = batch_size
        self.query_cache = query_cache

    @property
    def client(self) -> OpenSearch:
        """The k-NN searcher's client."""
        return self.knn.client

    @property
    def index(self) -> str:
        """The index (or alias) searched."""
        return self.knn.index

    def depth(self, k: int) -> int:
        """Candidates per list for a top-``k`` search."""
        if k < 1:
            raise InputError(f"k must be positive, not {k}", param="k")
        return max(k, self.candidates or DEFAULT_CANDIDATES)

    def keyword_search(self, texts: Sequence[str], size: int, filter: Clause | None = None
                       ) -> list[list[Hit]]:
        """The BM25 top ``size`` of each text (one ``_msearch`` per 100 texts)."""
        bodies = [keyword_query(text, size, self.text_fields, dict(filter) if filter else None)
                  for text in texts]
        return [parse_hits(item) for item in run_msearch(self.client, self.index, bodies)]

    def candidate_lists(self, texts: Sequence[str], k: int, filter: Clause | None = None
                        ) -> tuple[list[list[Hit]], list[list[Hit]]]:
        """The BM25 and the k-NN candidates (:meth:`depth` each) of every text, unfused."""
        depth = self.depth(k)
        keyword = self.keyword_search(texts, depth, filter)
        vectors = (self.query_cache.encode(self.knn, texts) if self.query_cache
                   else self.knn.encode(texts))
        vector = self.knn.search_vectors(vectors, depth, filter=filter)
        return keyword, vector

    def fuse(self, keyword: Sequence[Hit], vector: Sequence[Hit], k: int) -> list[Hit]:
        """The fused top ``k`` of one query's two lists: the fused score, ranks from 1, the rest
        of each hit (text, source...) as its list returned it (the k-NN list's if both)."""
        found = {hit.id: hit for hit in keyword}
        found.update({hit.id: hit for hit in vector})
        ranked = fuse([[(h.id, h.score) for h in keyword], [(h.id, h.score) for h in vector]],
                      self.fusion, k)
        return [dataclasses.replace(found[doc], score=score, rank=rank)
                for rank, (doc, score) in enumerate(ranked, start=1)]

    def batch_search(self, texts: Sequence[str], k: int = 10, filter: Clause | None = None
                     ) -> list[list[Hit]]:
        """The fused top ``k`` of each text (BM25 and k-NN each through ``_msearch``).

        Args:
            texts: query texts (any language; BM25 matches their words as written).
            k: hits per text.
            filter: a query clause both lists must match (a bool filter for BM25, the
                efficient k-NN filter for k-NN).
        """
        results: list[list[Hit]] = []
        for start in range(0, len(texts), self.batch_size):
            part = list(texts[start:start + self.batch_size])
            keyword, vector = self.candidate_lists(part, k, filter)
            results.extend(self.fuse(kw, vec, k) for kw, vec in zip(keyword, vector, strict=True))
        return results

    def search(self, text: str, k: int = 10, filter: Clause | None = None) -> list[Hit]:
        """The fused top ``k`` for one query text."""
        return self.batch_search([text], k, filter)[0]

    def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """The fused top ``k`` of evaluation queries (the :class:`Searcher` protocol)."""
        return self.batch_search([query.text for query in queries], k)

    def plugin_body(self, text: str, k: int = 10, filter: Clause | None = None
                    ) -> dict[str, object]:
        """The neural-search ``hybrid`` request body for ``text``: BM25 and k-NN sub-queries,
        each to :meth:`depth` candidates, ``size`` ``k``."""
        depth = self.depth(k)
        keyword = keyword_clause(text, self.text_fields, dict(filter) if filter else None)
        knn = self.knn.knn_query(self.knn.encode([text])[0], depth, filter=filter)
        return hybrid_query(keyword, knn, size=k)

    def plugin_search(self, text: str, k: int = 10, filter: Clause | None = None,
                      pipeline: str = DEFAULT_PIPELINE, create_pipeline: bool = True
                      ) -> list[Hit]:
        """The same search fused on the server: a ``hybrid`` query through the search pipeline
        ``pipeline`` (created or replaced for this searcher's fusion unless
        ``create_pipeline`` is False). Needs the neural-search plugin; untested here.

        Raises:
            ClusterError: the cluster lacks the plugin (one line) or refused the request.
        """
        if create_pipeline:
            put_pipeline(self.client, self.fusion, pipeline)
        body = self.plugin_body(text, k, filter)
        return parse_hits(hybrid_search(self.client, self.index, body, pipeline))
