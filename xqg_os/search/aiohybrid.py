"""Hybrid search (BM25 + xQG k-NN, fused client-side) over ``opensearchpy.AsyncOpenSearch``.

:class:`AsyncHybridSearcher` wraps an :class:`~xqg_os.search.aio.AsyncXQGSearcher` and answers
as :class:`~xqg_os.search.hybrid.HybridSearcher` does (``await search(...)``,
``batch_search``, ``search_queries``), with the same arguments, options and fusion: both build
their bodies and fuse with :class:`~xqg_os.search.hybrid_base.HybridSearcherBase` and only send
the requests. Query encoding runs in a worker thread (the k-NN searcher's ``encode``), so the
event loop stays free. Needs ``aiohttp`` (``pip install 'xqg-os[async]'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Unpack

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.search.aio import AsyncXQGSearcher
from xqg_os.search.base import Hit
from xqg_os.search.hybrid_base import HybridParams, HybridSearcherBase, hybrid_options
from xqg_os.search.request import Clause

if TYPE_CHECKING:
    from opensearchpy import AsyncOpenSearch

__all__ = ["AsyncHybridSearcher"]


class AsyncHybridSearcher(HybridSearcherBase[AsyncXQGSearcher]):
    """BM25 + k-NN over one xQG index through ``AsyncOpenSearch``, fused client-side.

    Arguments, options and results as :class:`~xqg_os.search.hybrid.HybridSearcher`'s
    (``knn`` an :class:`~xqg_os.search.aio.AsyncXQGSearcher`); no pagination beyond
    ``size``/``from_`` within the fused top ``k``, and no neural-search plugin path.
    """

    @property
    def client(self) -> AsyncOpenSearch:
        """The k-NN searcher's client."""
        return self.knn.client

    async def _encode(self, texts: Sequence[str]) -> np.ndarray:
        cache = self.query_cache
        if cache is None:
            return await self.knn.encode(texts)
        missing = cache.missing(self.knn.encoder, texts)  # as QueryVectorCache.encode, awaited
        return cache.complete(self.knn.encoder, texts, missing,
                              await self.knn.encode(missing) if missing else None)

    async def _msearch(self, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return await self.knn._msearch(bodies)

    async def candidate_lists(self, texts: Sequence[str], k: int, filter: Clause | None = None,
                              **options: Unpack[HybridParams]
                              ) -> tuple[list[list[Hit]], list[list[Hit]]]:
        """The BM25 and the k-NN candidates (:meth:`depth` each) of every text, unfused."""
        checked = hybrid_options(k, options)
        bodies = self.batch_bodies(texts, await self._encode(texts), k, filter, checked)
        return self.split(await self._msearch(bodies))

    async def batch_search(self, texts: Sequence[str], k: int = 10,
                           filter: Clause | None = None, **options: Unpack[HybridParams]
                           ) -> list[list[Hit]]:
        """The fused top ``k`` of each text (BM25 and k-NN through one ``_msearch``; see
        :meth:`HybridSearcher.batch_search <xqg_os.search.hybrid.HybridSearcher.batch_search>`).
        """
        checked = hybrid_options(k, options)
        results: list[list[Hit]] = []
        for start in range(0, len(texts), self.batch_size):
            part = list(texts[start:start + self.batch_size])
            bodies = self.batch_bodies(part, await self._encode(part), k, filter, checked)
            results.extend(self.fuse_all(await self._msearch(bodies), k, checked))
        return results

    async def search(self, text: str, k: int = 10, filter: Clause | None = None,
                     **options: Unpack[HybridParams]) -> list[Hit]:
        """The fused top ``k`` for one query text (or the page of it ``options`` ask for)."""
        return (await self.batch_search([text], k, filter, **options))[0]

    async def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """The fused top ``k`` of evaluation queries, in order."""
        return await self.batch_search([query.text for query in queries], k)
