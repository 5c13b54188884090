"""Evaluate several systems' runs side by side: standard metrics (ir-measures) from qrels, R@kt
from answers, per language and macro-averaged, with paired significance tests against a
baseline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import fmean
from typing import TypeVar

from tqdm import tqdm

from xqg_os.data.evalfiles import (
    Answer,
    Qrel,
    Query,
    check_query_ids,
    qrels_to_dict,
    write_run,
)
from xqg_os.errors import InputError
from xqg_os.evaluate.coverage import coverage_warnings, qrels_coverage
from xqg_os.evaluate.metrics import parse_metrics, per_query_metrics
from xqg_os.evaluate.report import ALL, MACRO, Comparison, EvalReport
from xqg_os.evaluate.significance import CORRECTIONS, TESTS, adjust_pvalues, paired_pvalue
from xqg_os.evaluate.tokenizer import WordTokenizer, resolve_word_tokenizer
from xqg_os.evaluate.xor_recall import (
    PassageTokens,
    TextSource,
    kt_metric_name,
    kt_values_by_system,
)

logger = logging.getLogger(__name__)

V = TypeVar("V")
RunsInput = Mapping[str, Mapping[str, Mapping[str, float]]]
KT_MISSING = ("skip", "zero")


@dataclass(frozen=True)
class EvalConfig:
    """What to compute and how to test it.

    Attributes:
        metrics: ir-measures names (``nDCG@10``, ``R@100``, ``MRR@10`` ...), computed from qrels.
        kt: token budgets for R@kt, computed from answers (``R@2kt``, ``R@5kt``).
        baseline: the system the others are tested against (default: the first run given).
        test: ``t`` (paired t-test) or ``permutation``.
        correction: ``holm``, ``bonferroni`` or ``none``, over all tests of one metric.
        significance: significance level for adjusted p-values.
        permutations: random sign patterns for the permutation test.
        seed: seed of the permutation test.
        allow_unknown_ids: drop (with a warning) qrels/answers naming queries not given,
            instead of failing.
        kt_missing: R@kt of a question a run has no entry for: ``skip`` leaves it out of that
            run's score, as XOR-TyDi's ``eval_xor_retrieve.py`` does (it reads the prediction
            file); ``zero`` counts it as a miss. Either way the report counts them.
    """

    metrics: tuple[str, ...] = ("nDCG@10", "R@100", "MRR@10")
    kt: tuple[int, ...] = (2000, 5000)
    baseline: str | None = None
    test: str = "t"
    correction: str = "holm"
    significance: float = 0.05
    permutations: int = 10_000
    seed: int = 0
    allow_unknown_ids: bool = False
    kt_missing: str = "skip"

    def __post_init__(self) -> None:
        if self.test not in TESTS:
            raise InputError(f"unknown significance test {self.test!r}; use one of "
                             + ", ".join(TESTS))
        if self.correction not in CORRECTIONS:
            raise InputError(f"unknown correction {self.correction!r}; use one of "
                             + ", ".join(CORRECTIONS))
        if not 0.0 < self.significance < 1.0:
            raise InputError(f"significance must be between 0 and 1, got {self.significance}",
                             param="significance")
        if self.permutations < 1:
            raise InputError("permutations must be at least 1", param="permutations")
        if self.kt_missing not in KT_MISSING:
            raise InputError(f"unknown kt_missing {self.kt_missing!r}; use one of "
                             + ", ".join(KT_MISSING), param="kt_missing")
        if any(k < 1 for k in self.kt):
            raise InputError(f"kt token budgets must be positive, got {list(self.kt)}", param="kt")


def _queries_by_id(queries: Iterable[Query] | Mapping[str, Query]) -> dict[str, Query]:
    items = queries.values() if isinstance(queries, Mapping) else queries
    result: dict[str, Query] = {}
    for query in items:
        if query.id in result:
            raise InputError(f"duplicate query id {query.id!r}")
        if not query.lang:
            raise InputError(f"query {query.id!r} has no language")
        result[query.id] = query
    if not result:
        raise InputError("no queries to evaluate")
    return result


def _answers_by_id(answers: Iterable[Answer] | Mapping[str, Sequence[str]]
                   ) -> dict[str, Sequence[str]]:
    if isinstance(answers, Mapping):
        return {str(qid): list(values) for qid, values in answers.items()}
    return {answer.id: answer.answers for answer in answers}


def _known_only(table: dict[str, V], known: Mapping[str, Query], what: str,
                allow: bool) -> None:
    unknown = check_query_ids(table, known, what, allow_unknown=allow)
    if unknown:
        logger.warning("%s: ignoring %d unknown query id(s)", what, len(unknown))
        for qid in unknown:
            del table[qid]


def _scope_scores(values: Mapping[str, float], queries: Mapping[str, Query],
                  languages: Sequence[str]) -> dict[str, float | None]:
    """Per-language means, their unweighted mean (``macro``) and the pooled mean (``all``)."""
    scores: dict[str, float | None] = {}
    for lang in languages:
        in_lang = [value for qid, value in values.items() if queries[qid].lang == lang]
        scores[lang] = fmean(in_lang) if in_lang else None
    present = [value for value in scores.values() if value is not None]
    scores[MACRO] = fmean(present) if present else None
    scores[ALL] = fmean(values.values()) if values else None
    return scores


def _significance(per_query: Mapping[str, Mapping[str, Mapping[str, float]]],
                  systems: Sequence[str], baseline: str, metrics: Sequence[str],
                  queries: Mapping[str, Query], languages: Sequence[str],
                  config: EvalConfig) -> list[Comparison]:
    comparisons: list[Comparison] = []
    for metric in metrics:
        base = per_query[baseline][metric]
        tests: list[tuple[str, str, list[str]]] = []
        for system in systems:
            if system == baseline:
                continue
            values = per_query[system][metric]
            for scope in (*languages, ALL):
                qids = [qid for qid in base if qid in values
                        and (scope == ALL or queries[qid].lang == scope)]
                if qids:
                    tests.append((system, scope, qids))
        raw = [paired_pvalue([per_query[system][metric][q] for q in qids],
                             [base[q] for q in qids], config.test, config.permutations,
                             config.seed) for system, _, qids in tests]
        for (system, scope, qids), p, adjusted in zip(
                tests, raw, adjust_pvalues(raw, config.correction), strict=True):
            delta = fmean(per_query[system][metric][q] - base[q] for q in qids)
            comparisons.append(Comparison(system, baseline, metric, scope, len(qids), delta, p,
                                          adjusted, adjusted < config.significance))
    return comparisons


def evaluate_runs(runs: RunsInput, queries: Iterable[Query] | Mapping[str, Query],
                  qrels: Iterable[Qrel] | Mapping[str, Mapping[str, int]] | None = None,
                  answers: Iterable[Answer] | Mapping[str, Sequence[str]] | None = None,
                  passages_text: TextSource | None = None, config: EvalConfig | None = None,
                  tokenizer: WordTokenizer | None = None, progress: bool = False
                  ) -> EvalReport:
    """Evaluate every system's run on the same queries, side by side.

    Args:
        runs: ``{system: {qid: {docid: score}}}``, in column order; the first is the default
            baseline. Documents are ranked as trec_eval ranks them (scores as 32-bit floats,
            ties by doc id descending).
        queries: the queries (their ``lang`` groups the results).
        qrels: judgements for the standard metrics (skipped without them); queries without any
            judgement are not evaluated on those metrics.
        answers: answers for R@kt (skipped without them).
        passages_text: passage text (no title) by doc id, a mapping or a function; needed with
            ``answers``.
        config: metrics, R@kt budgets and significance settings (default :class:`EvalConfig`).
        tokenizer: the R@kt tokenizer (default :func:`resolve_word_tokenizer`).
        progress: show progress bars (stderr) for the metrics and R@kt of each system.

    Returns:
        An :class:`EvalReport`; its ``warnings`` name systems whose numbers can only be zero
        (no relevant judged document retrieved, no answer found anywhere).

    Raises:
        InputError: for no runs, nothing to evaluate, an unknown baseline or metric, ids that
            name unknown queries (unless allowed), a run sharing no query with the queries, or
            a retrieved passage without text.
    """
    config = config or EvalConfig()
    if not runs:
        raise InputError("no runs to evaluate")
    systems = list(runs)
    baseline = config.baseline or systems[0]
    if baseline not in runs:
        raise InputError(f"baseline {baseline!r} is not one of the systems: {', '.join(systems)}")
    by_id = _queries_by_id(queries)
    if qrels is None and answers is None:
        raise InputError("nothing to evaluate: give qrels (for metrics) or answers (for R@kt)")
    for system, run in runs.items():
        if run and not any(qid in by_id for qid in run):
            raise InputError(f"run {system!r} shares no query id with the queries "
                             f"(e.g. run has {next(iter(run))!r})")
    languages = sorted({query.lang for query in by_id.values()})
    per_query: dict[str, dict[str, dict[str, float]]] = {system: {} for system in systems}
    metric_names: list[str] = []
    kt_names: list[str] = []
    evaluated: dict[str, list[str]] = {}
    judged: dict[str, Mapping[str, int]] = {}
    qids: list[str] = []
    if qrels is not None and config.metrics:
        judged = dict(qrels) if isinstance(qrels, Mapping) else dict(qrels_to_dict(qrels))
        _known_only(judged, by_id, "qrels", config.allow_unknown_ids)
        measures = parse_metrics(config.metrics)
        qids = [qid for qid in by_id if qid in judged]
        for system, run in tqdm(runs.items(), desc="metrics", unit="system",
                                disable=not progress, dynamic_ncols=True):
            per_query[system].update(per_query_metrics(run, judged, measures, qids))
        metric_names = list(measures)
        evaluated.update({name: qids for name in metric_names})
    tokenizer_info: dict[str, object] | None = None
    kt_missing: dict[str, int] = {}
    if answers is not None and config.kt:
        if passages_text is None:
            raise InputError("R@kt needs the passage texts (pass the corpus) with the answers")
        gold = _answers_by_id(answers)
        _known_only(gold, by_id, "answers", config.allow_unknown_ids)
        tokenizer = tokenizer or resolve_word_tokenizer()
        tokenizer_info = tokenizer.describe()
        logger.info("R@kt tokenizer: %s (%s)", tokenizer.route, tokenizer.detail)
        passages = PassageTokens(passages_text, tokenizer.tokenize)
        ks = sorted(set(config.kt))
        kt_names = [kt_metric_name(k) for k in ks]
        with tqdm(total=len(systems) * len(gold), desc="R@kt", unit="question",
                  disable=not progress, dynamic_ncols=True) as bar:
            by_system, kt_missing, counted = kt_values_by_system(
                runs, gold, ks, passages, config.kt_missing == "zero", bar)
        for system, values in by_system.items():
            per_query[system].update({kt_metric_name(k): v for k, v in values.items()})
        evaluated.update({name: counted for name in kt_names})
    metrics = metric_names + kt_names
    scores = {system: {metric: _scope_scores(per_query[system][metric], by_id, languages)
                       for metric in metrics} for system in systems}
    counts = {metric: {**{lang: sum(1 for q in evaluated[metric] if by_id[q].lang == lang)
                          for lang in languages}, ALL: len(evaluated[metric])}
              for metric in metrics}
    comparisons = (_significance(per_query, systems, baseline, metrics, by_id, languages, config)
                   if len(systems) > 1 else [])
    missing = {system: sum(1 for qid in qids if not runs[system].get(qid)) for system in systems}
    coverage = ({system: qrels_coverage(run, judged, qids) for system, run in runs.items()}
                if metric_names else {})
    kt_values = {system: {name: per_query[system][name] for name in kt_names}
                 for system in systems if kt_names}
    warnings = coverage_warnings(runs, judged, qids, coverage, kt_values,
                                 max(config.kt) if kt_names else None)
    settings: dict[str, object] = {**asdict(config), "baseline": baseline}
    return EvalReport(systems=systems, baseline=baseline if len(systems) > 1 else None,
                      metrics=metrics, languages=languages, scores=scores, counts=counts,
                      per_query=per_query, comparisons=comparisons, missing=missing,
                      settings=settings, tokenizer=tokenizer_info,
                      kt_metrics=kt_names, kt_missing=kt_missing,
                      coverage={system: asdict(item) for system, item in coverage.items()},
                      warnings=warnings)


def write_runs(runs: RunsInput, folder: str | Path, depth: int | None = None) -> dict[str, Path]:
    """Write each system's run as ``<folder>/<system>.trec`` (tag: the system name made safe).

    Returns:
        ``{system: path}``.
    """
    paths: dict[str, Path] = {}
    for system, run in runs.items():
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", system).strip("._") or "run"
        if safe in {p.stem for p in paths.values()}:
            raise InputError(f"systems {system!r} and another map to the same file name {safe!r}")
        path = Path(folder) / f"{safe}.trec"
        write_run(run, path, tag=safe, depth=depth)
        paths[system] = path
    return paths
