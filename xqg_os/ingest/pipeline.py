"""The main job: corpus -> queries -> encode -> augment -> OpenSearch, streamed in batches.

Memory is bounded by the batch size, never by the corpus. Document id = passage id, and each
batch first asks the index (realtime ``mget``) which of its passages are already there, so an
ingest that was killed and is started again with the same command writes the rest, each passage
exactly once. An index whose ``_meta`` says it was built differently is refused unless
``recreate``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from xqg_os.augment import augment, select_queries
from xqg_os.data.corpus import CorpusStats, Passage, passage_input, read_corpus, scan_corpus
from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.ingest.config import IngestConfig, build_meta
from xqg_os.ingest.export import IndexExport
from xqg_os.ingest.sources import NO_QUERIES, ChosenSource
from xqg_os.ingest.target import prepare_index
from xqg_os.ingest.undo import removes_created_index
from xqg_os.ingest.vectorsource import Coverage, PassageVectors
from xqg_os.opensearch.bulk import BulkWriter

if TYPE_CHECKING:
    from opensearchpy import OpenSearch


@dataclass
class IngestSummary:
    """What an ingest did, with time per stage (seconds)."""

    passages: int = 0
    written: int = 0
    already_indexed: int = 0
    skipped_empty: int = 0
    bad_lines: int = 0
    no_queries: int = 0
    missing_languages: dict[str, int] = field(default_factory=dict)  # passages without them
    exported: int = 0  # documents read back from the index into save_vectors
    failed: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=lambda: {
        "scan": 0.0, "queries": 0.0, "encode_passages": 0.0, "encode_queries": 0.0,
        "augment": 0.0, "write": 0.0})
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (``failed`` as a count)."""
        data = asdict(self)
        data["failed"] = len(self.failed)
        return data


def _batches(config: IngestConfig, summary: IngestSummary,
             passages: Iterable[Passage] | None = None) -> Iterator[list[Passage]]:
    """The run's non-empty passages in batches: ``passages`` (another source, e.g. the index
    itself: :mod:`xqg_os.ingest.indexsource`), by default the corpus file."""
    batch: list[Passage] = []
    corpus = (read_corpus(config.corpus, config.corpus_format, config.skip_bad_lines)
              if passages is None else passages)
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


LOST = "acknowledged, but not in the index after the load (a node failed during it?)"


def missing_after_load(client: OpenSearch, config: IngestConfig, expected: int | None,
                       known: set[str] | frozenset[str] = frozenset(), *,
                       passages: Iterable[Passage] | None = None,
                       present: Callable[[list[str]], set[str]] | None = None,
                       reason: str = LOST) -> list[tuple[str, str]]:
    """The passages of this run that the index lacks once the load is over, as failures.

    A node that dies during a bulk load (replicas and per-request translog fsync are off then)
    can take documents it had acknowledged with it; a rerun of the same command writes them.
    One ``_count`` when the run covered the whole corpus and the index holds exactly ``expected``
    documents (None: no such shortcut, the caller refreshed the index); otherwise a realtime
    ``mget`` per batch of this run's ids (``known``: ids already reported as failed).

    Args:
        passages: the run's passages when not the corpus file (as for :func:`_batches`).
        present: which of some ids the index holds as written (default: a realtime ``mget``
            of ``config.index``).
        reason: the failure reason of each id the index lacks.
    """
    if present is None:
        def present(ids: list[str]) -> set[str]:
            return existing_ids(client, config.index, ids)

    if expected is not None:
        client.indices.refresh(index=config.index)
        if config.shard.is_whole and client.count(index=config.index)["count"] == expected:
            return []
    missing: list[tuple[str, str]] = []
    for batch in _batches(replace(config, batch_size=1000), IngestSummary(), passages):
        ids = [p.id for p in batch if p.id not in known]
        done = present(ids) if ids else set()
        missing += [(pid, reason) for pid in ids if pid not in done]
    return missing


def existing_ids(client: OpenSearch, index: str, ids: list[str], patience: float = 30.0
                 ) -> set[str]:
    """The ids of ``ids`` that the index holds (a realtime ``mget``: no refresh needed).

    Ids whose shard copy does not answer (a node that just left: its replicas take over within
    seconds) are asked again, with backoff, for up to ``patience`` seconds; ids still unknown
    then count as absent, which only rewrites them (writes by id are idempotent), unless no
    copy of their shard is active at all (a red index: a ClusterError, one line).
    """
    found: set[str] = set()
    pending, waited, pause = list(ids), 0.0, 0.5
    while True:
        response = client.mget(index=index, body={"ids": pending}, _source=False, realtime=True)
        found |= {doc["_id"] for doc in response["docs"] if doc.get("found")}
        errors = {doc["_id"]: doc["error"] for doc in response["docs"] if doc.get("error")}
        if not errors:
            return found
        if waited >= patience:
            break
        time.sleep(pause)
        waited, pause, pending = waited + pause, min(pause * 2, 4.0), list(errors)
    error = next(iter(errors.values()))
    if isinstance(error, dict):
        from xqg_os.opensearch.failures import unavailable

        red = unavailable(str(error.get("type", "")), str(error.get("reason", "")), index)
        if red is not None:
            raise red
    return found


class _Timer:
    def __init__(self, stages: dict[str, float], name: str) -> None:
        self.stages, self.name = stages, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.stages[self.name] += time.perf_counter() - self.start


def build_documents(batch: list[Passage], queries: dict[str, dict[str, list[str]]],
                    encoder: Encoder, config: IngestConfig, summary: IngestSummary,
                    fields: tuple[str, ...], passage_vectors: PassageVectors | None = None
                    ) -> list[dict[str, Any]]:
    """The batch's documents (encode, augment; stage times and passages without queries
    counted in ``summary``); vectors stay float32 numpy rows until the serializer writes them
    (orjson, see :mod:`xqg_os.opensearch.serializer`). Given ``passage_vectors``, passages are
    looked up by id instead of encoded."""
    stages = summary.stages
    chosen = [select_queries(queries.get(p.id, {}), list(config.languages), config.n)
              for p in batch]
    summary.no_queries += sum(1 for qs in chosen if not qs)
    if config.formula != "none" and config.n > 0:
        for p in batch:
            for lang in config.languages:
                if not queries.get(p.id, {}).get(lang):
                    summary.missing_languages[lang] = summary.missing_languages.get(lang, 0) + 1
    with _Timer(stages, "encode_passages"):
        passage_vecs = (passage_vectors.vectors([p.id for p in batch])
                        if passage_vectors is not None
                        else encoder.encode_passages([passage_input(p) for p in batch]))
    flat = [q for qs in chosen for q in qs]
    with _Timer(stages, "encode_queries"):
        query_vecs = (encoder.encode_queries(flat) if flat
                      else np.zeros((0, passage_vecs.shape[1]), dtype=np.float32))
    with _Timer(stages, "augment"):
        mixed = augment(passage_vecs, query_vecs, config.alpha, config.formula,
                        counts=[len(qs) for qs in chosen])
    vectors = {"passage_vector": np.ascontiguousarray(passage_vecs, dtype=np.float32),
               "xqg_vector": np.ascontiguousarray(mixed, dtype=np.float32)}
    return [{"passage_id": p.id, "title": p.title, "text": p.text, "lang": p.lang or "",
             "generated_queries": dict(queries.get(p.id, {})),
             **{name: vectors[name][i] for name in fields}}
            for i, p in enumerate(batch)]


def run_meta(config: IngestConfig, encoder: Encoder, queries: ChosenSource
             ) -> tuple[IngestConfig, list[str], dict[str, Any]]:
    """The run's configuration (formula ``none`` without generated queries), the notice that
    says so, and the ``_meta`` the run records."""
    notices: list[str] = []
    if not queries.has_queries:
        config, notice = config.without_queries()
        notices += [notice] if notice else []
    meta = build_meta(config, encoder.describe(), int(encoder.dimension), queries.description)
    return config, notices, meta


def begin_run(config: IngestConfig, encoder: Encoder, queries: ChosenSource,
              progress: Any | None = None, each: Callable[[Passage], None] | None = None
              ) -> tuple[IngestConfig, IngestSummary, CorpusStats, dict[str, Any]]:
    """The start every ingest shares: the run's configuration, notices and ``_meta``
    (:func:`run_meta`), its summary, the scanned corpus (its size given to ``progress``;
    ``each`` called with every passage of the scan)."""
    config, notices, meta = run_meta(config, encoder, queries)
    summary = IngestSummary(notices=notices)
    with _Timer(summary.stages, "scan"):
        scanned = (scan_corpus(config.corpus, config.corpus_format, config.skip_bad_lines,
                               each=each)
                   if config.corpus else CorpusStats())  # no file: passages from elsewhere
    summary.bad_lines = len(scanned.bad_lines)
    if progress is not None:
        progress.reset(total=config.shard.size(scanned.passages))
    return config, summary, scanned, meta


@removes_created_index
def ingest(client: OpenSearch, config: IngestConfig, encoder: Encoder,
           queries: ChosenSource = NO_QUERIES, progress: Any | None = None,
           save_vectors: str | None = None, passage_vectors: PassageVectors | None = None
           ) -> IngestSummary:
    """Run the ingest; see the module docstring.

    Args:
        client: an ``opensearchpy.OpenSearch`` client.
        config: what to ingest.
        encoder: an :class:`~xqg_os.encode.Encoder`.
        queries: where each batch's generated queries come from, and the generator's
            description for ``_meta`` (see :func:`~xqg_os.ingest.sources.open_query_source`).
            Without queries the formula is ``none``; the summary's ``notices`` say so when
            ``config`` asked for another.
        progress: a tqdm-like bar: ``reset(total=...)`` once the corpus is scanned, then
            ``update(k)`` after each batch of ``k`` passages.
        save_vectors: also write ids, texts and both vectors to this vector folder
            (:mod:`xqg_os.data.vectors`), which exact search reads without a cluster; it
            holds the whole index (documents indexed before this run are read back from it,
            see :class:`~xqg_os.ingest.export.IndexExport`).
        passage_vectors: passage vectors computed elsewhere, used instead of encoding the
            passages (:mod:`xqg_os.ingest.vectorsource`); ``encoder`` then describes them
            (:func:`~xqg_os.ingest.declared.encoder_for_vectors`). Passages without a vector
            are refused before the index is touched.

    A run that fails before writing any document removes the index it created (see
    :mod:`xqg_os.ingest.undo`), so that the corrected rerun is not refused.
    """
    started = time.perf_counter()
    coverage = Coverage(passage_vectors, config.shard) if passage_vectors is not None else None
    config, summary, scanned, meta = begin_run(config, encoder, queries, progress,
                                               coverage.add if coverage is not None else None)
    dimension = int(encoder.dimension)
    if coverage is not None:  # matched to the corpus during the scan
        notice = coverage.check()
        summary.notices += [notice] if notice else []
    spec = prepare_index(client, config, meta, dimension)

    export = IndexExport(client, save_vectors, meta, spec) if save_vectors else None
    with BulkWriter(client, config.index, config.bulk) as writer:
        for batch in _batches(config, summary):
            done = existing_ids(client, config.index, [p.id for p in batch])
            todo = [p for p in batch if p.id not in done]
            summary.already_indexed += len(batch) - len(todo)
            if export is not None and done:  # indexed earlier, maybe not in this folder
                summary.exported += export.add_indexed(done)
            if todo:
                with _Timer(summary.stages, "queries"):
                    found = queries.source(todo)
                docs = build_documents(todo, found, encoder, config, summary, spec.fields,
                                       passage_vectors)
                if len(docs[0]["xqg_vector"]) != dimension:
                    raise InputError(f"encoder produced {len(docs[0]['xqg_vector'])}-d vectors "
                                     f"but index {config.index!r} holds {dimension}-d ones")
                if export is not None:  # before the index: a resume re-exports, never skips
                    export.add_built(docs)
                with _Timer(summary.stages, "write"):  # waiting for a free writer slot
                    writer.submit(docs)
            if progress is not None:
                progress.update(len(batch))
        with _Timer(summary.stages, "write"):
            writer.flush()
        summary.written = writer.result.written
        summary.failed = list(writer.result.failed)
    summary.failed += missing_after_load(client, config, scanned.passages - scanned.empty,
                                         {pid for pid, _ in summary.failed})
    if export is not None and config.shard.is_whole:  # documents of other corpora or runs
        summary.exported += export.catch_up()
    summary.seconds = time.perf_counter() - started
    return summary
