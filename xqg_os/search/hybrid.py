"""Hybrid search: BM25 and xQG k-NN, fused client-side on any cluster.

:class:`HybridSearcher` wraps an :class:`~xqg_os.search.knn.XQGSearcher`: for each query it
sends a BM25 request (``multi_match`` over the passage text fields) and the k-NN request, each
to a candidate depth, through one ``_msearch``, and fuses the two lists with a
:class:`~xqg_os.search.fusion.Fusion` (reciprocal rank fusion, or min-max / l2 score
normalisation with weights). It is a :class:`~xqg_os.search.base.Searcher`, so ``evaluate``
ranks it beside the k-NN systems. The bodies and the fusion are
:class:`~xqg_os.search.hybrid_base.HybridSearcherBase`'s, shared with
:class:`~xqg_os.search.aiohybrid.AsyncHybridSearcher` (over ``AsyncOpenSearch``).
:meth:`HybridSearcher.plugin_search` sends the same search as one neural-search ``hybrid``
query through a search pipeline, for clusters with that plugin (see
:mod:`xqg_os.opensearch.hybrid_query`; untested here: the local node lacks the plugin).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Unpack

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.opensearch.hybrid_query import (
    DEFAULT_PIPELINE,
    hybrid_query,
    hybrid_search,
    keyword_clause,
    put_pipeline,
)
from xqg_os.opensearch.knn import run_msearch
from xqg_os.search.base import Hit
from xqg_os.search.hybrid_base import (
    DEFAULT_CANDIDATES,
    HybridParams,
    HybridSearcherBase,
    QueryVectorCache,
    hybrid_name,
    hybrid_options,
)
from xqg_os.search.knn import XQGSearcher
from xqg_os.search.request import Clause, parse_hits

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["DEFAULT_CANDIDATES", "HybridParams", "HybridSearcher", "QueryVectorCache",
           "hybrid_name"]


class HybridSearcher(HybridSearcherBase[XQGSearcher]):
    """BM25 + k-NN over one xQG index, fused client-side (arguments:
    :class:`HybridSearcherBase`).

    Every search takes ``k``, a ``filter`` clause both lists must match (a bool filter for
    BM25, the efficient k-NN filter for k-NN) and :class:`HybridParams`: ``source`` (vectors
    left out unless named), ``highlight`` (sent with the BM25 request; a hit only k-NN found
    has none), and ``size``/``from_``, a page of the fused top ``k`` (keep ``k`` the same
    from page to page: the candidates depend on it). No ``search_after``, ``sort``, bool
    ``clauses`` or ``post_filter``: the ranking is made here, not by one request.
    """

    @property
    def client(self) -> OpenSearch:
        """The k-NN searcher's client."""
        return self.knn.client

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return (self.query_cache.encode(self.knn, texts) if self.query_cache
                else self.knn.encode(texts))

    def keyword_search(self, texts: Sequence[str], size: int, filter: Clause | None = None
                       ) -> list[list[Hit]]:
        """The BM25 top ``size`` of each text (one ``_msearch`` per 100 texts)."""
        bodies = self.keyword_bodies(texts, size, filter)
        return [parse_hits(item) for item in run_msearch(self.client, self.index, bodies)]

    def candidate_lists(self, texts: Sequence[str], k: int, filter: Clause | None = None,
                        **options: Unpack[HybridParams]
                        ) -> tuple[list[list[Hit]], list[list[Hit]]]:
        """The BM25 and the k-NN candidates (:meth:`depth` each) of every text, unfused."""
        checked = hybrid_options(k, options)
        bodies = self.batch_bodies(texts, self._encode(texts), k, filter, checked)
        return self.split(run_msearch(self.client, self.index, bodies))

    def batch_search(self, texts: Sequence[str], k: int = 10, filter: Clause | None = None,
                     **options: Unpack[HybridParams]) -> list[list[Hit]]:
        """The fused top ``k`` of each text (BM25 and k-NN through one ``_msearch``).

        Args:
            texts: query texts (any language; BM25 matches their words as written).
            k: hits per text (the fused ranking's depth, pages stay within it).
            filter: a query clause both lists must match.
            options: ``source``, ``highlight``, ``size``, ``from_`` (:class:`HybridParams`).
        """
        checked = hybrid_options(k, options)
        results: list[list[Hit]] = []
        for start in range(0, len(texts), self.batch_size):
            part = list(texts[start:start + self.batch_size])
            bodies = self.batch_bodies(part, self._encode(part), k, filter, checked)
            results.extend(self.fuse_all(run_msearch(self.client, self.index, bodies), k,
                                         checked))
        return results

    def search(self, text: str, k: int = 10, filter: Clause | None = None,
               **options: Unpack[HybridParams]) -> list[Hit]:
        """The fused top ``k`` for one query text (or the page of it ``options`` ask for)."""
        return self.batch_search([text], k, filter, **options)[0]

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
