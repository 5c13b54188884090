"""The main job: corpus -> queries -> encode -> augment -> OpenSearch, streamed in batches.

Memory is bounded by the batch size, never by the corpus. Document id = passage id, and each
batch first asks the index (realtime ``mget``) which of its passages are already there, so an
ingest that was killed and is started again with the same command writes the rest, each passage
exactly once. An index whose ``_meta`` says it was built differently is refused unless
``recreate``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from xqg_os import __version__
from xqg_os.augment import FORMULA_VERSION, augment, select_queries
from xqg_os.data.corpus import Passage, passage_input, read_corpus, scan_corpus
from xqg_os.errors import InputError
from xqg_os.opensearch.bulk import BulkConfig, BulkWriter
from xqg_os.opensearch.index import VECTOR_FIELDS, IndexSpec, create_index, index_info
from xqg_os.search.exact import VectorExport
from xqg_os.shard import Shard

# _meta keys whose difference makes an existing index incompatible with this ingest
COMPATIBILITY_KEYS = ("encoder", "dimension", "formula", "alpha", "n", "languages",
                      "formula_version")

QuerySource = Callable[[list[Passage]], dict[str, dict[str, list[str]]]]


@dataclass(frozen=True)
class IngestConfig:
    """What to ingest and how."""

    corpus: str
    index: str
    languages: tuple[str, ...]
    n: int = 5
    alpha: float = 0.01
    formula: str = "sum"
    corpus_format: str = "auto"
    skip_bad_lines: bool = False
    batch_size: int = 256
    recreate: bool = False
    engine: str = "lucene"
    space_type: str = "innerproduct"
    m: int = 16
    ef_construction: int = 128
    shard: Shard = field(default_factory=Shard)
    bulk: BulkConfig = field(default_factory=BulkConfig)


@dataclass
class IngestSummary:
    """What an ingest did, with time per stage (seconds)."""

    passages: int = 0
    written: int = 0
    already_indexed: int = 0
    skipped_empty: int = 0
    bad_lines: int = 0
    no_queries: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=lambda: {
        "scan": 0.0, "queries": 0.0, "encode_passages": 0.0, "encode_queries": 0.0,
        "augment": 0.0, "write": 0.0})
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"] = len(self.failed)
        return data


def build_meta(config: IngestConfig, encoder_desc: dict[str, Any], dimension: int,
               generator_desc: dict[str, Any] | None) -> dict[str, Any]:
    """The ``_meta`` an xQG index records: enough to recompute any vector and to refuse a
    search with another encoder."""
    return {
        "tool": "xqg-os", "tool_version": __version__, "formula_version": FORMULA_VERSION,
        "encoder": encoder_desc, "dimension": dimension,
        "generator": generator_desc or {}, "languages": list(config.languages),
        "n": config.n, "alpha": config.alpha, "formula": config.formula,
    }


def check_compatible(existing: dict[str, Any], wanted: dict[str, Any], index: str) -> None:
    """Raise :class:`InputError` naming what differs between an index's ``_meta`` and ours."""
    differing = [key for key in COMPATIBILITY_KEYS if existing.get(key) != wanted.get(key)]
    if differing:
        details = "; ".join(f"{key}: index has {existing.get(key)!r}, this run {wanted.get(key)!r}"
                            for key in differing[:3])
        raise InputError(f"index {index!r} was built differently ({details}); "
                         "pass --recreate to replace it or choose another --index")


def _adopt_or_check(client: Any, index: str, meta: dict[str, Any], dimension: int) -> None:
    """An existing index must match this run; an empty one made by ``xqg-os index create``
    (no encoder in its ``_meta``) is adopted when its vector dimension fits."""
    info = index_info(client, index)
    existing = info["meta"]
    if existing.get("encoder") is None and info["docs"] == 0:
        mapped = {name: info["mappings"]["properties"].get(name, {}).get("dimension")
                  for name in VECTOR_FIELDS}
        if any(dim != dimension for dim in mapped.values()):
            raise InputError(f"the encoder gives {dimension}-d vectors but index {index!r} maps "
                             f"{mapped}; recreate it with --dim {dimension} or pass --recreate")
        client.indices.put_mapping(index=index, body={"_meta": {**existing, **meta}})
        return
    check_compatible(existing, meta, index)


def _batches(config: IngestConfig, summary: IngestSummary) -> Iterator[list[Passage]]:
    batch: list[Passage] = []
    corpus = read_corpus(config.corpus, config.corpus_format, config.skip_bad_lines)
    for passage in config.shard.select(corpus):
        summary.passages += 1
        if passage.is_empty:
            summary.skipped_empty += 1
            continue
        batch.append(passage)
        if len(batch) >= config.batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _existing_ids(client: Any, index: str, ids: list[str]) -> set[str]:
    response = client.mget(index=index, body={"ids": ids}, _source=False, realtime=True)
    return {doc["_id"] for doc in response["docs"] if doc.get("found")}


class _Timer:
    def __init__(self, stages: dict[str, float], name: str) -> None:
        self.stages, self.name = stages, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.stages[self.name] += time.perf_counter() - self.start


def _documents(batch: list[Passage], queries: dict[str, dict[str, list[str]]], encoder: Any,
               config: IngestConfig, summary: IngestSummary) -> list[dict[str, Any]]:
    stages = summary.stages
    chosen = [select_queries(queries.get(p.id, {}), list(config.languages), config.n)
              for p in batch]
    summary.no_queries += sum(1 for qs in chosen if not qs)
    with _Timer(stages, "encode_passages"):
        passage_vecs = encoder.encode_passages([passage_input(p) for p in batch])
    flat = [q for qs in chosen for q in qs]
    with _Timer(stages, "encode_queries"):
        query_vecs = (encoder.encode_queries(flat) if flat
                      else np.zeros((0, passage_vecs.shape[1]), dtype=np.float32))
    with _Timer(stages, "augment"):
        mixed = augment(passage_vecs, query_vecs, config.alpha, config.formula,
                        counts=[len(qs) for qs in chosen])
    return [{"passage_id": p.id, "title": p.title, "text": p.text, "lang": p.lang or "",
             "generated_queries": dict(queries.get(p.id, {})),
             "passage_vector": passage_vecs[i].tolist(), "xqg_vector": mixed[i].tolist()}
            for i, p in enumerate(batch)]


def ingest(client: Any, config: IngestConfig, encoder: Any, query_source: QuerySource,
           generator_desc: dict[str, Any] | None = None,
           progress: Any | None = None, save_vectors: str | None = None) -> IngestSummary:
    """Run the ingest; see the module docstring.

    Args:
        client: an ``opensearchpy.OpenSearch`` client.
        config: what to ingest.
        encoder: an :class:`~xqg_os.encode.Encoder`.
        query_source: given a batch of passages, their queries as ``{id: {lang: [q, ...]}}``
            (a query store lookup, or a generator writing through a store).
        generator_desc: the generator's description for ``_meta``.
        progress: a tqdm-like bar: ``reset(total=...)`` once the corpus is scanned, then
            ``update(k)`` after each batch of ``k`` passages.
        save_vectors: also write ids, texts and both vectors to this folder, for the exact
            backend of the evaluator (see :mod:`xqg_os.search.exact`).
    """
    summary = IngestSummary()
    started = time.perf_counter()
    with _Timer(summary.stages, "scan"):
        scanned = scan_corpus(config.corpus, config.corpus_format, config.skip_bad_lines)
    summary.bad_lines = len(scanned.bad_lines)
    if progress is not None:
        progress.reset(total=config.shard.size(scanned.passages))
    dimension = int(encoder.dimension)
    meta = build_meta(config, encoder.describe(), dimension, generator_desc)
    spec = IndexSpec(name=config.index, dimension=dimension, engine=config.engine,
                     space_type=config.space_type, m=config.m,
                     ef_construction=config.ef_construction)
    if client.indices.exists(index=config.index) and not config.recreate:
        _adopt_or_check(client, config.index, meta, dimension)
    else:
        create_index(client, spec, meta, recreate=config.recreate)

    export = VectorExport(save_vectors, meta) if save_vectors else None
    with BulkWriter(client, config.index, config.bulk) as writer:
        for batch in _batches(config, summary):
            done = _existing_ids(client, config.index, [p.id for p in batch])
            todo = [p for p in batch if p.id not in done]
            summary.already_indexed += len(batch) - len(todo)
            if todo:
                with _Timer(summary.stages, "queries"):
                    queries = query_source(todo)
                docs = _documents(todo, queries, encoder, config, summary)
                if len(docs[0]["xqg_vector"]) != dimension:
                    raise InputError(f"encoder produced {len(docs[0]['xqg_vector'])}-d vectors "
                                     f"but index {config.index!r} holds {dimension}-d ones")
                if export is not None:  # before the index: a resume re-exports, never skips
                    export.add(docs)
                with _Timer(summary.stages, "write"):  # waiting for a free writer slot
                    writer.submit(docs)
            if progress is not None:
                progress.update(len(batch))
        with _Timer(summary.stages, "write"):
            writer.flush()
        summary.written = writer.result.written
        summary.failed = list(writer.result.failed)
    summary.seconds = time.perf_counter() - started
    return summary
