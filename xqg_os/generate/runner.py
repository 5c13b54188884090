"""The generation stage: corpus -> generator -> query store, resumable and shardable.

:func:`run_generation` validates the corpus first (nothing is written for a corpus that cannot
be processed), skips empty passages and (id, language) pairs the store already holds, gathers
pending requests in pools that the generator sorts by length, and appends each finished batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from xqg_os.data.corpus import CorpusStats, read_corpus, scan_corpus
from xqg_os.errors import InputError
from xqg_os.generate.base import QueryGenerator, QueryRequest
from xqg_os.generate.factory import GeneratorSpec, make_generator
from xqg_os.generate.store import QueryStore, StoreWriter
from xqg_os.languages import parse_languages
from xqg_os.shard import Shard


@dataclass(frozen=True)
class GenerateJob:
    """What to generate: corpus, languages, n per language, output folder, shard.

    ``pool_size`` passages are gathered before generating, so that their inputs (passages x
    languages) can be sorted by length and batched with little padding.
    """

    corpus: Path
    languages: tuple[str, ...]
    n: int
    out: Path
    corpus_format: str = "auto"
    skip_bad_lines: bool = False
    shard: Shard = field(default_factory=Shard)
    pool_size: int = 64

    def __post_init__(self) -> None:
        if self.n < 1:
            raise InputError(f"n must be >= 1 (got {self.n})", param="n")
        if self.pool_size < 1:
            raise InputError(f"pool_size must be >= 1 (got {self.pool_size})", param="pool_size")


@dataclass
class GenerationSummary:
    """What a run did; :meth:`lines` renders it for people, :meth:`to_json` for machines."""

    store: Path
    fingerprint: str
    passages: int = 0          # passages in this shard (empty ones included)
    generated: int = 0         # passages that received new queries in this run
    skipped_empty: int = 0
    resumed: int = 0           # passages whose languages were all in the store already
    incomplete: int = 0        # passages left with languages missing (precomputed, unparsed)
    missing_languages: dict[str, int] = field(default_factory=dict)  # lang -> such passages
    rerun_retries: bool = True  # whether a rerun asks the generator again for what is missing
    records: int = 0           # new (id, language) lines
    queries: int = 0
    bad_lines: list[int] = field(default_factory=list)
    repaired_bytes: int = 0    # torn tail cut from the store file
    seconds: float = 0.0
    generator_counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {**{key: value for key, value in self.__dict__.items() if key != "store"},
                "store": str(self.store)}

    def _missing_line(self) -> str:
        """Which languages lack queries, for how many passages, and whether a rerun helps."""
        attempted = self.passages - self.skipped_empty - self.resumed
        per_lang = ", ".join(f"{lang}: {count} of {attempted}"
                             for lang, count in sorted(self.missing_languages.items()))
        why = ("a rerun retries them" if self.rerun_retries else
               "the generator's source has no queries for them, so a rerun cannot add them: "
               "use a source or model that has them, or only the languages it has")
        return (f"{self.incomplete} of {attempted} passages got no queries in some languages "
                f"(passages without, per language: {per_lang}); {why}")

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        rate = self.queries / self.seconds if self.seconds > 0 else 0.0
        counts = self.generator_counts
        out = [(f"generated queries for {self.generated} passages: {self.records} (passage, "
                f"language) pairs, {self.queries} queries in {self.seconds:.1f} s "
                f"({rate:.1f} queries/s)"),
               (f"skipped {self.skipped_empty} empty passages; {self.resumed} passages already "
                f"done (resumed); {counts.get('truncated', 0)} passages truncated to the "
                "model's input length")]
        if self.bad_lines:
            shown = ", ".join(map(str, self.bad_lines[:10]))
            out.append(f"skipped {len(self.bad_lines)} malformed lines ({shown}"
                       + (", ..." if len(self.bad_lines) > 10 else "") + ")")
        extra = {k: v for k, v in counts.items() if k != "truncated" and v}
        if self.incomplete:
            out.append(self._missing_line())
        if extra:
            out.append("generator counts: " + ", ".join(f"{k}: {v}"
                                                        for k, v in sorted(extra.items())))
        if self.repaired_bytes:
            out.append(f"cut a torn last line ({self.repaired_bytes} bytes) left by a killed run")
        out.append(f"query store: {self.store}")
        return out


class _Progress:
    """Tracks passages whose pending pairs are all written, for the bar and the summary."""

    def __init__(self, bar: tqdm, summary: GenerationSummary) -> None:
        self.bar, self.summary = bar, summary
        self.remaining: dict[str, set[str]] = {}  # pending languages per passage of the pool
        self.touched: set[str] = set()  # passages of the pool that got queries
        self.started = time.monotonic()

    def written(self, pid: str, lang: str, queries: int) -> None:
        self.summary.records += 1
        self.summary.queries += queries
        if pid not in self.touched:
            self.touched.add(pid)
            self.summary.generated += 1
        self.remaining[pid].discard(lang)
        if not self.remaining[pid]:
            del self.remaining[pid]
            self.bar.update(1)

    def pool_done(self) -> None:
        """Passages the generator had nothing for (left out of its output)."""
        if self.remaining:
            self.summary.incomplete += len(self.remaining)
            missing = self.summary.missing_languages
            for languages in self.remaining.values():
                for lang in languages:
                    missing[lang] = missing.get(lang, 0) + 1
            self.bar.update(len(self.remaining))
            self.remaining.clear()
        self.touched.clear()
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.bar.set_postfix_str(f"{self.summary.queries / elapsed:.1f} queries/s")


def _flush(generator: QueryGenerator, pool: list[QueryRequest], n: int, writer: StoreWriter,
           progress: _Progress) -> None:
    for batch in generator.stream(pool, n):
        writer.append(batch)
        for record in batch:
            progress.written(record.id, record.lang, len(record.queries))
        elapsed = max(time.monotonic() - progress.started, 1e-9)
        progress.bar.set_postfix_str(f"{progress.summary.queries / elapsed:.1f} queries/s",
                                     refresh=False)
    progress.pool_done()
    pool.clear()


def run_generation(generator: QueryGenerator, job: GenerateJob, progress: bool = True,
                   stats: CorpusStats | None = None) -> GenerationSummary:
    """Generate ``job.n`` queries per passage and language into the query store.

    Args:
        generator: any :class:`QueryGenerator`.
        job: corpus, languages, n, output folder, shard.
        progress: show a tqdm bar (stderr).
        stats: the result of :func:`scan_corpus` when the caller validated the corpus already
            (the CLI does, before loading a model); scanned here otherwise.

    Returns:
        The run summary (the store path included).

    Raises:
        InputError: for a bad corpus (missing file, malformed line without ``skip_bad_lines``,
            duplicate ids) before anything is written.
    """
    languages = parse_languages(list(job.languages))
    if stats is None:
        stats = scan_corpus(job.corpus, job.corpus_format, job.skip_bad_lines)
    store = QueryStore.create(job.out, generator.describe(), job.n)
    summary = GenerationSummary(store=store.path, fingerprint=store.fingerprint,
                                passages=job.shard.size(stats.passages),
                                bad_lines=list(stats.bad_lines),
                                rerun_retries=getattr(generator, "retries_missing", True))
    started = time.monotonic()
    with store.writer(job.shard) as writer, tqdm(total=summary.passages, unit="passage",
                                                 disable=not progress, dynamic_ncols=True,
                                                 desc="generate" if job.shard.is_whole
                                                 else f"generate shard {job.shard}") as bar:
        summary.repaired_bytes = writer.repaired_bytes
        tracker = _Progress(bar, summary)
        pool: list[QueryRequest] = []
        corpus = read_corpus(job.corpus, job.corpus_format, skip_bad_lines=job.skip_bad_lines)
        for passage in job.shard.select(corpus):
            if passage.is_empty:
                summary.skipped_empty += 1  # never sent to the model
                bar.update(1)
                continue
            pending = writer.pending(passage.id, languages)
            if not pending:
                summary.resumed += 1
                bar.update(1)
                continue
            tracker.remaining[passage.id] = set(pending)
            pool.extend(QueryRequest(passage, lang) for lang in pending)
            if len(tracker.remaining) >= job.pool_size:
                _flush(generator, pool, job.n, writer, tracker)
        if pool:
            _flush(generator, pool, job.n, writer, tracker)
    summary.seconds = time.monotonic() - started
    summary.generator_counts = generator.counts()
    return summary


def generate_queries(spec: GeneratorSpec, job: GenerateJob, progress: bool = True
                     ) -> GenerationSummary:
    """The ``generate`` stage from configuration: check that the decoding can give ``job.n``
    queries, validate the corpus before a model is loaded, build the generator ``spec``
    describes and run it (see :func:`run_generation`)."""
    spec.decoding.check_n(job.n)
    stats = scan_corpus(job.corpus, job.corpus_format, job.skip_bad_lines)
    return run_generation(make_generator(spec), job, progress=progress, stats=stats)
