"""Exact (brute-force) search: a :class:`~xqg_os.search.base.VectorSearcher` built from passage
ids, one matrix of their vectors and a space type; no ANN, the reference for recall.

The vectors can come from anywhere: a study's re-mixed matrix, a vector folder that ingest's
``save_vectors`` wrote (:func:`folder_searchers`, no cluster needed) or an index read once
(:func:`index_searchers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.data.vectors import read_vector_folder
from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.opensearch.index import SPACE_TYPES
from xqg_os.search.base import Hit, encode_queries, resolve_encoder

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

SCORE_BLOCK = 16384  # passages scored at once in float64
PassageTexts = Mapping[str, Mapping[str, str]]
"""Passage records by id: ``{"title", "text", "lang"}`` (any may be missing)."""


class ExactSearcher:
    """Scores every passage for every query.

    Args:
        ids: passage ids, the row order of ``matrix``.
        matrix: ``[len(ids), dim]`` passage vectors (kept as given, e.g. memory-mapped).
        space_type: ``innerproduct``, ``cosinesimil`` or ``l2``, as the k-NN index would use.
        encoder: the query encoder for text search (None: :meth:`search_vectors` only).
        passages: titles, texts and languages for the hits (R@kt reads the texts).
        index: the index the vectors were written for, when known (for system names).
    """

    def __init__(self, ids: Sequence[str], matrix: np.ndarray, space_type: str = "innerproduct",
                 encoder: Encoder | None = None, passages: PassageTexts | None = None,
                 index: str = "") -> None:
        if space_type not in SPACE_TYPES:
            raise InputError(f"unknown space_type {space_type!r}; use one of "
                             + ", ".join(SPACE_TYPES), param="space_type")
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise InputError(f"{matrix.shape[0] if matrix.ndim else 0} vectors for {len(ids)} "
                             "ids")
        self.ids = list(ids)
        self.matrix = matrix
        self.space_type = space_type
        self._encoder = encoder
        self.passages: PassageTexts = passages or {}
        self.index = index

    @classmethod
    def from_folder(cls, folder: str | Path, field: str = "xqg_vector",
                    encoder: Encoder | None = None, allow_encoder_mismatch: bool = False
                    ) -> ExactSearcher:
        """Exact search over one field of a vector folder (see :func:`folder_searchers`)."""
        return folder_searchers(folder, [field], encoder, allow_encoder_mismatch)[field]

    @classmethod
    def from_index(cls, client: OpenSearch, index: str, field: str = "xqg_vector",
                   encoder: Encoder | None = None, allow_encoder_mismatch: bool = False
                   ) -> ExactSearcher:
        """Exact search over one field of an index (see :func:`index_searchers`)."""
        return index_searchers(client, index, [field], encoder, allow_encoder_mismatch)[field]

    @property
    def encoder(self) -> Encoder | None:
        """The query encoder, or None."""
        return self._encoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for ``texts`` (one batched encoder call)."""
        return encode_queries(self._encoder, texts)

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Similarity of every query to every passage, higher is better.

        Computed in float64 over blocks of passages (memory stays bounded) and returned as
        float32: float32 BLAS rounds differently for different query-batch shapes, which would
        reorder near-ties between two searches of the same query, and trec_eval (pytrec_eval,
        hence mteb) reads scores as float32, so every evaluator sees the same ties.
        """
        matrix = self.matrix
        queries = np.asarray(queries, dtype=np.float64)
        if queries.ndim != 2 or queries.shape[1] != matrix.shape[1]:
            raise InputError(f"query vectors are {queries.shape[-1]}-d, the passages "
                             f"{matrix.shape[1]}-d")
        cosine = self.space_type == "cosinesimil"
        if cosine:
            queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        out = np.empty((queries.shape[0], matrix.shape[0]), dtype=np.float32)
        for start in range(0, matrix.shape[0], SCORE_BLOCK):
            block = np.asarray(matrix[start:start + SCORE_BLOCK], dtype=np.float64)
            if cosine:
                block = block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
            sims = queries @ block.T
            if self.space_type == "l2":
                sims = -((queries ** 2).sum(1)[:, None] - 2 * sims + (block ** 2).sum(1)[None, :])
            out[:, start:start + SCORE_BLOCK] = sims
        return out

    def top(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the top ``k`` passages per query vector, best first (ties broken
        by row order): two ``[len(vectors), min(k, passages)]`` arrays. For callers that need
        runs rather than hits (a study searches thousands of times)."""
        scores = self.scores(vectors)
        k = max(0, min(k, scores.shape[1]))
        if k < 1:
            return np.zeros((scores.shape[0], 0), np.int64), np.zeros((scores.shape[0], 0),
                                                                      np.float32)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        rows = np.empty_like(top)
        for i, (row, candidates) in enumerate(zip(scores, top)):
            rows[i] = candidates[np.lexsort((candidates, -row[candidates]))]
        return rows, np.take_along_axis(scores, rows, axis=1)

    def search_vectors(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """Top-``k`` hits per query vector, best first (ties broken by row order)."""
        rows, scores = self.top(vectors, k)
        return [[self._hit(row, score, rank)
                 for rank, (row, score) in enumerate(zip(r.tolist(), s.tolist()), start=1)]
                for r, s in zip(rows, scores)]

    def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """Encode the query texts and search them (the :class:`Searcher` protocol)."""
        return self.search_vectors(self.encode([query.text for query in queries]), k)

    def _hit(self, row: int, score: float, rank: int) -> Hit:
        pid = self.ids[row]
        record = self.passages.get(pid) or {}
        return Hit(pid, score, record.get("lang", ""), record.get("title", ""),
                   record.get("text", ""), rank)


def folder_searchers(folder: str | Path, fields: Sequence[str] | None = None,
                     encoder: Encoder | None = None, allow_encoder_mismatch: bool = False
                     ) -> dict[str, ExactSearcher]:
    """Exact searchers over the vectors of a folder written by ingest's ``save_vectors``, one
    per field (None: every field the folder holds), sharing ids, passage texts and one encoder
    (by default the one the folder's index ``_meta`` records): ``{field: searcher}``. Needs no
    cluster.

    Raises:
        InputError: for a folder without saved vectors or of the old layout, an unknown field,
            or an encoder other than the recorded one (see :func:`resolve_encoder`).
    """
    saved = read_vector_folder(folder, fields)
    recorded = saved.meta.get("encoder")
    encoder = resolve_encoder(recorded if isinstance(recorded, Mapping) else None, encoder,
                              f"vector folder {folder}", allow_encoder_mismatch)
    return {field: ExactSearcher(saved.ids, matrix, saved.space_type, encoder, saved.texts,
                                 saved.index) for field, matrix in saved.vectors.items()}


def index_searchers(client: OpenSearch, index: str, fields: Sequence[str],
                    encoder: Encoder | None = None, allow_encoder_mismatch: bool = False,
                    batch: int = 500, info: dict[str, Any] | None = None
                    ) -> dict[str, ExactSearcher]:
    """Exact searchers over the vectors of ``index``, read once (page by page, see
    :mod:`xqg_os.opensearch.read`): as :func:`folder_searchers`, with the space type and encoder
    from the index ``_meta``; ``info``: its :func:`~xqg_os.opensearch.meta.index_info` when
    already read (None: read here)."""
    from xqg_os.opensearch.read import iter_documents

    info = readable_index(client, index, fields, info)
    meta = info["meta"]
    recorded = meta.get("encoder")
    encoder = resolve_encoder(recorded if isinstance(recorded, Mapping) else None, encoder,
                              f"index {index!r}", allow_encoder_mismatch)
    ids: list[str] = []
    rows: dict[str, list[list[float]]] = {field: [] for field in fields}
    texts: dict[str, dict[str, str]] = {}
    for hit in iter_documents(client, index, [*fields, "title", "text", "lang"], page=batch):
        source = hit["_source"]
        ids.append(str(hit["_id"]))
        for field in fields:
            if field not in source:
                raise InputError(f"document {ids[-1]!r} of index {index!r} has no {field}",
                                 param="fields")
            rows[field].append(source[field])
        texts[ids[-1]] = {key: str(source.get(key, "")) for key in ("title", "text", "lang")}
    space_type = str((meta.get("index") or {}).get("space_type", "innerproduct"))
    return {field: ExactSearcher(ids, np.asarray(values, np.float32).reshape(len(ids), -1),
                                 space_type, encoder, texts, index)
            for field, values in rows.items()}


def check_fields(info: dict[str, Any], fields: Sequence[str]) -> None:
    """Raise :class:`InputError` for a field the index (its :func:`index_info
    <xqg_os.opensearch.meta.index_info>`) does not map: a lean index holds only xqg_vector."""
    from xqg_os.opensearch.meta import index_vector_fields

    mapped = index_vector_fields(info)
    missing = [f for f in fields if f not in mapped]
    if missing:
        raise InputError(f"index {info['index']!r} has no {', '.join(missing)}; it holds "
                         f"{', '.join(mapped) or 'no vector'} (choose fields among them)",
                         param="fields")


def readable_index(client: OpenSearch, index: str, fields: Sequence[str],
                   info: dict[str, Any] | None = None) -> dict[str, Any]:
    """:func:`~xqg_os.opensearch.meta.index_info` of an index whose ``fields`` can be read
    back: mapped, and in ``_source`` (stored, or derived on 3.x). ``info``: that
    ``index_info`` when already read (None: read here); it is checked all the same.

    Raises:
        InputError: a field the index does not map (a lean index holds only xqg_vector), or
            vectors left out of ``_source`` for good (``source_vectors`` excluded).
    """
    from xqg_os.opensearch.meta import excluded_vector_fields, index_info

    if info is None:
        info = index_info(client, index)
    check_fields(info, fields)
    gone = [f for f in fields if f in excluded_vector_fields(info)]
    if gone:
        raise InputError(f"index {index!r} leaves {', '.join(gone)} out of its stored _source "
                         "(source_vectors excluded), so exact search cannot read them back; "
                         "search a folder that ingest wrote with save_vectors (vectors) "
                         "instead, or build the index with derived source (OpenSearch 3.x)",
                         param="vectors")
    return info


def recall_at_k(approximate: Sequence[Sequence[str]], exact: Sequence[Sequence[str]]) -> float:
    """Mean overlap of approximate and exact top-k id lists (ANN recall)."""
    if not exact:
        return 0.0
    return float(np.mean([len(set(a) & set(e)) / max(len(e), 1)
                          for a, e in zip(approximate, exact)]))
