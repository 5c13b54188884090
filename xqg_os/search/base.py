"""The search boundary: :class:`Hit`, the :class:`Searcher` protocol that every search implements
(k-NN on OpenSearch, exact search, precomputed run files) and :class:`VectorSearcher`, the
searchers over vectors that also take query vectors encoded once by the caller.

Every searcher answers ``search_queries(queries, k)``: one ranked list of hits per query, best
first. (The name is not ``search``: :meth:`~xqg_os.search.knn.XQGSearcher.search` takes one
query text, an API applications already use.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.encode.base import Encoder
from xqg_os.encode.base import identity as encoder_identity
from xqg_os.errors import InputError


@dataclass(frozen=True)
class Hit:
    """One search result (``rank`` counts from 1; ``lang``, ``title``, ``text`` are empty when
    the searcher does not know them).

    From OpenSearch also: ``index``, the concrete index that holds it (an alias resolves to
    one); ``source``, its raw ``_source`` (vector fields left out unless asked for);
    ``highlight``, the fragments per highlighted field. Neither takes part in the hash.
    """

    id: str
    score: float
    lang: str = ""
    title: str = ""
    text: str = ""
    rank: int = 0
    index: str = ""
    source: Mapping[str, Any] = field(default_factory=dict, hash=False)
    highlight: Mapping[str, list[str]] = field(default_factory=dict, hash=False)


@runtime_checkable
class Searcher(Protocol):
    """Anything that ranks passages for evaluation queries."""

    def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """The top ``k`` hits of each query, best first, in the order of ``queries``."""
        ...


@runtime_checkable
class VectorSearcher(Searcher, Protocol):
    """A searcher over vectors: query texts go through its ``encoder`` (None: vectors only)."""

    @property
    def encoder(self) -> Encoder | None:
        """The query encoder, or None for a searcher that only takes vectors."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for ``texts`` with the attached encoder."""
        ...

    def search_vectors(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """The top ``k`` hits of each query vector, best first."""
        ...


def resolve_encoder(recorded: Mapping[str, object] | None, encoder: Encoder | None,
                    source: str, allow_encoder_mismatch: bool = False) -> Encoder:
    """The encoder to search vectors written by the ``recorded`` encoder description.

    Args:
        recorded: the encoder description the vectors record (an index ``_meta``'s
            ``encoder``), or None.
        encoder: the caller's encoder; None loads the recorded one.
        source: what holds the vectors, for messages (``index 'x'``).
        allow_encoder_mismatch: accept an ``encoder`` other than the recorded one.

    Raises:
        InputError: nothing recorded and no encoder given, or another encoder than the
            recorded one without ``allow_encoder_mismatch``.
    """
    if not recorded:
        if encoder is None:
            raise InputError(f"{source} records no encoder (no xQG record: ingest into it "
                             "first, or pass an encoder explicitly)", param="encoder")
        return encoder
    if encoder is None:
        from xqg_os.encode import load_encoder_from_description

        return load_encoder_from_description(dict(recorded))
    if (encoder_identity(encoder.describe()) != encoder_identity(dict(recorded))
            and not allow_encoder_mismatch):
        raise InputError(
            f"{source} was built with encoder {encoder_identity(dict(recorded))}, not "
            f"{encoder_identity(encoder.describe())}; its vectors are not comparable "
            "(allow_encoder_mismatch searches anyway)", param="allow_encoder_mismatch")
    return encoder


def encode_queries(encoder: Encoder | None, texts: Sequence[str]) -> np.ndarray:
    """float32 query vectors for ``texts`` (one batched encoder call).

    Raises:
        InputError: without an encoder, or for an empty text.
    """
    if encoder is None:
        raise InputError("this searcher has no encoder: pass query vectors instead",
                         param="encoder")
    empty = [i for i, text in enumerate(texts) if not str(text).strip()]
    if empty:
        raise InputError(f"empty query text at position(s) {empty[:10]}")
    return np.asarray(encoder.encode_queries(list(texts)), dtype=np.float32)
