"""Queries generated elsewhere: a JSONL file, a query-store folder, or a Hugging Face dataset.

Two line layouts are accepted (and may be mixed):

* one line per (passage, language): ``{"id", "lang", "queries": [...]}`` (the query-store layout);
* one line per passage, as in the released xQG data: ``{"id" | "_id" | "docid",
  "generated_queries": {lang: [...]}}``.

Local files are indexed once (id -> byte offsets) and read on demand, so memory holds offsets,
not queries. Passages or languages the source lacks are counted as ``missing``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xqg_os.data.jsonl import parse_object
from xqg_os.errors import InputError, ModelError
from xqg_os.generate.base import GeneratedQueries, GeneratorBase, QueryRequest

ID_KEYS = ("id", "_id", "docid")


@dataclass(frozen=True)
class PrecomputedConfig:
    """``source``: a JSONL file, a folder of ``*.jsonl`` (e.g. a query store) or, when no such
    path exists and the ``datasets`` package is installed, a Hugging Face dataset name."""

    source: str
    split: str = "train"
    batch_size: int = 256


def queries_of(record: Mapping[str, object]) -> tuple[str, dict[str, list[str]]]:
    """The passage id and language -> queries of one record, in either layout.

    Raises:
        ValueError: for a record in neither layout.
    """
    pid = next((record[key] for key in ID_KEYS if record.get(key) not in (None, "")), None)
    if pid is None:
        raise ValueError("no id, _id or docid field")
    generated = record.get("generated_queries")
    if isinstance(generated, dict):
        return str(pid), {str(lang): [str(q) for q in ([qs] if isinstance(qs, str) else qs)]
                          for lang, qs in generated.items()}
    lang, queries = record.get("lang"), record.get("queries")
    if isinstance(lang, str) and isinstance(queries, list):
        return str(pid), {lang: [str(q) for q in queries]}
    raise ValueError("expected generated_queries, or lang and queries")


def _digest(files: list[Path]) -> str:
    """Cheap content digest: size plus first and last MiB of each file."""
    digest = hashlib.sha256()
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


class _LocalSource:
    """JSONL files indexed by passage id (byte offsets)."""

    def __init__(self, path: Path) -> None:
        if path.is_dir():
            self.files = sorted(path.glob("queries*.jsonl")) or sorted(path.glob("*.jsonl"))
            if not self.files:
                raise InputError(f"no .jsonl files in {path}")
        else:
            self.files = [path]
        if any(f.suffix == ".gz" for f in self.files):
            raise InputError(f"{path}: compressed query files are not supported; gunzip first")
        self.name = str(path.resolve())
        self.revision = _digest(self.files)
        self._index: dict[str, list[tuple[int, int]]] | None = None

    def _build(self) -> dict[str, list[tuple[int, int]]]:
        index: dict[str, list[tuple[int, int]]] = {}
        for number, path in enumerate(self.files):
            offset = 0
            with open(path, "rb") as handle:
                for line_no, raw in enumerate(handle, start=1):
                    start, offset = offset, offset + len(raw)
                    if not raw.strip():
                        continue
                    if not raw.endswith(b"\n") and path.name.startswith("queries"):
                        break  # a store's torn tail
                    try:
                        pid, _ = queries_of(parse_object(raw))
                    except ValueError as exc:
                        raise InputError(f"{path}:{line_no}: malformed queries line ({exc})"
                                         ) from None
                    index.setdefault(pid, []).append((number, start))
        return index

    def lookup(self, pid: str) -> dict[str, list[str]]:
        """Every language's queries for a passage (first occurrence wins)."""
        if self._index is None:
            self._index = self._build()
        found: dict[str, list[str]] = {}
        for number, offset in self._index.get(pid, []):
            with open(self.files[number], "rb") as handle:
                handle.seek(offset)
                _, queries = queries_of(parse_object(handle.readline()))
            for lang, items in queries.items():
                found.setdefault(lang, items)
        return found


class _DatasetSource:
    """A Hugging Face dataset (Arrow, memory-mapped) indexed by passage id."""

    def __init__(self, name: str, split: str) -> None:
        try:
            import datasets
        except ImportError:
            raise InputError(f"queries file not found: {name}; to load it as a Hugging Face "
                             "dataset install the `datasets` package") from None
        try:
            self.data = datasets.load_dataset(name, split=split)
        except Exception as exc:  # noqa: BLE001 - hub, network, format errors: many types
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"cannot load queries dataset {name!r} (split {split}): {reason}"
                             ) from None
        column = next((key for key in ID_KEYS if key in self.data.column_names), None)
        if column is None:
            raise InputError(f"dataset {name!r} has no id, _id or docid column")
        self.name = name
        self.revision = getattr(self.data, "_fingerprint", None)
        self._rows: dict[str, list[int]] = {}
        for row, pid in enumerate(self.data[column]):
            self._rows.setdefault(str(pid), []).append(row)

    def lookup(self, pid: str) -> dict[str, list[str]]:
        """Every language's queries for a passage."""
        found: dict[str, list[str]] = {}
        for row in self._rows.get(pid, []):
            for lang, items in queries_of(self.data[row])[1].items():
                found.setdefault(lang, items)
        return found


class PrecomputedGenerator(GeneratorBase):
    """Serve queries from a precomputed source (see module docstring)."""

    retries_missing = False  # what the source lacks, a rerun will not find either

    def __init__(self, config: PrecomputedConfig) -> None:
        super().__init__()
        self.config = config
        path = Path(config.source).expanduser()
        if path.exists():
            self.source: _LocalSource | _DatasetSource = _LocalSource(path)
        elif config.source.startswith((".", "/", "~")) or config.source.endswith(
                (".jsonl", ".json", ".gz")) or config.source.count("/") > 1:
            raise InputError(f"queries file not found: {config.source}")
        else:
            self.source = _DatasetSource(config.source, config.split)

    def describe(self) -> dict[str, Any]:
        """See :meth:`QueryGenerator.describe`; the revision is a digest of the source."""
        return {"kind": "precomputed", "model": self.source.name,
                "revision": self.source.revision, "template": None, "decoding": None,
                "seed": None}

    def stream(self, requests: Sequence[QueryRequest], n: int
               ) -> Iterator[list[GeneratedQueries]]:
        """See :meth:`QueryGenerator.stream`. Pairs the source lacks are counted as
        ``missing``; pairs with fewer than ``n`` queries are kept and counted as ``short``."""
        if n < 1:
            raise InputError(f"n must be >= 1 (got {n})", param="n")
        cache: dict[str, dict[str, list[str]]] = {}
        batch: list[GeneratedQueries] = []
        for request in requests:
            pid = request.passage.id
            if pid not in cache:
                cache = {pid: self.source.lookup(pid)}  # requests come grouped by passage
            queries = cache[pid].get(request.lang)
            if not queries:
                self._count("missing")
                continue
            if len(queries) < n:
                self._count("short")
            batch.append(GeneratedQueries(pid, request.lang, tuple(queries[:n])))
            if len(batch) >= self.config.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
