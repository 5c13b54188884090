"""The one on-disk vector format: appendable ``.npy`` arrays whose rows are committed by an id log.

A folder of rows holds, per named array, a valid 2-D ``.npy`` file (``np.load(path,
mmap_mode="r")`` reads it) whose rows are appended in place (its header is padded to
:data:`HEADER_LEN` bytes so the shape can be rewritten), optionally one JSON record per row
(``*.jsonl``), and ``ids.jsonl``: one JSON string per line, the id of each row. Rows are written
arrays first, then records, then ids, each with fsync: the ids file is the commit record. On
reopening, only rows with a complete id line and data in every file are trusted; a writer cuts
anything past them (a crash between two writes) and repairs the headers.

Two formats are built on it:

- the embedding cache (:class:`xqg_os.encode.cache.EmbeddingStore`): ``vectors.npy`` +
  ``ids.jsonl`` + its own ``meta.json``;
- the vector folder that ingest's ``save_vectors`` writes (:class:`VectorFolderWriter`) and exact
  search reads (:func:`read_vector_folder`): ``<field>.npy`` per vector field (float32),
  ``texts.jsonl`` (id, title, text, lang), ``ids.jsonl`` and ``meta.json`` (format, dimension,
  fields, space type, the index name and the index ``_meta``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from xqg_os.data.jsonl import JsonObject, malformed_line, parse_object
from xqg_os.errors import InputError

HEADER_LEN = 128  # bytes before the data; a multiple of 64 as the .npy format asks
FOLDER_FORMAT = 2  # 1 was raw .f32 files with ids.txt
IDS_FILE = "ids.jsonl"


def npy_header(dtype: np.dtype, rows: int, dim: int) -> bytes:
    """A ``.npy`` version 1.0 header of exactly :data:`HEADER_LEN` bytes for ``rows x dim``."""
    text = f"{{'descr': '{dtype.str}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    prefix = b"\x93NUMPY\x01\x00" + (HEADER_LEN - 10).to_bytes(2, "little")
    body = text.ljust(HEADER_LEN - len(prefix) - 1) + "\n"
    return prefix + body.encode("latin1")


def _fsync_write(handle: IO[bytes], data: bytes) -> None:
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _complete_lines(path: Path) -> tuple[list[bytes], bool]:
    """The complete lines of a file and whether a torn last line follows them."""
    raw = path.read_bytes() if path.exists() else b""
    end = raw.rfind(b"\n") + 1
    return raw[:end].splitlines(keepends=True), end != len(raw)


class AppendableArray:
    """A 2-D ``.npy`` file whose rows are written in place (created empty when absent)."""

    def __init__(self, path: Path, dim: int, dtype: str = "float32") -> None:
        self.path = path
        self.dim = dim
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.row_bytes = self.dtype.itemsize * dim
        try:
            with open(path, "xb") as handle:
                _fsync_write(handle, npy_header(self.dtype, 0, dim))
        except FileExistsError:
            pass

    def rows_on_disk(self) -> int:
        """Complete rows in the file, committed or not."""
        return max(0, (self.path.stat().st_size - HEADER_LEN) // self.row_bytes)

    def write(self, start: int, data: np.ndarray) -> None:
        """Write ``data`` from row ``start`` on, durably (the header is not touched)."""
        block = np.ascontiguousarray(data, dtype=self.dtype)
        with open(self.path, "r+b") as handle:
            handle.seek(HEADER_LEN + start * self.row_bytes)
            _fsync_write(handle, block.tobytes())

    def set_rows(self, rows: int, cut: bool = False) -> None:
        """Rewrite the header for ``rows`` rows; with ``cut``, drop any row past them."""
        with open(self.path, "r+b") as handle:
            if cut:
                handle.truncate(HEADER_LEN + rows * self.row_bytes)
            _fsync_write(handle, npy_header(self.dtype, rows, self.dim))

    def read(self, rows: int) -> np.ndarray:
        """The first ``rows`` rows, memory-mapped read-only (the header may still be stale)."""
        if rows == 0:
            return np.zeros((0, self.dim), dtype=self.dtype)
        return np.memmap(self.path, dtype=self.dtype, mode="r", offset=HEADER_LEN,
                         shape=(rows, self.dim))


class CommittedRows:
    """Named arrays, an optional JSONL record file and ``ids.jsonl`` in one folder.

    Args:
        folder: an existing folder.
        arrays: ``{file stem: (dimension, dtype)}``; each is ``<stem>.npy``.
        records: name of a JSONL file with one record per row, or None.
    """

    def __init__(self, folder: Path, arrays: Mapping[str, tuple[int, str]],
                 records: str | None = None) -> None:
        self.folder = folder
        self.arrays = {name: AppendableArray(folder / f"{name}.npy", dim, dtype)
                       for name, (dim, dtype) in arrays.items()}
        self.records_path = folder / records if records else None
        self.ids_path = folder / IDS_FILE

    def recover(self, repair: bool = False) -> list[str]:
        """The committed ids, in row order.

        With ``repair`` (only for the one writer, so that a reader never cuts a writer's
        uncommitted rows) also drop uncommitted data from every file and rewrite the headers.
        """
        lines, torn = _complete_lines(self.ids_path)
        committed = min([len(lines), *(a.rows_on_disk() for a in self.arrays.values())])
        records: list[bytes] = []
        if self.records_path is not None:
            records, _ = _complete_lines(self.records_path)
            committed = min(committed, len(records))
        ids = [str(json.loads(line)) for line in lines[:committed]]
        if repair:
            if torn or committed < len(lines):
                _replace(self.ids_path, b"".join(lines[:committed]))
            if self.records_path is not None:
                with open(self.records_path, "ab") as handle:
                    handle.truncate(sum(len(line) for line in records[:committed]))
            for array in self.arrays.values():
                array.set_rows(committed, cut=True)
        return ids

    def append(self, start: int, ids: Sequence[str], arrays: Mapping[str, np.ndarray],
               records: Sequence[Mapping[str, object]] = ()) -> None:
        """Commit rows ``start ..`` (``start`` = rows committed so far, after a repair)."""
        for name, array in self.arrays.items():
            array.write(start, arrays[name])
        if self.records_path is not None:
            with open(self.records_path, "ab") as handle:
                _fsync_write(handle, "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                             for r in records).encode("utf-8"))
        with open(self.ids_path, "ab") as handle:  # the commit
            _fsync_write(handle, "".join(json.dumps(item, ensure_ascii=False) + "\n"
                                         for item in ids).encode("utf-8"))
        for array in self.arrays.values():  # cosmetic: a plain np.load sees the committed rows
            array.set_rows(start + len(ids))


@dataclass
class VectorFolder:
    """A vector folder read back: rows deduplicated by id (a resumed export keeps the last).

    Attributes:
        path: the folder.
        ids: passage ids, the row order of every matrix.
        vectors: ``{field: float32 [len(ids), dimension]}``.
        texts: ``{id: {"title", "text", "lang"}}``.
        space_type: the similarity of the index the vectors were written for.
        index: the name of that index (``""`` when not recorded).
        meta: that index's ``_meta`` (encoder description, generator, formula, ...).
    """

    path: Path
    ids: list[str]
    vectors: dict[str, np.ndarray]
    texts: dict[str, dict[str, str]]
    space_type: str
    index: str
    meta: dict[str, object]


def _folder_meta(path: Path) -> JsonObject:
    if (path / "ids.txt").exists() or any(path.glob("*.f32")):
        raise InputError(f"{path} holds vectors in the old raw .f32 layout, which this version "
                         "no longer reads; re-export them by ingesting again with save_vectors",
                         param="save_vectors")
    meta_path = path / "meta.json"
    if not meta_path.is_file() or not (path / IDS_FILE).is_file():
        raise InputError(f"{path} holds no saved vectors (meta.json or {IDS_FILE} missing); "
                         "write them by ingesting with save_vectors", param="save_vectors")
    try:
        meta = parse_object(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise malformed_line(meta_path, 1, str(exc)) from None
    if meta.get("format") != FOLDER_FORMAT:
        raise InputError(f"{path} is a vector folder of format {meta.get('format')!r}, not "
                         f"{FOLDER_FORMAT}; re-export it by ingesting again with save_vectors",
                         param="save_vectors")
    return meta


def _rows(path: Path, meta: Mapping[str, object]) -> CommittedRows:
    dim, fields = meta.get("dimension"), meta.get("fields")
    if not isinstance(dim, int) or not isinstance(fields, list):
        raise InputError(f"{path}/meta.json lacks the dimension or the fields; re-export it")
    return CommittedRows(path, {str(f): (dim, "float32") for f in fields}, "texts.jsonl")


def folder_index_meta(folder: str | Path) -> dict[str, object]:
    """The index ``_meta`` a vector folder records (``{}`` when it records none).

    Raises:
        InputError: as :func:`read_vector_folder`, for a folder without saved vectors.
    """
    meta = _folder_meta(Path(folder)).get("meta")
    return dict(meta) if isinstance(meta, dict) else {}


def read_vector_folder(folder: str | Path, fields: Sequence[str] | None = None) -> VectorFolder:
    """Read a folder written by :class:`VectorFolderWriter` (``fields``: default all).

    Raises:
        InputError: for a folder without saved vectors, one of the old ``.f32`` layout (with
            the advice to re-export it), or an unknown field.
    """
    path = Path(folder)
    meta = _folder_meta(path)
    rows = _rows(path, meta)
    wanted = list(fields) if fields is not None else list(rows.arrays)
    unknown = [f for f in wanted if f not in rows.arrays]
    if unknown:
        raise InputError(f"{path} holds no vectors for field(s) {unknown}; it has "
                         f"{', '.join(rows.arrays)}")
    ids = rows.recover()
    if not ids:  # searching it could only print zeros
        raise InputError(f"{path} holds no saved vectors (0 rows): the ingest that wrote it "
                         "exported nothing; ingest again with save_vectors",
                         param="save_vectors")
    texts: list[dict[str, str]] = []
    if rows.records_path is not None:
        with open(rows.records_path, encoding="utf-8") as handle:
            for number, (line, _) in enumerate(zip(handle, ids), start=1):
                try:
                    record = parse_object(line)
                except ValueError as exc:
                    raise malformed_line(rows.records_path, number, str(exc)) from None
                texts.append({k: str(record.get(k, "")) for k in ("title", "text", "lang")})
    vectors = {f: rows.arrays[f].read(len(ids)) for f in wanted}
    last = {pid: row for row, pid in enumerate(ids)}
    if len(last) < len(ids):  # a resumed ingest may have exported a batch twice
        keep = np.fromiter(sorted(last.values()), dtype=np.int64)
        ids, texts = [ids[r] for r in keep], [texts[r] for r in keep]
        vectors = {f: np.asarray(m[keep]) for f, m in vectors.items()}
    index_meta = meta.get("meta")
    return VectorFolder(path, ids, vectors, dict(zip(ids, texts)),
                        str(meta.get("space_type") or "innerproduct"), str(meta.get("index", "")),
                        dict(index_meta) if isinstance(index_meta, dict) else {})


class VectorFolderWriter:
    """Append-only writer of a vector folder, one batch of ingest documents at a time.

    Reopening a folder written with the same settings (a resumed ingest) keeps its committed
    rows and appends; a folder written with other settings (or in the old layout) is emptied.

    Args:
        folder: the folder (created when absent).
        meta: the index ``_meta``.
        dimension: vector dimension.
        fields: the vector fields to save (each document carries them).
        space_type: the index's similarity (exact search scores with it).
        index: the index name.
    """

    def __init__(self, folder: str | Path, meta: Mapping[str, object], dimension: int,
                 fields: Sequence[str], space_type: str = "innerproduct", index: str = ""
                 ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fields = list(fields)
        record = {"format": FOLDER_FORMAT, "dimension": int(dimension), "fields": self.fields,
                  "space_type": space_type, "index": index, "meta": dict(meta)}
        meta_path = self.folder / "meta.json"
        try:
            same = _folder_meta(self.folder) == json.loads(json.dumps(record, default=str))
        except InputError:
            same = False
        if not same:
            stale = [self.folder / n for n in ("ids.txt", IDS_FILE, "texts.jsonl")]
            stale += [*self.folder.glob("*.f32"), *(self.folder / f"{f}.npy" for f in fields)]
            for file in stale:
                file.unlink(missing_ok=True)
            _replace(meta_path, json.dumps(record, indent=2, default=str).encode("utf-8"))
        self._rows = _rows(self.folder, record)
        (self.folder / IDS_FILE).touch()  # a folder of 0 rows reads as such, not as no folder
        committed = self._rows.recover(repair=True)
        self._count = len(committed)
        self.ids: set[str] = set(committed)
        """The ids of the rows committed so far (a resumed export skips them)."""

    def add(self, docs: Iterable[Mapping[str, object]]) -> None:
        """Append documents as ingest builds them (``passage_id``, texts, one list per field)."""
        docs = list(docs)
        if not docs:
            return
        ids = [str(d["passage_id"]) for d in docs]
        arrays = {f: np.asarray([d[f] for d in docs], dtype=np.float32) for f in self.fields}
        records = [{"id": pid, **{k: d.get(k, "") for k in ("title", "text", "lang")}}
                   for pid, d in zip(ids, docs)]
        self._rows.append(self._count, ids, arrays, records)
        self._count += len(ids)
        self.ids.update(ids)
