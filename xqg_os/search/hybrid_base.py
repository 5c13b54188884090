"""What the sync and async hybrid searchers share, all but the I/O.

:class:`HybridSearcherBase` holds the settings of a hybrid search (the k-NN searcher, the
:class:`~xqg_os.search.fusion.Fusion`, the candidate depth, the BM25 text fields), builds the
request bodies of a batch (:meth:`~HybridSearcherBase.batch_bodies`: the BM25 body of every text,
then the k-NN body of every query vector, for one ``_msearch``) and fuses the responses
(:meth:`~HybridSearcherBase.fuse_all`). :class:`~xqg_os.search.hybrid.HybridSearcher` (over
``OpenSearch``) and :class:`~xqg_os.search.aiohybrid.AsyncHybridSearcher` (over
``AsyncOpenSearch``) only encode and send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

import numpy as np

from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.opensearch.hybrid_query import TEXT_FIELDS, keyword_query
from xqg_os.search.base import Hit
from xqg_os.search.fusion import Fusion, fuse, parse_fusion
from xqg_os.search.request import Clause, SearchOptions, Source, parse_hits, source_spec

if TYPE_CHECKING:
    from xqg_os.search.knn import KNNSearcherBase, XQGSearcher

KnnT = TypeVar("KnnT", bound="KNNSearcherBase[Any]")  # XQGSearcher or AsyncXQGSearcher

__all__ = ["DEFAULT_CANDIDATES", "HybridParams", "HybridSearcherBase", "QueryVectorCache",
           "hybrid_name", "hybrid_options"]

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

    def missing(self, encoder: Encoder, texts: Sequence[str]) -> list[str]:
        """The distinct ``texts`` whose vectors by ``encoder`` are not stored yet."""
        return [t for t in dict.fromkeys(texts) if (id(encoder), t) not in self._vectors]

    def add(self, encoder: Encoder, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store the vectors of ``texts`` by ``encoder``."""
        self._vectors.update({(id(encoder), t): v for t, v in zip(texts, vectors, strict=True)})

    def get(self, encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``texts`` by ``encoder``, stacked in order."""
        return np.stack([self._vectors[id(encoder), t] for t in texts])

    def complete(self, encoder: Encoder, texts: Sequence[str], missing: Sequence[str],
                 vectors: np.ndarray | None) -> np.ndarray:
        """:meth:`get` of ``texts`` once the ``vectors`` of ``missing`` (its :meth:`missing`,
        None when it is empty) are stored: the second half of :meth:`encode`, for a caller
        that encodes ``missing`` itself (asynchronously)."""
        if vectors is not None:
            self.add(encoder, missing, vectors)
        return self.get(encoder, texts)

    def encode(self, knn: XQGSearcher, texts: Sequence[str]) -> np.ndarray:
        """The vectors of ``texts`` by ``knn``'s encoder, encoding only those not seen yet."""
        missing = self.missing(knn.encoder, texts)
        return self.complete(knn.encoder, texts, missing,
                             knn.encode(missing) if missing else None)


class HybridParams(TypedDict, total=False):
    """The search options hybrid search takes (:class:`~xqg_os.search.request.SearchOptions`'
    meanings): a page of the fused top ``k``, ``_source``, and a highlight for the BM25 list."""

    size: int | None
    from_: int
    source: Source | None
    highlight: Mapping[str, Any] | None


def hybrid_options(k: int, params: HybridParams) -> SearchOptions:
    """The options of a hybrid call, checked (the page within ``k``).

    Raises:
        InputError: an option hybrid search does not take, or a page outside ``k``.
    """
    unknown = set(params) - set(HybridParams.__annotations__)
    if unknown:  # search_after, sort, clauses, post_filter: one request each, not a fusion
        raise InputError(f"hybrid search takes {', '.join(HybridParams.__annotations__)}, "
                         f"not {sorted(unknown)}", param="options")
    options = SearchOptions(**params)
    options.page_size(k)
    return options


class HybridSearcherBase(Generic[KnnT]):
    """What the sync and async hybrid searchers share, all but the I/O: the settings, the
    BM25 and k-NN request bodies of a batch, and the fusion of the responses.

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

    def __init__(self, knn: KnnT, fusion: Fusion | str = "rrf",
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
    def index(self) -> str:
        """The index (or alias) searched."""
        return self.knn.index

    def depth(self, k: int) -> int:
        """Candidates per list for a top-``k`` search."""
        if k < 1:
            raise InputError(f"k must be positive, not {k}", param="k")
        return max(k, self.candidates or DEFAULT_CANDIDATES)

    def keyword_bodies(self, texts: Sequence[str], size: int, filter: Clause | None = None,
                       options: SearchOptions | None = None) -> list[dict[str, Any]]:
        """The BM25 request body of each text: its top ``size``, ``options``' ``_source`` and
        highlight."""
        options = options or SearchOptions()
        bodies = [keyword_query(text, size, self.text_fields, dict(filter) if filter else None)
                  for text in texts]
        for body in bodies:
            body["_source"] = source_spec(options.source)
            if options.highlight:
                body["highlight"] = dict(options.highlight)
        return bodies

    def batch_bodies(self, texts: Sequence[str], vectors: np.ndarray, k: int,
                     filter: Clause | None = None, options: SearchOptions | None = None
                     ) -> list[dict[str, Any]]:
        """The request bodies of a top-``k`` batch, for one ``_msearch``: the BM25 body of
        every text, then the k-NN body of every vector, each to :meth:`depth` candidates."""
        if len(vectors) != len(texts):
            raise InputError(f"{len(texts)} query texts but {len(vectors)} vectors",
                             param="vectors")
        options = options or SearchOptions()
        depth = self.depth(k)
        return [*self.keyword_bodies(texts, depth, filter, options),
                *self.knn._vector_bodies(vectors, depth, None, filter,
                                         SearchOptions(source=options.source))]

    @staticmethod
    def split(responses: Sequence[Mapping[str, Any]]
              ) -> tuple[list[list[Hit]], list[list[Hit]]]:
        """The BM25 and the k-NN hits of the responses to :meth:`batch_bodies`."""
        half = len(responses) // 2
        return ([parse_hits(item) for item in responses[:half]],
                [parse_hits(item) for item in responses[half:]])

    def fuse(self, keyword: Sequence[Hit], vector: Sequence[Hit], k: int,
             options: SearchOptions | None = None) -> list[Hit]:
        """The fused top ``k`` of one query's two lists (or the page of it ``options`` ask
        for): the fused score, ranks from 1 (``from_ + 1`` on a later page), the rest of each
        hit (text, source...) as its list returned it (the k-NN list's if both), and the BM25
        hit's highlight (the k-NN list has none)."""
        options = options or SearchOptions()
        size = options.page_size(k)
        found = {hit.id: hit for hit in keyword}
        found.update({hit.id: hit for hit in vector})
        marked = {hit.id: hit.highlight for hit in keyword if hit.highlight}
        ranked = fuse([[(h.id, h.score) for h in keyword], [(h.id, h.score) for h in vector]],
                      self.fusion, options.from_ + size)
        return [dataclasses.replace(found[doc], score=score, rank=rank,
                                    highlight=marked.get(doc, found[doc].highlight))
                for rank, (doc, score) in enumerate(ranked, start=1)
                if rank > options.from_]

    def fuse_all(self, responses: Sequence[Mapping[str, Any]], k: int,
                 options: SearchOptions | None = None) -> list[list[Hit]]:
        """The fused hits of each query of a batch, from the responses to :meth:`batch_bodies`."""
        keyword, vector = self.split(responses)
        return [self.fuse(kw, vec, k, options) for kw, vec in zip(keyword, vector, strict=True)]
