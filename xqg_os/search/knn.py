"""Search client for applications: ``XQGSearcher(client, index)``, a
:class:`~xqg_os.search.base.VectorSearcher` over one vector field of an xQG index.

The searcher reads the index ``_meta``, loads the encoder the index was built with (or checks
the one it is given against it) and encodes queries exactly as ingest encoded generated queries.
``search`` sends one k-NN request; ``batch_search`` encodes all texts in one batched call and
sends them through ``_msearch``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.opensearch.failures import PrivilegeError
from xqg_os.opensearch.index import VECTOR_FIELDS, get_meta, meta_vector_fields
from xqg_os.opensearch.knn import default_ef_search, knn_msearch, knn_query, knn_search
from xqg_os.search.base import Hit, encode_queries, resolve_encoder

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["Hit", "XQGSearcher", "knn_searchers"]


def _hits(raw: list[dict[str, Any]]) -> list[Hit]:
    return [Hit(id=str(h["_id"]), score=float(h["_score"]), lang=h["_source"].get("lang", ""),
                title=h["_source"].get("title", ""), text=h["_source"].get("text", ""),
                rank=rank)
            for rank, h in enumerate(raw, start=1)]


def _check_field(field: str, available: Sequence[str] = VECTOR_FIELDS, index: str = "") -> str:
    if field not in VECTOR_FIELDS:
        raise InputError(f"unknown field {field!r}; use one of {', '.join(VECTOR_FIELDS)}",
                         param="field")
    if field not in available:  # a lean index (vector_fields xqg) has no baseline vector
        raise InputError(f"index {index!r} has no {field} (its vector fields: "
                         f"{', '.join(available)})", param="field")
    return field


class XQGSearcher:
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
        self.client = client
        self.index = index
        try:
            self.meta = get_meta(client, index)
        except PrivilegeError:  # a read-only role: the caller's encoder, with nothing to check
            if encoder is None:
                raise
            self.meta = {}
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

    def with_field(self, field: str) -> XQGSearcher:
        """The same searcher (client, ``_meta``, encoder shared) over another vector field."""
        other = copy.copy(self)
        other.field = _check_field(field, self.fields, self.index)
        return other

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for ``texts`` (one batched encoder call)."""
        return encode_queries(self._encoder, texts)

    def knn_query(self, vector: Sequence[float] | np.ndarray, k: int = 10,
                  field: str | None = None, filter: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
        """The request body for ``vector``, for applications composing their own requests."""
        return knn_query(vector, k=k, field=field or self.field, filter=filter,
                         ef_search=self.ef_search or default_ef_search(k))

    def search(self, text: str, k: int = 10, field: str | None = None,
               filter: dict[str, Any] | None = None) -> list[Hit]:
        """Top-``k`` passages for one query text."""
        field = _check_field(field or self.field, self.fields, self.index)
        body = self.knn_query(self.encode([text])[0], k, field, filter)
        return _hits(knn_search(self.client, self.index, body))

    def batch_search(self, texts: Sequence[str], k: int = 10, field: str | None = None,
                     filter: dict[str, Any] | None = None, batch_size: int = 256
                     ) -> list[list[Hit]]:
        """Top-``k`` passages for each text: encoding batched, requests through ``_msearch``."""
        field = _check_field(field or self.field, self.fields, self.index)
        results: list[list[Hit]] = []
        for start in range(0, len(texts), batch_size):
            vectors = self.encode(list(texts[start:start + batch_size]))
            results.extend(self.search_vectors(vectors, k, field, filter))
        return results

    def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """Top-``k`` passages for evaluation queries (the :class:`Searcher` protocol)."""
        return self.batch_search([query.text for query in queries], k)

    def search_vectors(self, vectors: np.ndarray, k: int = 10, field: str | None = None,
                       filter: dict[str, Any] | None = None) -> list[list[Hit]]:
        """Top-``k`` passages for query vectors already encoded (one ``_msearch``)."""
        field = _check_field(field or self.field, self.fields, self.index)
        bodies = [self.knn_query(vector, k, field, filter) for vector in vectors]
        return [_hits(raw) for raw in knn_msearch(self.client, self.index, bodies)]


def knn_searchers(client: OpenSearch, index: str, fields: Sequence[str],
                  encoder: Encoder | None = None, allow_encoder_mismatch: bool = False
                  ) -> dict[str, XQGSearcher]:
    """One k-NN searcher per vector field of ``index``, sharing one encoder: ``{field: ...}``."""
    if not fields:
        raise InputError("no vector field to search", param="fields")
    base = XQGSearcher(client, index, encoder, allow_encoder_mismatch, field=fields[0])
    return {field: base.with_field(field) for field in fields}
