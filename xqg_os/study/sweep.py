"""Sweeps without recomputation: encode once through the stores, then every grid point only
re-mixes vectors and searches exactly.

:func:`prepare` is the only step that calls the encoder (and, with warm stores, only reads
from disk); :func:`search_grid` and :func:`evaluate_points` never touch the model.
:func:`run_sweep` chains the three.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from xqg_os.data.corpus import Passage, read_corpus
from xqg_os.data.evalfiles import (
    Answer,
    Query,
    Run,
    qrels_to_dict,
    read_answers,
    read_qrels,
    read_queries,
)
from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.evaluate import EvalConfig, EvalReport, evaluate_runs
from xqg_os.generate.store import QueryStore
from xqg_os.opensearch.index import SPACE_TYPES
from xqg_os.search.exact import ExactSearcher
from xqg_os.study.bank import VectorBank, build_bank, encode_texts_cached
from xqg_os.study.grid import Grid, Point, depends_on_query_language, resolve_languages
from xqg_os.study.results import Row, rows_from_report

Config = tuple[int, float, str, str]  # (n, alpha, formula, language subset)


@dataclass
class EvalData:
    """What a study is evaluated on: a corpus, queries with languages, qrels and/or answers.

    Attributes:
        name: the data's name (the ``task`` column).
        passages: the corpus, searched exactly.
        queries: evaluation queries (their ``lang`` groups the results).
        qrels: ``{qid: {pid: relevance}}`` for nDCG / recall / MRR, or None.
        answers: XOR-TyDi answers for R@kt, or None.
    """

    name: str
    passages: list[Passage]
    queries: list[Query]
    qrels: dict[str, dict[str, int]] | None = None
    answers: list[Answer] | None = None

    @classmethod
    def load(cls, corpus: str | Path, queries: str | Path, qrels: str | Path | None = None,
             answers: str | Path | None = None, name: str | None = None,
             corpus_format: str = "auto") -> EvalData:
        """Read the files (any corpus format of :func:`xqg_os.data.read_corpus`).

        Raises:
            InputError: for unreadable files, or neither qrels nor answers.
        """
        if qrels is None and answers is None:
            raise InputError("a study needs qrels (nDCG, recall, MRR) or answers (R@kt)",
                             param="qrels")
        passages = [p for p in read_corpus(corpus, corpus_format) if not p.is_empty]
        if not passages:
            raise InputError(f"corpus {corpus} holds no passage with text")
        counts = Counter(p.id for p in passages)
        repeated = sorted(pid for pid, count in counts.items() if count > 1)
        if repeated:
            raise InputError(f"{corpus}: duplicate passage ids: {', '.join(repeated[:5])}")
        return cls(name=name or Path(queries).stem, passages=passages,
                   queries=read_queries(queries),
                   qrels=qrels_to_dict(read_qrels(qrels)) if qrels else None,
                   answers=read_answers(answers) if answers else None)

    @property
    def texts(self) -> dict[str, str]:
        """Passage text (no title) by id, for R@kt."""
        return {p.id: p.text for p in self.passages}

    def languages(self) -> list[str]:
        """The query languages, sorted."""
        return sorted({q.lang for q in self.queries})


@dataclass(frozen=True)
class SweepConfig:
    """How points are searched and evaluated.

    Attributes:
        depth: passages retrieved per query.
        space_type: ``innerproduct`` (the reference retriever), ``cosinesimil`` or ``l2``, as
            the OpenSearch index would use.
        eval: metrics and significance settings; the baseline is set by the study.
        dtype: embedding-store dtype.
    """

    depth: int = 100
    space_type: str = "innerproduct"
    eval: EvalConfig = field(default_factory=EvalConfig)
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise InputError(f"depth must be positive, not {self.depth}")
        if self.space_type not in SPACE_TYPES:
            raise InputError(f"unknown space type {self.space_type!r}; use one of "
                             + ", ".join(SPACE_TYPES))


@dataclass
class Prepared:
    """Everything the grid needs, without the model: the bank and the query vectors."""

    bank: VectorBank
    query_vectors: np.ndarray
    model: str


def prepare(encoder: Encoder, data: EvalData, cache_root: str | Path,
            query_store: QueryStore | None, ns: Sequence[int],
            languages: Sequence[str] | None = None, dtype: str = "float32",
            progress: bool = True) -> Prepared:
    """Encode (or read from the embedding stores) the passages, the generated queries up to
    ``max(ns)`` and the evaluation queries: the only step that calls the encoder."""
    bank = build_bank(encoder, data.passages, cache_root, query_store, languages, ns, dtype,
                      progress=progress)
    query_vectors = encode_texts_cached(encoder, cache_root, [q.id for q in data.queries],
                                        [q.text for q in data.queries], "query", dtype, progress)
    return Prepared(bank, query_vectors, str(encoder.describe().get("model", "")))


def exact_run(passage_ids: list[str], matrix: np.ndarray, query_vectors: np.ndarray,
              query_ids: Sequence[str], depth: int, space_type: str = "innerproduct") -> Run:
    """Top-``depth`` exact search of ``query_vectors`` over ``matrix`` as a run.

    Scores are :meth:`ExactSearcher.scores`'s: float64 rounded to float32, so a search of all
    queries and one of a language group see the same near-ties, as does every evaluator.
    """
    rows, scores = ExactSearcher(passage_ids, matrix, space_type).top(query_vectors, depth)
    return {qid: dict(zip([passage_ids[i] for i in ranked], values))
            for qid, ranked, values in zip(query_ids, rows.tolist(), scores.tolist(), strict=True)}


def search_grid(prepared: Prepared, queries: Sequence[Query], configs: Sequence[Config],
                depth: int = 100, space_type: str = "innerproduct", progress: bool = True
                ) -> dict[Config | None, Run]:
    """Runs for every configuration, by re-mixing the bank and searching exactly.

    Returns:
        ``{config: run}`` plus ``{None: baseline run}``; plain configurations (n=0, alpha=0)
        are not searched again, they map to the baseline run.
    """
    bank = prepared.bank
    ids = [q.id for q in queries]
    by_lang: dict[str, list[int]] = {}
    for row, query in enumerate(queries):
        by_lang.setdefault(query.lang, []).append(row)
    baseline = exact_run(bank.passage_ids, bank.passages, prepared.query_vectors, ids, depth,
                         space_type)
    runs: dict[Config | None, Run] = {None: baseline}
    for config in tqdm(configs, desc="grid points", unit="point", disable=not progress):
        n, alpha, formula, spec = config
        if n == 0 or alpha == 0.0:
            runs[config] = baseline
            continue
        if not depends_on_query_language(spec):
            matrix = bank.mix(n, alpha, formula, resolve_languages(spec, None, bank.languages))
            runs[config] = exact_run(bank.passage_ids, matrix, prepared.query_vectors, ids,
                                     depth, space_type)
            continue
        run: Run = {}
        for lang, rows in by_lang.items():
            chosen = resolve_languages(spec, lang, bank.languages)
            matrix = bank.mix(n, alpha, formula, chosen)
            run.update(exact_run(bank.passage_ids, matrix, prepared.query_vectors[rows],
                                 [ids[r] for r in rows], depth, space_type))
        runs[config] = run
    return runs


def evaluate_points(data: EvalData, runs: Mapping[str, Run],
                    assignments: Sequence[tuple[Point, str]], baseline: str,
                    config: EvalConfig) -> tuple[list[Row], EvalReport]:
    """Evaluate every system once (baseline first) and spread the numbers over the points.

    Significance: each system against ``baseline`` with ``config``'s paired test; the
    correction runs over every test of one metric (all points and languages).
    """
    if baseline not in runs:
        raise InputError(f"baseline system {baseline!r} has no run")
    ordered = {baseline: runs[baseline], **{k: v for k, v in runs.items() if k != baseline}}
    report = evaluate_runs(ordered, data.queries, qrels=data.qrels, answers=data.answers,
                           passages_text=data.texts if data.answers else None,
                           config=replace(config, baseline=baseline))
    return rows_from_report(report, assignments, baseline), report


@dataclass
class SweepResult:
    """Rows of the study table, the evaluation behind them and where the time went."""

    rows: list[Row]
    report: EvalReport
    timings: dict[str, float]
    info: dict[str, Any]


def grid_points(grid: Grid, arm: str, model: str, task: str, train_pairs: int = 0
                ) -> list[tuple[Point, Config]]:
    """The grid as study points (with their configuration)."""
    return [(Point(arm, n, alpha, formula, spec, train_pairs, model, task),
             (n, alpha, formula, spec)) for n, alpha, formula, spec in grid.points()]


def sweep_prepared(prepared: Prepared, data: EvalData, grid: Grid, config: SweepConfig,
                   progress: bool = True) -> SweepResult:
    """The grid over already prepared vectors: no model call (see :func:`prepare`)."""
    start = time.perf_counter()
    points = grid_points(grid, "xqg", prepared.model, data.name)
    runs = search_grid(prepared, data.queries, [c for _, c in points], config.depth,
                       config.space_type, progress)
    searched = time.perf_counter()
    systems: dict[str, Run] = {}
    assignments = []
    baseline = Point("xqg", 0, 0.0, "none", "none", 0, prepared.model, data.name).system()
    systems[baseline] = runs[None]
    for point, key in points:
        name = baseline if runs[key] is runs[None] else point.system()
        systems[name] = runs[key]
        assignments.append((point, name))
    rows, report = evaluate_points(data, systems, assignments, baseline, config.eval)
    done = time.perf_counter()
    return SweepResult(rows, report, {"search_s": searched - start, "evaluate_s": done - searched},
                       {"grid": grid.describe(), "systems": len(systems),
                        "generated_languages": prepared.bank.languages,
                        "passages": len(prepared.bank.passage_ids),
                        "passages_without_queries": prepared.bank.without_queries()
                        if grid.max_n > 0 else None})


def run_sweep(encoder: Encoder, data: EvalData, query_store: QueryStore | None, grid: Grid,
              cache_root: str | Path, config: SweepConfig | None = None,
              languages: Sequence[str] | None = None, progress: bool = True) -> SweepResult:
    """Prepare once (the model runs here only), then sweep the whole grid.

    Args:
        encoder: the dense encoder.
        data: corpus, queries, qrels/answers.
        query_store: generated queries holding at least ``grid.max_n`` per language (None
            allowed when the grid has only n=0).
        grid: the values to cross.
        cache_root: embedding-store folder; a second sweep with the same inputs encodes nothing.
        config: depth, space type, metrics and significance settings.
        languages: generated languages to use (default: all in the store).
    """
    config = config or SweepConfig()
    if query_store is None and grid.max_n > 0:
        raise InputError("the grid has n > 0 but no query store was given")
    start = time.perf_counter()
    prepared = prepare(encoder, data, cache_root, query_store, grid.ns, languages, config.dtype,
                       progress)
    prepared_at = time.perf_counter()
    result = sweep_prepared(prepared, data, grid, config, progress)
    result.timings["prepare_s"] = prepared_at - start
    result.info.update({"encoder": encoder.describe(),
                        "query_store": (query_store.describe() if query_store else None),
                        "depth": config.depth, "space_type": config.space_type,
                        "eval": {"metrics": list(config.eval.metrics),
                                 "kt": list(config.eval.kt), "test": config.eval.test,
                                 "correction": config.eval.correction,
                                 "significance": config.eval.significance}})
    return result
