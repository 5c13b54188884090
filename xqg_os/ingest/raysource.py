"""The corpus as a Ray Data source: read tasks over line-aligned byte ranges of the file.

Each read task parses only its own range (a gzip file is one range: it cannot be split), so
reading scales with the cluster and no task holds more than a block. Ranges follow the usual
rule: a task starting at byte ``s > 0`` skips the partial line it lands in, and reads every line
that starts before its end, so each line belongs to exactly one task.

The driver validated the corpus first (:func:`~xqg_os.data.corpus.scan_corpus`: malformed lines,
duplicate ids, empty passages), so read tasks drop what the scan counted (malformed lines when
``skip_bad_lines``, empty passages) without raising.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from ray.data.block import BlockMetadata
from ray.data.datasource.datasource import Datasource, ReadTask

from xqg_os.data.corpus import Passage, _passage, detect_format
from xqg_os.data.jsonl import GZIP_MAGIC, parse_object

COLUMNS = ("passage_id", "title", "text", "lang")
MIN_RANGE_BYTES = 1 << 20  # no read task for less than 1 MiB


def _parse(raw: bytes, fmt: str, first: bool) -> Passage | None:
    """The passage of one line, or None (malformed, header, empty)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if first:
        line = line.removeprefix("\ufeff")
    line = line.rstrip("\n").rstrip("\r")
    if not line.strip():
        return None
    if fmt == "tsv":
        row = line.split("\t")
        if len(row) < 2 or not row[0].strip():
            return None
        if first and row[0].strip().lower() in ("id", "_id", "docid", "pid"):
            return None
        passage = Passage(id=row[0].strip(), text=row[1], title=row[2] if len(row) > 2 else "")
    else:
        try:
            passage = _passage(parse_object(line), "_id" if fmt == "beir" else "id")
        except ValueError:
            return None
    return None if passage.is_empty else passage


def _lines(path: Path, start: int, end: int | None) -> Iterator[tuple[bool, bytes]]:
    """``(is the file's first line, raw line)`` for the lines starting in ``[start, end)``."""
    from xqg_os.data.jsonl import open_binary

    with open_binary(path, "corpus") as handle:
        offset = start
        if start > 0:
            handle.seek(start - 1)
            offset = start - 1 + len(handle.readline())  # the partial line is the previous range's
        for raw in handle:
            if end is not None and offset >= end:
                break
            yield offset == 0, raw
            offset += len(raw)


def _read(path: Path, fmt: str, start: int, end: int | None, rows: int) -> Iterator[pa.Table]:
    columns: dict[str, list[str]] = {name: [] for name in COLUMNS}
    for first, raw in _lines(path, start, end):
        passage = _parse(raw, fmt, first)
        if passage is None:
            continue
        for name, value in zip(COLUMNS, (passage.id, passage.title, passage.text,
                                         passage.lang)):
            columns[name].append(value)
        if len(columns["passage_id"]) >= rows:
            yield pa.table(columns)
            columns = {name: [] for name in COLUMNS}
    if columns["passage_id"]:
        yield pa.table(columns)


class CorpusDatasource(Datasource):
    """The passages of a corpus file (any format of :data:`~xqg_os.data.corpus.CORPUS_FORMATS`)
    as rows ``passage_id``, ``title``, ``text``, ``lang``, in blocks of ``rows_per_block``."""

    def __init__(self, path: str | Path, fmt: str = "auto", rows_per_block: int = 1024) -> None:
        super().__init__()
        self.path = Path(path)
        self.fmt = detect_format(self.path) if fmt == "auto" else fmt
        self.rows_per_block = rows_per_block
        with open(self.path, "rb") as probe:
            self.compressed = probe.read(2) == GZIP_MAGIC
        self.size = self.path.stat().st_size

    def estimate_inmemory_data_size(self) -> int:
        """About the file's size (texts dominate)."""
        return self.size

    def ranges(self, parallelism: int) -> list[tuple[int, int | None]]:
        """Byte ranges for at most ``parallelism`` tasks, each at least 1 MiB."""
        if self.compressed:
            return [(0, None)]
        count = max(1, min(parallelism, self.size // MIN_RANGE_BYTES))
        bounds = [self.size * k // count for k in range(count + 1)]
        return [(bounds[k], bounds[k + 1]) for k in range(count)]

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        """One read task per byte range."""
        return [ReadTask(functools.partial(_read, self.path, self.fmt, start, end,
                                           self.rows_per_block),
                         BlockMetadata(num_rows=None, size_bytes=(end or self.size) - start,
                                       exec_stats=None, input_files=(str(self.path),)),
                         per_task_row_limit=per_task_row_limit)
                for start, end in self.ranges(parallelism)]
