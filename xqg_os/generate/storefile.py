"""Low-level helpers of the query store: JSONL record parsing and scanning with byte offsets,
torn-tail detection, atomic locked JSON updates, language bitmasks."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from xqg_os.data.jsonl import parse_object
from xqg_os.errors import InputError
from xqg_os.generate.base import GeneratedQueries


def parse_record(raw: bytes | str) -> GeneratedQueries:
    """Parse one ``{"id", "lang", "queries"}`` line.

    Raises:
        ValueError, TypeError: for anything else.
    """
    record = parse_object(raw)
    pid, lang, queries = record.get("id"), record.get("lang"), record.get("queries")
    if not isinstance(pid, str | int) or not isinstance(lang, str) or not isinstance(queries, list):
        raise TypeError("expected id, lang and a list of queries")
    return GeneratedQueries(str(pid), lang, tuple(str(q) for q in queries))


class RecordScanner:
    """Iterate ``(byte offset, record)`` over a store file, tolerating a killed writer.

    A last line without a newline (a torn write) and invalid lines at the very end are skipped;
    an invalid line followed by valid ones is corruption and raises :class:`InputError`. After
    iteration :attr:`good_end` is the byte offset just past the last valid line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.good_end = 0

    def __iter__(self) -> Iterator[tuple[int, GeneratedQueries]]:
        bad_line: int | None = None
        offset = 0
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                start, offset = offset, offset + len(raw)
                if not raw.endswith(b"\n"):
                    break  # torn tail: the writer died mid-line
                if not raw.strip():
                    continue
                try:
                    record = parse_record(raw)
                except (ValueError, TypeError):
                    bad_line = bad_line or number
                    continue
                if bad_line is not None:
                    raise InputError(f"{self.path}:{bad_line}: corrupt query store line; "
                                     "remove it (or the file) and rerun")
                self.good_end = offset
                yield start, record


def scan_records(path: Path) -> Iterator[tuple[int, GeneratedQueries]]:
    """``(byte offset, record)`` for each valid line of a store file (:class:`RecordScanner`)."""
    return iter(RecordScanner(path))


def truncate_to(path: Path, size: int) -> int:
    """Cut ``path`` to ``size`` bytes (durably); returns the number of bytes removed."""
    removed = path.stat().st_size - size
    if removed > 0:
        with open(path, "r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    return max(0, removed)


def read_record_at(handle: IO[bytes], offset: int) -> GeneratedQueries:
    """The record starting at ``offset`` of an open store file."""
    handle.seek(offset)
    return parse_record(handle.readline())


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock where the platform has one (shards may share a folder)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one writer per store folder
        yield
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_json(path: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """Read-modify-write a JSON file atomically (temp file + rename) under a lock."""
    with _locked(path.with_name(path.name + ".lock")):
        current: dict[str, Any] = {}
        if path.exists():
            current = json.loads(path.read_text(encoding="utf-8"))
        updated = change(current)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(updated, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    return updated


class LanguageBits:
    """Language code <-> bit, so "which languages are done" is one int per passage."""

    def __init__(self) -> None:
        self._bits: dict[str, int] = {}

    def bit(self, lang: str) -> int:
        """The bit of ``lang`` (assigned on first sight)."""
        if lang not in self._bits:
            self._bits[lang] = 1 << len(self._bits)
        return self._bits[lang]

    def languages(self, masks: Iterable[int]) -> list[str]:
        """Sorted codes present in any of ``masks``."""
        union = 0
        for mask in masks:
            union |= mask
        return sorted(lang for lang, bit in self._bits.items() if union & bit)
