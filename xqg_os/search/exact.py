"""Exact (brute-force) search over an index's stored vectors: no ANN, the reference for recall.

Vectors come from an OpenSearch index (scrolled once, so the cluster is needed only to read
them) or from a folder that ``xqg-os ingest --save-vectors DIR`` wrote, which needs no cluster:
``ids.txt`` (one passage id a line), ``<field>.npy`` (float32, one row per id), ``meta.json``
(the index ``_meta``), and ``texts.jsonl`` (id, title, text, lang) for R@kt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.errors import InputError
from xqg_os.opensearch.index import VECTOR_FIELDS

SCORE_BLOCK = 16384  # passages scored at once in float64


class ExactIndex:
    """All vectors of an index in memory; ``search`` scores every passage."""

    def __init__(self, ids: list[str], vectors: dict[str, np.ndarray], meta: dict[str, Any],
                 texts: dict[str, dict[str, str]] | None = None) -> None:
        for field, matrix in vectors.items():
            if matrix.shape[0] != len(ids):
                raise InputError(f"{field}: {matrix.shape[0]} vectors for {len(ids)} ids")
        self.ids = ids
        self.vectors = vectors
        self.meta = meta
        self.texts = texts or {}
        self.space_type = str((meta.get("index") or {}).get("space_type", "innerproduct"))

    @classmethod
    def from_opensearch(cls, client: Any, index: str, batch: int = 500) -> ExactIndex:
        """Read every document's vectors and texts with a scroll."""
        from opensearchpy import helpers

        from xqg_os.opensearch.index import get_meta

        meta = get_meta(client, index)
        ids: list[str] = []
        rows: dict[str, list[list[float]]] = {field: [] for field in VECTOR_FIELDS}
        texts: dict[str, dict[str, str]] = {}
        for hit in helpers.scan(client, index=index, size=batch, query={"query": {
                "match_all": {}}}, _source_includes=[*VECTOR_FIELDS, "title", "text", "lang"]):
            source = hit["_source"]
            ids.append(str(hit["_id"]))
            for field in VECTOR_FIELDS:
                rows[field].append(source[field])
            texts[str(hit["_id"])] = {k: str(source.get(k, "")) for k in ("title", "text", "lang")}
        vectors = {field: np.asarray(values, dtype=np.float32).reshape(len(ids), -1)
                   for field, values in rows.items()}
        return cls(ids, vectors, meta, texts)

    @classmethod
    def load(cls, folder: str | Path) -> ExactIndex:
        """Read a folder written by :class:`VectorExport`."""
        folder = Path(folder)
        if not (folder / "ids.txt").exists():
            raise InputError(f"{folder} holds no saved vectors (ids.txt missing); write them "
                             "with `xqg-os ingest --save-vectors DIR`")
        ids = (folder / "ids.txt").read_text(encoding="utf-8").split("\n")[:-1]
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        dim = int(meta["dimension"])
        vectors = {}
        for field in VECTOR_FIELDS:
            raw = np.fromfile(folder / f"{field}.f32", dtype=np.float32)
            vectors[field] = raw[: len(ids) * dim].reshape(len(ids), dim)
        texts: dict[str, dict[str, str]] = {}
        with open(folder / "texts.jsonl", encoding="utf-8") as handle:
            for line, _ in zip(handle, ids):
                record = json.loads(line)
                texts[record.pop("id")] = record
        # a resumed ingest may have exported a batch twice: keep each id's last row
        last = {pid: row for row, pid in enumerate(ids)}
        if len(last) < len(ids):
            rows = np.fromiter(sorted(last.values()), dtype=np.int64)
            ids = [ids[row] for row in rows]
            vectors = {field: matrix[rows] for field, matrix in vectors.items()}
        return cls(ids, vectors, meta, texts)

    def scores(self, queries: np.ndarray, field: str) -> np.ndarray:
        """Similarity of every query to every passage, higher is better.

        Computed in float64 over blocks of passages (memory stays bounded) and returned as
        float32: float32 BLAS rounds differently for different query-batch shapes, which would
        reorder near-ties between two searches of the same query, and trec_eval (pytrec_eval,
        hence mteb) reads scores as float32, so every evaluator sees the same ties.
        """
        if field not in self.vectors:
            raise InputError(f"unknown field {field!r}; use one of {', '.join(self.vectors)}")
        matrix = self.vectors[field]
        queries = np.asarray(queries, dtype=np.float64)
        if queries.ndim != 2 or queries.shape[1] != matrix.shape[1]:
            raise InputError(f"query vectors are {queries.shape[-1]}-d, the index holds "
                             f"{matrix.shape[1]}-d ones")
        if self.space_type == "cosinesimil":
            queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        out = np.empty((queries.shape[0], matrix.shape[0]), dtype=np.float32)
        for start in range(0, matrix.shape[0], SCORE_BLOCK):
            block = np.asarray(matrix[start:start + SCORE_BLOCK], dtype=np.float64)
            if self.space_type == "cosinesimil":
                block = block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
            sims = queries @ block.T
            if self.space_type == "l2":
                sims = -((queries ** 2).sum(1)[:, None] - 2 * sims + (block ** 2).sum(1)[None, :])
            out[:, start:start + SCORE_BLOCK] = sims
        return out

    def search(self, queries: np.ndarray, k: int, field: str = "xqg_vector"
               ) -> list[list[tuple[str, float]]]:
        """Top-``k`` (id, score) per query, best first (ties broken by id order)."""
        scores = self.scores(queries, field)
        k = min(k, scores.shape[1])
        if k < 1:
            return [[] for _ in range(scores.shape[0])]
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        results = []
        for row, candidates in zip(scores, top):
            order = candidates[np.lexsort((candidates, -row[candidates]))]
            results.append([(self.ids[i], float(row[i])) for i in order])
        return results


class VectorExport:
    """Append-only writer of the folder :meth:`ExactIndex.load` reads (one batch at a time).

    ``ids.txt`` is written last, so it is the commit record: reopening a folder of the same
    ``_meta`` (a resumed ingest) cuts the other files back to the committed rows and appends.
    """

    def __init__(self, folder: str | Path, meta: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_path, ids_path = self.folder / "meta.json", self.folder / "ids.txt"
        same = (meta_path.exists() and ids_path.exists()
                and json.loads(meta_path.read_text(encoding="utf-8")) == meta)
        if same:
            committed = ids_path.read_text(encoding="utf-8").count("\n")
            dim = int(meta["dimension"])
            for field in VECTOR_FIELDS:
                with open(self.folder / f"{field}.f32", "r+b") as handle:
                    handle.truncate(committed * dim * 4)
            with open(self.folder / "texts.jsonl", encoding="utf-8") as handle:
                kept = [line for line, _ in zip(handle, range(committed))]
            (self.folder / "texts.jsonl").write_text("".join(kept), encoding="utf-8")
            return
        meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        for name in ("ids.txt", "texts.jsonl", *(f"{f}.f32" for f in VECTOR_FIELDS)):
            (self.folder / name).write_bytes(b"")

    def add(self, docs: Iterable[dict[str, Any]]) -> None:
        """Append documents as built by ingest (passage_id, texts and both vectors)."""
        docs = list(docs)
        for field in VECTOR_FIELDS:
            with open(self.folder / f"{field}.f32", "ab") as handle:
                np.asarray([d[field] for d in docs], dtype=np.float32).tofile(handle)
        with open(self.folder / "texts.jsonl", "a", encoding="utf-8") as handle:
            for d in docs:
                handle.write(json.dumps({"id": d["passage_id"], "title": d["title"],
                                         "text": d["text"], "lang": d["lang"]},
                                        ensure_ascii=False) + "\n")
        with open(self.folder / "ids.txt", "a", encoding="utf-8") as handle:
            handle.write("".join(f"{d['passage_id']}\n" for d in docs))


def recall_at_k(approximate: Sequence[Sequence[str]], exact: Sequence[Sequence[str]]) -> float:
    """Mean overlap of approximate and exact top-k id lists (ANN recall)."""
    if not exact:
        return 0.0
    return float(np.mean([len(set(a) & set(e)) / max(len(e), 1)
                          for a, e in zip(approximate, exact)]))
