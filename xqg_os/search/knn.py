"""Search client for applications: ``XQGSearcher(client, index)``, a
:class:`~xqg_os.search.base.VectorSearcher` over one vector field of an xQG index.

The searcher reads the index ``_meta``, loads the encoder the index was built with (or checks
the one it is given against it) and encodes queries exactly as ingest encoded generated queries.
``search`` sends one k-NN request; ``batch_search`` encodes all texts in one batched call and
sends them through ``_msearch``. Every call takes the options of
:class:`~xqg_os.search.request.SearchOptions` as keyword arguments (a page, ``_source``,
highlight, bool clauses, a post filter); ``search_page`` also returns the total and the next
page. :class:`~xqg_os.search.aio.AsyncXQGSearcher` is the same over ``AsyncOpenSearch``: both
build requests and parse responses with :mod:`xqg_os.search.request` and only do I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, Unpack

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.opensearch.failures import PrivilegeError
from xqg_os.opensearch.index import VECTOR_FIELDS
from xqg_os.opensearch.knn import default_ef_search, run_msearch, run_search
from xqg_os.opensearch.meta import get_meta, meta_vector_fields
from xqg_os.search.base import Hit, encode_queries, resolve_encoder
from xqg_os.search.request import (
    Clause,
    Page,
    SearchOptions,
    SearchParams,
    parse_hits,
    parse_page,
    search_body,
)

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

ClientT = TypeVar("ClientT")  # OpenSearch or AsyncOpenSearch

__all__ = ["Hit", "KNNSearcherBase", "Page", "XQGSearcher", "knn_searchers"]


def _check_field(field: str, available: Sequence[str] = VECTOR_FIELDS, index: str = "") -> str:
    if field not in VECTOR_FIELDS:
        raise InputError(f"unknown field {field!r}; use one of {', '.join(VECTOR_FIELDS)}",
                         param="field")
    if field not in available:  # a lean index (vector_fields xqg) has no baseline vector
        raise InputError(f"index {index!r} has no {field} (its vector fields: "
                         f"{', '.join(available)})", param="field")
    return field


class KNNSearcherBase(Generic[ClientT]):
    """What the sync and async k-NN searchers share: the index ``_meta``, its vector fields,
    the encoder and the request bodies (no I/O)."""

    def __init__(self, client: ClientT, index: str, meta: Mapping[str, Any],
                 encoder: Encoder | None = None, allow_encoder_mismatch: bool = False,
                 ef_search: int | None = None, field: str = "xqg_vector") -> None:
        self.client = client
        self.index = index
        self.meta = dict(meta)
        self.fields = meta_vector_fields(self.meta)
        self.field = _check_field(field, self.fields, index)
        self.ef_search = ef_search
        recorded = self.meta.get("encoder")
        self._encoder = resolve_encoder(recorded if isinstance(recorded, Mapping) else None,
                                        encoder, f"index {index!r}", allow_encoder_mismatch)

    @property
    def encoder(self) -> Encoder:
        """The query encoder (the index's own unless another was allowed)."""
        return self._encoder

    def with_field(self, field: str) -> Self:
        """The same searcher (client, ``_meta``, encoder shared) over another vector field."""
        other = copy.copy(self)
        other.field = _check_field(field, self.fields, self.index)
        return other

    def knn_query(self, vector: Sequence[float] | np.ndarray, k: int = 10,
                  field: str | None = None, filter: Clause | None = None,
                  **options: Unpack[SearchParams]) -> dict[str, Any]:
        """The request body for ``vector``, for applications composing their own requests.

        Args:
            vector: the query vector.
            k: k-NN candidates; the page (``size``, ``from_``) must lie within them.
            field: the vector field (default: the searcher's).
            filter: an efficient k-NN filter clause, applied during the graph search.
            options: :class:`~xqg_os.search.request.SearchOptions` fields.
        """
        return self._vector_bodies([vector], k, field, filter, SearchOptions.of(options))[0]

    def _check(self, k: int, field: str | None, options: SearchParams) -> SearchOptions:
        """The options of a call, checked (with its field) before any encoding."""
        _check_field(field or self.field, self.fields, self.index)
        checked = SearchOptions.of(options)
        checked.page_size(k)
        return checked

    def _vector_bodies(self, vectors: Sequence[Sequence[float] | np.ndarray] | np.ndarray,
                       k: int, field: str | None, filter: Clause | None,
                       options: SearchOptions) -> list[dict[str, Any]]:
        """The :meth:`knn_query` body of each vector, the field and ``ef_search`` resolved
        once."""
        field = _check_field(field or self.field, self.fields, self.index)
        ef_search = self.ef_search or default_ef_search(k)
        return [search_body(vector, k, field, ef_search, filter, options) for vector in vectors]


class XQGSearcher(KNNSearcherBase["OpenSearch"]):
    """k-NN search over an xQG index.

    Args:
        client: an ``opensearchpy.OpenSearch`` client (the application's own).
        index: index name or alias written by xqg-os.
        encoder: an :class:`~xqg_os.encode.Encoder`; by default the one named in ``_meta``.
            A user whose role may not read the index mapping (``_meta``) must pass it.
        allow_encoder_mismatch: search even when ``encoder`` differs from the index's.
        ef_search: HNSW candidate list size sent with every query (at least ``k``); None:
            :func:`~xqg_os.opensearch.knn.default_ef_search` of ``k``, deep enough that ANN
            recall@k against exact search is about 0.99.
        field: the vector field searched when a call names none: ``xqg_vector`` (augmented)
            or ``passage_vector`` (baseline).
    """

    def __init__(self, client: OpenSearch, index: str, encoder: Encoder | None = None,
                 allow_encoder_mismatch: bool = False, ef_search: int | None = None,
                 field: str = "xqg_vector") -> None:
        try:
            meta = get_meta(client, index)
        except PrivilegeError:  # a read-only role: the caller's encoder, with nothing to check
            if encoder is None:
                raise
            meta = {}
        super().__init__(client, index, meta, encoder, allow_encoder_mismatch, ef_search, field)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for ``texts`` (one batched encoder call)."""
        return encode_queries(self._encoder, texts)

    def search_page(self, text: str, k: int = 10, field: str | None = None,
                    filter: Clause | None = None, **options: Unpack[SearchParams]) -> Page:
        """One page of the top-``k`` passages for a query text, with the total and where the
        next page starts (``size``/``from_`` or ``search_after``: see
        :class:`~xqg_os.search.request.SearchOptions`)."""
        checked = self._check(k, field, options)
        body = self.knn_query(self.encode([text])[0], k, field, filter, **options)
        return parse_page(run_search(self.client, self.index, body), k, checked)

    def search(self, text: str, k: int = 10, field: str | None = None,
               filter: Clause | None = None, **options: Unpack[SearchParams]) -> list[Hit]:
        """Top-``k`` passages for one query text (or the page of them ``options`` ask for)."""
        return self.search_page(text, k, field, filter, **options).hits

    def batch_search(self, texts: Sequence[str], k: int = 10, field: str | None = None,
                     filter: Clause | None = None, batch_size: int = 256,
                     **options: Unpack[SearchParams]) -> list[list[Hit]]:
        """Top-``k`` passages for each text: encoding batched, requests through ``_msearch``."""
        self._check(k, field, options)
        results: list[list[Hit]] = []
        for start in range(0, len(texts), batch_size):
            vectors = self.encode(list(texts[start:start + batch_size]))
            results.extend(self.search_vectors(vectors, k, field, filter, **options))
        return results

    def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """Top-``k`` passages for evaluation queries (the :class:`Searcher` protocol)."""
        return self.batch_search([query.text for query in queries], k)

    def search_vectors(self, vectors: np.ndarray, k: int = 10, field: str | None = None,
                       filter: Clause | None = None, **options: Unpack[SearchParams]
                       ) -> list[list[Hit]]:
        """Top-``k`` passages for query vectors already encoded (one ``_msearch``)."""
        checked = self._check(k, field, options)
        bodies = self._vector_bodies(vectors, k, field, filter, checked)
        return [parse_hits(item, checked.from_ + 1)
                for item in run_msearch(self.client, self.index, bodies)]


def knn_searchers(client: OpenSearch, index: str, fields: Sequence[str],
                  encoder: Encoder | None = None, allow_encoder_mismatch: bool = False
                  ) -> dict[str, XQGSearcher]:
    """One k-NN searcher per vector field of ``index``, sharing one encoder: ``{field: ...}``."""
    if not fields:
        raise InputError("no vector field to search", param="fields")
    base = XQGSearcher(client, index, encoder, allow_encoder_mismatch, field=fields[0])
    return {field: base.with_field(field) for field in fields}
