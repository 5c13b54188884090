"""Search client for applications: ``XQGSearcher(client, index)``.

The searcher reads the index ``_meta``, loads the encoder the index was built with (or checks
the one it is given against it) and encodes queries exactly as ingest encoded generated queries.
``search`` sends one k-NN request; ``batch_search`` encodes all texts in one batched call and
sends them through ``_msearch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xqg_os.encode.base import identity as encoder_identity
from xqg_os.errors import InputError
from xqg_os.opensearch.index import VECTOR_FIELDS, get_meta
from xqg_os.opensearch.knn import knn_msearch, knn_query, knn_search


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: str
    score: float
    lang: str = ""
    title: str = ""
    text: str = ""
    rank: int = 0


def _hits(raw: list[dict[str, Any]]) -> list[Hit]:
    return [Hit(id=str(h["_id"]), score=float(h["_score"]), lang=h["_source"].get("lang", ""),
                title=h["_source"].get("title", ""), text=h["_source"].get("text", ""),
                rank=rank)
            for rank, h in enumerate(raw, start=1)]


class XQGSearcher:
    """k-NN search over an xQG index.

    Args:
        client: an ``opensearchpy.OpenSearch`` client (the application's own).
        index: index name or alias written by xqg-os.
        encoder: an :class:`~xqg_os.encode.Encoder`; by default the one named in ``_meta``.
        allow_encoder_mismatch: search even when ``encoder`` differs from the index's.
        ef_search: HNSW candidate list size sent with every query (at least ``k``).
    """

    def __init__(self, client: Any, index: str, encoder: Any | None = None,
                 allow_encoder_mismatch: bool = False, ef_search: int = 100) -> None:
        self.client = client
        self.index = index
        self.meta = get_meta(client, index)
        self.ef_search = ef_search
        recorded = self.meta.get("encoder")
        if not recorded:
            if encoder is None:
                raise InputError(f"index {index!r} records no encoder in its _meta; "
                                 "pass an encoder explicitly")
        elif encoder is None:
            from xqg_os.encode import load_encoder_from_description

            encoder = load_encoder_from_description(recorded)
        elif (encoder_identity(encoder.describe()) != encoder_identity(recorded)
              and not allow_encoder_mismatch):
            raise InputError(
                f"index {index!r} was built with encoder {encoder_identity(recorded)}, not "
                f"{encoder_identity(encoder.describe())}; its vectors are not comparable "
                "(pass allow_encoder_mismatch=True / --allow-encoder-mismatch to search anyway)")
        self.encoder = encoder

    def _check(self, texts: Sequence[str], field: str) -> None:
        if field not in VECTOR_FIELDS:
            raise InputError(f"unknown field {field!r}; use one of {', '.join(VECTOR_FIELDS)}")
        empty = [i for i, text in enumerate(texts) if not str(text).strip()]
        if empty:
            raise InputError(f"empty query text at position(s) {empty[:10]}")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for ``texts`` (one batched encoder call)."""
        return np.asarray(self.encoder.encode_queries(list(texts)), dtype=np.float32)

    def knn_query(self, vector: Sequence[float] | np.ndarray, k: int = 10,
                  field: str = "xqg_vector", filter: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
        """The request body for ``vector``, for applications composing their own requests."""
        return knn_query(vector, k=k, field=field, filter=filter, ef_search=self.ef_search)

    def search(self, text: str, k: int = 10, field: str = "xqg_vector",
               filter: dict[str, Any] | None = None) -> list[Hit]:
        """Top-``k`` passages for one query text."""
        self._check([text], field)
        body = self.knn_query(self.encode([text])[0], k, field, filter)
        return _hits(knn_search(self.client, self.index, body))

    def batch_search(self, texts: Sequence[str], k: int = 10, field: str = "xqg_vector",
                     filter: dict[str, Any] | None = None, batch_size: int = 256
                     ) -> list[list[Hit]]:
        """Top-``k`` passages for each text: encoding batched, requests through ``_msearch``."""
        self._check(texts, field)
        results: list[list[Hit]] = []
        for start in range(0, len(texts), batch_size):
            vectors = self.encode(list(texts[start:start + batch_size]))
            results.extend(self.search_vectors(vectors, k, field, filter))
        return results

    def search_vectors(self, vectors: np.ndarray, k: int = 10, field: str = "xqg_vector",
                       filter: dict[str, Any] | None = None) -> list[list[Hit]]:
        """Top-``k`` passages for query vectors already encoded (one ``_msearch``)."""
        bodies = [self.knn_query(vector, k, field, filter) for vector in vectors]
        return [_hits(raw) for raw in knn_msearch(self.client, self.index, bodies)]
