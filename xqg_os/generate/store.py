"""The query store: an append-only, resumable cache of generated queries.

Layout, under the output folder::

    queries-<fingerprint>/          fingerprint of (generator describe(), n)
        manifest.json               generator, n, languages, counts
        queries.jsonl               {"id", "lang", "queries"} per line (shard i/N of N > 1
        queries.shard-i-of-N.jsonl   writes its own file, so shards never share one)

The line layout is the precomputed-queries layout, so a store can be fed back to the
precomputed generator. Appends are fsync'd per batch; a torn last line left by a killed
run is cut off when a writer opens the file; pairs already present are never generated again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from xqg_os import __version__
from xqg_os.errors import InputError
from xqg_os.fingerprint import fingerprint
from xqg_os.generate.base import GeneratedQueries
from xqg_os.generate.storefile import (
    LanguageBits,
    RecordScanner,
    read_record_at,
    scan_records,
    truncate_to,
    update_json,
)
from xqg_os.shard import Shard

STORE_PREFIX = "queries-"
MANIFEST = "manifest.json"
FORMAT = "xqg-query-store/1"


def store_fingerprint(generator: dict[str, Any], n: int) -> str:
    """The store key: what the queries depend on (the generator's identity, which includes its
    template, decoding parameters and seed, and ``n``)."""
    return fingerprint({"generator": generator, "n": n})


def data_file_name(shard: Shard | None = None) -> str:
    """``queries.jsonl``, or ``queries.shard-i-of-N.jsonl`` for one shard of several."""
    if shard is None or shard.is_whole:
        return "queries.jsonl"
    return f"queries.shard-{shard.index}-of-{shard.count}.jsonl"


def find_store(out_dir: str | Path) -> Path:
    """The store folder: ``out_dir`` itself when it is one, else its only ``queries-*`` store.

    Raises:
        InputError: when there is no store, or several (naming them).
    """
    out_dir = Path(out_dir)
    if (out_dir / MANIFEST).is_file():
        return out_dir
    if not out_dir.is_dir():
        raise InputError(f"query store folder not found: {out_dir}")
    stores = sorted(p for p in out_dir.glob(STORE_PREFIX + "*") if (p / MANIFEST).is_file())
    if not stores:
        raise InputError(f"no query store in {out_dir} (generate queries into it first)")
    if len(stores) > 1:
        names = []
        for path in stores:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            names.append(f"{path.name} ({manifest['generator'].get('model', '?')}, "
                         f"n={manifest['n']})")
        raise InputError(f"{out_dir} holds {len(stores)} query stores: {'; '.join(names)}; "
                         "pass one of these folders")
    return stores[0]


class QueryStore:
    """Read access to a store, plus :meth:`writer` for a generation run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        manifest_path = path / MANIFEST
        try:
            self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"unreadable query store manifest {manifest_path}: {exc}") from None
        if self.manifest.get("format") != FORMAT:
            raise InputError(f"{manifest_path} is not an xqg-os query store manifest")
        self._index: dict[str, dict[str, tuple[int, int]]] | None = None
        self._index_files: list[Path] = []

    @classmethod
    def open(cls, path: str | Path) -> QueryStore:
        """Open a store folder, or the only store under an output folder (:func:`find_store`)."""
        return cls(find_store(path))

    @classmethod
    def create(cls, out_dir: str | Path, generator: dict[str, Any], n: int) -> QueryStore:
        """Open the store for (generator, n) under ``out_dir``, creating it if needed."""
        key = store_fingerprint(generator, n)
        path = Path(out_dir) / f"{STORE_PREFIX}{key}"
        path.mkdir(parents=True, exist_ok=True)
        if not (path / MANIFEST).exists():
            update_json(path / MANIFEST, lambda current: current or {
                "format": FORMAT, "fingerprint": key, "generator": generator, "n": n,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "tool_version": __version__,
                "languages": [], "counts": {"records": 0, "queries": 0, "passages": 0},
                "files": {}})
        return cls(path)

    @property
    def fingerprint(self) -> str:
        """The store key."""
        return str(self.manifest["fingerprint"])

    @property
    def max_n(self) -> int:
        """Queries stored per (passage, language)."""
        return int(self.manifest["n"])

    def describe(self) -> dict[str, Any]:
        """The manifest: generator identity (for index ``_meta``), n, languages, counts."""
        self.manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        return dict(self.manifest)

    def data_files(self) -> list[Path]:
        """The JSONL files of the store, ``queries.jsonl`` first."""
        return sorted(self.path.glob("queries*.jsonl"), key=lambda p: (p.name != "queries.jsonl",
                                                                        p.name))

    def iter_records(self) -> Iterator[GeneratedQueries]:
        """Stream every record, file by file, in write order (a torn last line is ignored)."""
        for path in self.data_files():
            for _, record in scan_records(path):
                yield record

    def _build_index(self) -> dict[str, dict[str, tuple[int, int]]]:
        index: dict[str, dict[str, tuple[int, int]]] = {}
        self._index_files = self.data_files()
        for number, path in enumerate(self._index_files):
            for offset, record in scan_records(path):
                index.setdefault(record.id, {}).setdefault(record.lang, (number, offset))
        return index

    def get(self, ids: list[str], languages: list[str], n: int
            ) -> dict[str, dict[str, list[str]]]:
        """The first ``n`` queries per language for each id.

        Builds an id -> byte-offset index on first use (memory: one entry per stored pair).
        Ids or languages that the store lacks are absent from the result.

        Raises:
            InputError: when ``n`` exceeds :attr:`max_n`.
        """
        if n > self.max_n:
            raise InputError(f"query store {self.path} holds n={self.max_n} queries per "
                             f"language; {n} asked for")
        if self._index is None:
            self._index = self._build_index()
        files = self._index_files
        wanted = [(entry[lang], pid, lang) for pid in dict.fromkeys(ids)
                  if (entry := self._index.get(pid)) is not None
                  for lang in languages if lang in entry]
        result: dict[str, dict[str, list[str]]] = {}
        handles: dict[int, Any] = {}
        try:
            for (number, offset), pid, lang in sorted(wanted):
                if number not in handles:
                    handles[number] = open(files[number], "rb")  # noqa: SIM115 - closed below
                record = read_record_at(handles[number], offset)
                result.setdefault(pid, {})[lang] = list(record.queries[:n])
        finally:
            for handle in handles.values():
                handle.close()
        return result

    def writer(self, shard: Shard | None = None) -> StoreWriter:
        """A writer appending to this run's file (see :class:`StoreWriter`)."""
        return StoreWriter(self, data_file_name(shard))


class StoreWriter:
    """Appends records to one data file of a store; a context manager.

    Opening repairs a torn tail of its file and indexes what every file of the store already
    holds, so :meth:`pending` can skip finished (id, language) pairs. Closing records counts in
    the manifest.
    """

    def __init__(self, store: QueryStore, name: str) -> None:
        self.store = store
        self.name = name
        self.path = store.path / name
        self.repaired_bytes = 0
        self.bits = LanguageBits()
        self._done: dict[str, int] = {}  # id -> bitmask of finished languages, all files
        self._own: dict[str, int] = {}
        self.records = self.queries = 0
        for path in store.data_files():
            own = path.name == name
            scanner = RecordScanner(path)
            for _, record in scanner:
                bit = self.bits.bit(record.lang)
                self._done[record.id] = self._done.get(record.id, 0) | bit
                if own:
                    self._own[record.id] = self._own.get(record.id, 0) | bit
                    self.records += 1
                    self.queries += len(record.queries)
            if own:  # cut a torn tail so that appends start on a fresh line
                self.repaired_bytes = truncate_to(path, scanner.good_end)
        self._handle = open(self.path, "ab")  # noqa: SIM115 - closed by close()

    def pending(self, passage_id: str, languages: list[str]) -> list[str]:
        """The languages of ``languages`` not yet stored for this passage."""
        done = self._done.get(passage_id, 0)
        return [lang for lang in languages if not done & self.bits.bit(lang)]

    def append(self, records: list[GeneratedQueries]) -> None:
        """Write one batch and fsync it, so a killed run keeps every finished batch."""
        if not records:
            return
        lines = [json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records]
        self._handle.write("".join(lines).encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        for record in records:
            bit = self.bits.bit(record.lang)
            self._done[record.id] = self._done.get(record.id, 0) | bit
            self._own[record.id] = self._own.get(record.id, 0) | bit
            self.queries += len(record.queries)
        self.records += len(records)

    def close(self) -> None:
        """Close the file and record this file's counts in the manifest."""
        if self._handle.closed:
            return
        self._handle.close()
        entry = {"languages": self.bits.languages(self._own.values()), "records": self.records,
                 "queries": self.queries, "passages": len(self._own),
                 "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

        def merge(manifest: dict[str, Any]) -> dict[str, Any]:
            files = {**manifest.get("files", {}), self.name: entry}
            manifest["files"] = files
            manifest["languages"] = sorted({lang for f in files.values()
                                            for lang in f["languages"]})
            manifest["counts"] = {key: sum(f[key] for f in files.values())
                                  for key in ("records", "queries", "passages")}
            return manifest

        update_json(self.store.path / MANIFEST, merge)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["QueryStore", "StoreWriter", "data_file_name", "find_store", "store_fingerprint"]
