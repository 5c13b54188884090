"""The result of an evaluation: every number, per system, metric and language, with the
significance tests against the baseline; rendered as JSON and Markdown.

Scopes: each language code, ``macro`` (unweighted mean over languages, XOR-TyDi's overall
score) and ``all`` (mean over all queries pooled). Significance is tested per language and on
all queries pooled (shown on the macro row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MACRO = "macro"
ALL = "all"
MARK = "\u2020"  # dagger: significantly different from the baseline


@dataclass(frozen=True)
class Comparison:
    """One paired test of ``system`` against ``baseline`` on one metric and scope."""

    system: str
    baseline: str
    metric: str
    scope: str
    queries: int
    delta: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass
class EvalReport:
    """All numbers of one evaluation.

    Attributes:
        systems: system names, in the order given.
        baseline: the system others are tested against (None with a single system).
        metrics: metric names in report order (standard ones, then R@kt ones).
        languages: language codes, sorted.
        scores: ``{system: {metric: {scope: value or None}}}``; None where a scope has no
            evaluable query.
        counts: ``{metric: {scope: number of queries evaluated}}`` (``macro`` omitted).
        per_query: ``{system: {metric: {qid: value}}}``.
        comparisons: every significance test, with adjusted p-values.
        missing: ``{system: number of queries evaluated on qrels metrics that the run has no
            results for}`` (they score 0, as with ``trec_eval -c``).
        settings: test, correction, significance, permutations, seed, kt.
        tokenizer: which tokenizer produced R@kt (route, exact, detail), or None without R@kt.
        kt_metrics: the names among ``metrics`` that are R@kt (percentages, not fractions).
        kt_missing: ``{system: questions with span answers that the run has no entry for}``;
            ``settings["kt_missing"]`` says whether they were left out (``skip``, XOR-TyDi's
            script) or counted as misses (``zero``).
        coverage: ``{system: {relevant, retrieved, queries, queries_without}}``: relevant
            judged documents and how many the run retrieved; queries with a relevant judgement
            and how many of them retrieved none.
        warnings: one line per system whose numbers can only be zero, with the counts.
    """

    systems: list[str]
    baseline: str | None
    metrics: list[str]
    languages: list[str]
    scores: dict[str, dict[str, dict[str, float | None]]]
    counts: dict[str, dict[str, int]]
    per_query: dict[str, dict[str, dict[str, float]]]
    comparisons: list[Comparison] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    tokenizer: dict[str, object] | None = None
    kt_metrics: list[str] = field(default_factory=list)
    kt_missing: dict[str, int] = field(default_factory=dict)
    coverage: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def score(self, system: str, metric: str, scope: str = MACRO) -> float | None:
        """One number: ``scope`` is a language code, ``macro`` or ``all``."""
        return self.scores[system][metric].get(scope)

    def comparison(self, system: str, metric: str, scope: str) -> Comparison | None:
        """The test of ``system`` against the baseline on ``metric`` and ``scope`` (``all`` for
        pooled queries), or None."""
        for item in self.comparisons:
            if (item.system, item.metric, item.scope) == (system, metric, scope):
                return item
        return None

    def to_dict(self, per_query: bool = True) -> dict[str, object]:
        """Everything as JSON-ready data; ``per_query=False`` leaves per-query values out."""
        data: dict[str, object] = {
            "systems": self.systems, "baseline": self.baseline, "metrics": self.metrics,
            "languages": self.languages, "kt_metrics": self.kt_metrics,
            "settings": self.settings, "tokenizer": self.tokenizer,
            "counts": self.counts, "missing": self.missing, "kt_missing": self.kt_missing,
            "coverage": self.coverage, "warnings": self.warnings, "scores": self.scores,
            "significance": [vars(item) for item in self.comparisons],
        }
        if per_query:
            data["per_query"] = self.per_query
        return data

    def to_json(self, per_query: bool = True, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(per_query), indent=indent, ensure_ascii=False)

    def _cell(self, system: str, metric: str, scope: str) -> str:
        value = self.score(system, metric, scope)
        if value is None:
            return "\u2013"
        # R@kt is a percentage (XOR-TyDi's convention); ir-measures metrics are in [0, 1].
        text = f"{value:.1f}" if metric in self.kt_metrics else f"{value:.3f}"
        test_scope = ALL if scope == MACRO else scope
        item = self.comparison(system, metric, test_scope)
        return text + (MARK if item is not None and item.significant else "")

    def to_markdown(self) -> str:
        """One table per metric: languages (with query counts) as rows plus the macro average,
        systems as columns; a dagger marks significant differences from the baseline."""
        lines: list[str] = []
        for metric in self.metrics:
            lines.append(f"### {metric}")
            lines.append("")
            lines.append("| language | n | " + " | ".join(self.systems) + " |")
            lines.append("| --- | ---: | " + " | ".join("---:" for _ in self.systems) + " |")
            counts = self.counts.get(metric, {})
            for lang in self.languages:
                if counts.get(lang, 0) == 0:
                    continue
                cells = [self._cell(system, metric, lang) for system in self.systems]
                lines.append(f"| {lang} | {counts[lang]} | " + " | ".join(cells) + " |")
            cells = [self._cell(system, metric, MACRO) for system in self.systems]
            lines.append(f"| **macro avg** | {counts.get(ALL, 0)} | " + " | ".join(cells) + " |")
            lines.append("")
        for note in self._notes():
            lines.extend([note, ""])
        return "\n".join(lines).rstrip() + "\n"

    def _notes(self) -> list[str]:
        notes: list[str] = []
        if self.baseline is not None and len(self.systems) > 1:
            test = {"t": "paired t-test", "permutation":
                    f"paired permutation test ({self.settings.get('permutations')} permutations,"
                    f" seed {self.settings.get('seed')})"}.get(str(self.settings.get("test")),
                                                              str(self.settings.get("test")))
            correction = self.settings.get("correction")
            notes.append(f"{MARK} significantly different from **{self.baseline}** ({test}, "
                         f"{correction} correction per metric, significance level "
                         f"{self.settings.get('significance')}); the macro row is tested on all "
                         "queries pooled.")
        if self.kt_metrics:
            notes.append("R@kt: percentage of questions with an answer in the top k retrieved "
                         "tokens (XOR-TyDi); yes/no questions are not counted.")
        if self.tokenizer is not None:
            exact = "" if self.tokenizer.get("exact") else " (approximate: not the official one)"
            notes.append(f"R@kt tokenizer: {self.tokenizer.get('route')}{exact}.")
        for system, count in self.missing.items():
            if count:
                notes.append(f"{system}: no results for {count} evaluated quer"
                             f"{'y' if count == 1 else 'ies'} (scored 0).")
        zero = self.settings.get("kt_missing") == "zero"
        for system, count in self.kt_missing.items():
            if count:
                notes.append(f"{system}: {count} R@kt question{'' if count == 1 else 's'} "
                             "missing from the run, "
                             + ("counted as misses (the stricter setting)." if zero else
                                "not counted (XOR-TyDi's definition; the stricter setting "
                                "counts them as misses)."))
        notes.extend(f"**Warning:** {warning}" for warning in self.warnings)
        return notes

    def write(self, folder: str | Path, stem: str = "evaluation") -> dict[str, Path]:
        """Write ``<stem>.json`` and ``<stem>.md`` into ``folder``; returns their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / f"{stem}.json", "markdown": folder / f"{stem}.md"}
        paths["json"].write_text(self.to_json() + "\n", encoding="utf-8")
        paths["markdown"].write_text(self.to_markdown(), encoding="utf-8")
        return paths
