"""Bring your own passage vectors: ingest vectors computed elsewhere (a GPU job, another tool)
instead of encoding the passages.

Two inputs, both memory-mapped (an 18M x 768 matrix is never read into memory at once, only
the rows of each batch):

- a ``.npy`` matrix ``[N, dimension]`` of float32 or float16 with an ids file of N lines in row
  order (plain text, one id a line, or JSONL: a JSON string or an object with ``id``);
- a vector folder as ``save_vectors`` writes it (:mod:`xqg_os.data.vectors`): its ids, its
  ``passage_vector`` rows and the encoder description it records.

Memory: the memory map, and one dict entry per id (about 100 bytes each, some 2 GB for 18M
passages). Every check runs before the index is touched: shape and dtype, one id per row, no
duplicate id, no NaN or infinite value (:func:`open_passage_vectors`), and the match with the
corpus (:func:`check_coverage`: passages without a vector are refused, vectors without a passage
are counted in a notice).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError
from xqg_os.shard import Shard

DTYPES = ("float32", "float16")
_CHECK_ROWS = 16384  # rows per chunk of the NaN / infinity scan


@dataclass
class PassageVectors:
    """Passage vectors by passage id, over a memory-mapped matrix.

    Attributes:
        path: where the vectors come from (for messages).
        matrix: ``[rows, dimension]`` float32 or float16, memory-mapped.
        rows: passage id -> row of ``matrix``.
        recorded_encoder: the encoder description the input records (a vector folder's index
            ``_meta``), or None.
    """

    path: str
    matrix: np.ndarray
    rows: dict[str, int]
    recorded_encoder: dict[str, Any] | None = None
    dtype: str = field(init=False)

    def __post_init__(self) -> None:
        self.dtype = str(self.matrix.dtype)

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        return int(self.matrix.shape[1])

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """float32 ``[len(ids), dimension]``, the rows of ``ids`` in order.

        Raises:
            InputError: for an id without a vector (:func:`check_coverage` rules it out first).
        """
        try:
            positions = np.fromiter((self.rows[pid] for pid in ids), dtype=np.int64,
                                    count=len(ids))
        except KeyError as exc:
            raise InputError(f"{self.path} holds no vector for passage {exc.args[0]!r}",
                             param="passage_vectors") from None
        order = np.argsort(positions)  # ascending rows: sequential reads of the memory map
        block = np.empty((len(ids), self.dimension), dtype=np.float32)
        block[order] = self.matrix[positions[order]]
        return block


def open_passage_vectors(path: str | Path, ids: str | Path | None = None,
                         progress: Any | None = None) -> PassageVectors:
    """Open passage vectors and check them (see the module docstring).

    Args:
        path: a ``.npy`` file (with ``ids``) or a vector folder (without).
        ids: the ids file of a ``.npy``, one id per row.
        progress: a tqdm-like bar: ``reset(total=rows)``, then ``update(k)`` per chunk of the
            NaN / infinity scan.

    Raises:
        InputError: a missing or unreadable input, a matrix that is not 2-D float32 / float16,
            an ids file whose length differs from the rows, duplicate ids, NaN or infinity.
    """
    where = Path(path)
    if where.is_dir():
        if ids is not None:
            raise InputError(f"{where} is a vector folder, which holds its own ids; give "
                             "passage_vector_ids only with a .npy file",
                             param="passage_vector_ids")
        vectors = _open_folder(where)
    else:
        if ids is None:
            raise InputError(f"{where}: a .npy file needs passage_vector_ids (its ids, one per "
                             "row, in row order)", param="passage_vector_ids")
        matrix = _load_matrix(where)
        id_list = read_ids(ids)
        if len(id_list) != matrix.shape[0]:
            raise InputError(f"{ids} has {len(id_list)} ids but {where} has {matrix.shape[0]} "
                             "rows; give one id per row", param="passage_vector_ids")
        rows = {pid: row for row, pid in enumerate(id_list)}
        if len(rows) < len(id_list):
            from collections import Counter

            twice = sorted(pid for pid, count in Counter(id_list).items() if count > 1)
            raise InputError(f"{ids} repeats {len(id_list) - len(rows)} id(s) (e.g. "
                             f"{', '.join(twice[:3])}); give each passage one row",
                             param="passage_vector_ids")
        vectors = PassageVectors(str(where), matrix, rows)
    _check_finite(vectors, progress)
    return vectors


def _load_matrix(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"passage vectors not found: {path}", param="passage_vectors")
    try:
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path} is not a .npy matrix: {exc}", param="passage_vectors") from None
    if matrix.ndim != 2 or matrix.shape[1] < 1:
        raise InputError(f"{path} has shape {matrix.shape}; passage vectors are a 2-D matrix "
                         "[passages, dimension]", param="passage_vectors")
    if matrix.dtype.name not in DTYPES:
        raise InputError(f"{path} holds {matrix.dtype.name}; give {' or '.join(DTYPES)}",
                         param="passage_vectors")
    return matrix


def read_ids(path: str | Path) -> list[str]:
    """Ids, one a line: plain text, or JSONL (a JSON string or an object with ``id``)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read ids file {path}: {exc}", param="passage_vector_ids"
                         ) from None
    ids: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text.startswith(("{", '"')):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise InputError(f"{path}:{number}: not JSON: {exc}",
                                 param="passage_vector_ids") from None
            text = str(value.get("id", "")) if isinstance(value, dict) else str(value)
        if not text:
            raise InputError(f"{path}:{number}: empty id", param="passage_vector_ids")
        ids.append(text)
    return ids


def _open_folder(path: Path) -> PassageVectors:
    from xqg_os.data.vectors import FOLDER_FORMAT, CommittedRows

    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a vector folder (its meta.json: {exc}); write one with "
                         "ingest's save_vectors", param="passage_vectors") from None
    if (not isinstance(meta, dict) or meta.get("format") != FOLDER_FORMAT
            or not isinstance(meta.get("dimension"), int)):
        raise InputError(f"{path} is not a vector folder of format {FOLDER_FORMAT}",
                         param="passage_vectors")
    recorded = meta.get("meta")
    index_meta: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    fields = meta.get("fields") or []
    # without passage_vector, xqg_vector is the passage vector only when nothing was mixed in
    name = ("passage_vector" if "passage_vector" in fields else "xqg_vector"
            if index_meta.get("formula") == "none" and "xqg_vector" in fields else None)
    if name is None:
        raise InputError(f"{path} holds no passage_vector (its xqg_vector mixes generated "
                         "queries in); export with vector_fields both", param="passage_vectors")
    committed = CommittedRows(path, {name: (int(meta["dimension"]), "float32")}, "texts.jsonl")
    ids = committed.recover()
    rows = {pid: row for row, pid in enumerate(ids)}  # a resumed export: the last row wins
    encoder = index_meta.get("encoder")
    return PassageVectors(str(path), committed.arrays[name].read(len(ids)), rows,
                          dict(encoder) if isinstance(encoder, dict) else None)


def _read_rows(matrix: np.ndarray, start: int, count: int) -> np.ndarray:
    """Rows ``start ..`` of ``matrix``; read from its file when memory-mapped, so that a scan
    of the whole file leaves none of it mapped in."""
    count = min(count, matrix.shape[0] - start)
    if isinstance(matrix, np.memmap) and matrix.filename is not None:
        row_bytes = matrix.dtype.itemsize * matrix.shape[1]
        flat = np.fromfile(matrix.filename, dtype=matrix.dtype, count=count * matrix.shape[1],
                           offset=matrix.offset + start * row_bytes)
        return flat.reshape(count, matrix.shape[1])
    return np.asarray(matrix[start:start + count])


def _check_finite(vectors: PassageVectors, progress: Any | None) -> None:
    total = vectors.matrix.shape[0]
    if progress is not None:
        progress.reset(total=total)
    bad, first = 0, -1
    for start in range(0, total, _CHECK_ROWS):
        ok = np.isfinite(_read_rows(vectors.matrix, start, _CHECK_ROWS)).all(axis=1)
        if not ok.all():
            bad += int((~ok).sum())
            first = first if first >= 0 else start + int(np.argmin(ok))
        if progress is not None:
            progress.update(len(ok))
    if bad:
        by_row = {row: pid for pid, row in vectors.rows.items()}
        raise InputError(f"{vectors.path}: {bad} row(s) hold NaN or infinity (first: row {first}"
                         f", passage {by_row.get(first, '?')!r}); fix or drop them",
                         param="passage_vectors")


class Coverage:
    """:func:`check_coverage` as an accumulator: :meth:`add` each passage of the corpus in
    corpus order (e.g. during the validating scan), then :meth:`check`."""

    def __init__(self, vectors: PassageVectors, shard: Shard | None = None) -> None:
        self.vectors, self.shard = vectors, shard or Shard()
        self.position, self.wanted, self.matched = 0, 0, 0
        self.lacking: list[str] = []

    def add(self, passage: Passage) -> None:
        """Count one passage (the next in corpus order)."""
        has = passage.id in self.vectors.rows
        self.matched += has
        if self.position % self.shard.count == self.shard.index and not passage.is_empty:
            self.wanted += 1
            if not has:
                self.lacking.append(passage.id)
        self.position += 1

    def check(self) -> str | None:
        """The result of :func:`check_coverage` for the passages added."""
        vectors, lacking = self.vectors, self.lacking
        if lacking:
            raise InputError(f"{vectors.path} lacks vectors for {len(lacking)} of the "
                             f"{self.wanted} passages to ingest (e.g. {', '.join(lacking[:3])});"
                             " give a vector for every passage", param="passage_vectors")
        extra = len(vectors.rows) - self.matched
        if not extra:
            return None
        return (f"{extra} of the {len(vectors.rows)} passage vectors in {vectors.path} have no "
                "passage in the corpus; they are not ingested")


def check_coverage(vectors: PassageVectors, corpus: Iterable[Passage],
                   shard: Shard | None = None) -> str | None:
    """Match the vectors to the corpus: refuse passages without a vector, count the rest.

    Args:
        vectors: the passage vectors.
        corpus: every passage of the corpus, in corpus order (ids unique).
        shard: the part of the corpus this run ingests (default all); empty passages are not
            ingested and need no vector.

    Returns:
        A notice when vectors have no passage in the corpus (None when all have one).

    Raises:
        InputError: for passages of this run without a vector, with their count.
    """
    coverage = Coverage(vectors, shard)
    for passage in corpus:
        coverage.add(passage)
    return coverage.check()
