"""The search client over ``opensearchpy.AsyncOpenSearch``, for async applications.

``searcher = await AsyncXQGSearcher.create(client, index)`` reads the index ``_meta`` (I/O,
hence a factory rather than a constructor), then ``await searcher.search(text, ...)``,
``search_page``, ``batch_search`` and ``search_vectors`` answer as
:class:`~xqg_os.search.knn.XQGSearcher` does, with the same options: both build requests and
parse responses with :mod:`xqg_os.search.request`. Encoding (and loading the encoder) is
CPU-bound, so it runs in a worker thread and the event loop stays free. Needs ``aiohttp``
(``pip install 'xqg-os[async]'``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.encode.base import Encoder
from xqg_os.opensearch.failures import PrivilegeError, translated
from xqg_os.opensearch.knn import msearch_chunks, msearch_items, search_error
from xqg_os.opensearch.meta import meta_read_error, xqg_record
from xqg_os.search.base import Hit, encode_queries
from xqg_os.search.knn import KNNSearcherBase
from xqg_os.search.request import Clause, Page, SearchParams, parse_hits, parse_page

if TYPE_CHECKING:
    from opensearchpy import AsyncOpenSearch

__all__ = ["AsyncXQGSearcher", "async_get_meta"]


async def async_get_meta(client: AsyncOpenSearch, index: str) -> dict[str, Any]:
    """The ``_meta`` of ``index`` (:func:`~xqg_os.opensearch.meta.get_meta`, async).

    Raises:
        InputError: the index does not exist.
        PrivilegeError: the user may not read the mapping.
    """
    with translated(lambda exc: meta_read_error(exc, index)):
        mapping = await client.indices.get_mapping(index=index)
    return xqg_record(next(iter(mapping.values()))["mappings"].get("_meta") or {})


class AsyncXQGSearcher(KNNSearcherBase["AsyncOpenSearch"]):
    """k-NN search over an xQG index through an ``AsyncOpenSearch`` client.

    Build it with :meth:`create`; the constructor takes an index ``_meta`` already read (an
    empty one with an explicit ``encoder`` for a role that may not read mappings). Arguments
    as :class:`~xqg_os.search.knn.XQGSearcher`'s.
    """

    def __init__(self, client: AsyncOpenSearch, index: str, meta: Mapping[str, Any],
                 encoder: Encoder | None = None, allow_encoder_mismatch: bool = False,
                 ef_search: int | None = None, field: str = "xqg_vector") -> None:
        super().__init__(client, index, meta, encoder, allow_encoder_mismatch, ef_search, field)

    @classmethod
    async def create(cls, client: AsyncOpenSearch, index: str, encoder: Encoder | None = None,
                     allow_encoder_mismatch: bool = False, ef_search: int | None = None,
                     field: str = "xqg_vector") -> AsyncXQGSearcher:
        """A searcher over ``index``: its ``_meta`` read, its encoder loaded (in a thread).

        Raises:
            InputError: no such index or field, or an encoder other than the index's.
            PrivilegeError: the mapping may not be read and no ``encoder`` was given.
        """
        try:
            meta = await async_get_meta(client, index)
        except PrivilegeError:  # a read-only role: the caller's encoder, nothing to check
            if encoder is None:
                raise
            meta = {}
        return await asyncio.to_thread(cls, client, index, meta, encoder,
                                       allow_encoder_mismatch, ef_search, field)

    async def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for ``texts`` (one batched encoder call, in a worker thread)."""
        return await asyncio.to_thread(encode_queries, self._encoder, list(texts))

    async def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        with translated(lambda exc: search_error(exc, self.index)):
            return dict(await self.client.search(index=self.index, body=body))

    async def search_page(self, text: str, k: int = 10, field: str | None = None,
                          filter: Clause | None = None, **options: Unpack[SearchParams]
                          ) -> Page:
        """One page of the top-``k`` passages for a query text
        (:meth:`XQGSearcher.search_page <xqg_os.search.knn.XQGSearcher.search_page>`)."""
        checked = self._check(k, field, options)
        vector = (await self.encode([text]))[0]
        body = self.knn_query(vector, k, field, filter, **options)
        return parse_page(await self._search(body), k, checked)

    async def search(self, text: str, k: int = 10, field: str | None = None,
                     filter: Clause | None = None, **options: Unpack[SearchParams]
                     ) -> list[Hit]:
        """Top-``k`` passages for one query text (or the page of them ``options`` ask for)."""
        return (await self.search_page(text, k, field, filter, **options)).hits

    async def search_vectors(self, vectors: np.ndarray, k: int = 10, field: str | None = None,
                             filter: Clause | None = None, **options: Unpack[SearchParams]
                             ) -> list[list[Hit]]:
        """Top-``k`` passages for query vectors already encoded (through ``_msearch``)."""
        checked = self._check(k, field, options)
        bodies = self._vector_bodies(vectors, k, field, filter, checked)
        return [parse_hits(item, checked.from_ + 1) for item in await self._msearch(bodies)]

    async def _msearch(self, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The response items of ``bodies`` sent through ``_msearch`` (in chunks), in order."""
        items: list[dict[str, Any]] = []
        for lines in msearch_chunks(self.index, bodies):
            items.extend(msearch_items(await self.client.msearch(body=lines), self.index))
        return items

    async def batch_search(self, texts: Sequence[str], k: int = 10, field: str | None = None,
                           filter: Clause | None = None, batch_size: int = 256,
                           **options: Unpack[SearchParams]) -> list[list[Hit]]:
        """Top-``k`` passages for each text: encoding batched, requests through ``_msearch``."""
        self._check(k, field, options)
        results: list[list[Hit]] = []
        for start in range(0, len(texts), batch_size):
            vectors = await self.encode(list(texts[start:start + batch_size]))
            results.extend(await self.search_vectors(vectors, k, field, filter, **options))
        return results

    async def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """Top-``k`` passages for evaluation queries, in order."""
        return await self.batch_search([query.text for query in queries], k)
