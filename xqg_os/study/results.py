"""The study's tidy table: one row per (point, query language or average, metric), as CSV.

Columns (:data:`COLUMNS`): task, arm, model, n, alpha, formula, languages, train_pairs, lang,
metric, value, queries, delta_vs_n0, p_value_vs_n0, p_adjusted, significant. ``lang`` is a
query language, ``macro`` (unweighted mean over languages) or ``all`` (pooled queries); the
macro row carries the test on all queries pooled, as the evaluator's tables do. The baseline
(``n0``) is the base encoder without augmentation.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from xqg_os.errors import InputError
from xqg_os.evaluate import ALL, MACRO, EvalReport
from xqg_os.study.grid import Point

COLUMNS = ("task", "arm", "model", "n", "alpha", "formula", "languages", "train_pairs", "lang",
           "metric", "value", "queries", "delta_vs_n0", "p_value_vs_n0", "p_adjusted",
           "significant")
KEY = ("task", "arm", "model", "n", "alpha", "formula", "languages", "train_pairs", "lang",
       "metric")
_INTS = ("n", "train_pairs", "queries")
_FLOATS = ("alpha", "value", "delta_vs_n0", "p_value_vs_n0", "p_adjusted")

Row = dict[str, Any]


def rows_from_report(report: EvalReport, assignments: Sequence[tuple[Point, str]],
                     baseline: str) -> list[Row]:
    """Rows for every point, reading the numbers of the system each point was evaluated as.

    Args:
        report: an evaluation of all systems, tested against ``baseline``.
        assignments: ``(point, system name in the report)``; plain points may share a system.
        baseline: the baseline system's name.
    """
    rows: list[Row] = []
    scopes = [*report.languages, MACRO, ALL]
    tests = {(c.system, c.metric, c.scope): c for c in report.comparisons}
    for point, system in assignments:
        for metric in report.metrics:
            counts = report.counts.get(metric, {})
            for scope in scopes:
                value = report.score(system, metric, scope)
                base = report.score(baseline, metric, scope)
                comparison = (tests.get((system, metric, ALL if scope == MACRO else scope))
                              if system != baseline else None)
                rows.append({
                    "task": point.task, "arm": point.arm, "model": point.model, "n": point.n,
                    "alpha": point.alpha, "formula": point.formula,
                    "languages": point.languages, "train_pairs": point.train_pairs,
                    "lang": scope, "metric": metric, "value": value,
                    "queries": counts.get(ALL if scope == MACRO else scope, 0),
                    "delta_vs_n0": (None if value is None or base is None else value - base),
                    "p_value_vs_n0": comparison.p_value if comparison else None,
                    "p_adjusted": comparison.p_adjusted if comparison else None,
                    "significant": bool(comparison.significant) if comparison else False})
    return rows


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse(row: dict[str, str], path: Path, number: int) -> Row:
    parsed: Row = dict(row)
    try:
        for name in _INTS:
            parsed[name] = int(row[name]) if row.get(name) else 0
        for name in _FLOATS:
            parsed[name] = float(row[name]) if row.get(name) else None
    except ValueError as exc:
        raise InputError(f"{path}:{number}: malformed study row ({exc})") from None
    parsed["significant"] = row.get("significant", "").lower() == "true"
    return parsed


def read_rows(path: str | Path) -> list[Row]:
    """Read a study CSV (numbers parsed, empty cells as None).

    Raises:
        InputError: for a missing file or one without the study columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"study table not found: {path}")
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path} is not a study table (missing columns: "
                             f"{', '.join(missing)})")
        return [_parse(row, path, number) for number, row in enumerate(reader, start=2)]


def _key(row: Row) -> tuple[str, ...]:
    return tuple(_cell(row.get(name)) for name in KEY)


def write_rows(path: str | Path, rows: Iterable[Row], merge: bool = True) -> int:
    """Write ``rows`` to a study CSV, atomically.

    With ``merge`` an existing table keeps its rows except those the new rows replace (same
    task, arm, model, n, alpha, formula, languages, train_pairs, lang and metric), so the
    sweep, the training arm and MTEB runs join one table.

    Returns:
        The number of rows in the file.
    """
    path = Path(path)
    table: dict[tuple[str, ...], Row] = {}
    if merge and path.exists():
        table.update((_key(row), row) for row in read_rows(path))
    for row in rows:
        table[_key(row)] = row
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in table.values():
            writer.writerow([_cell(row.get(name)) for name in COLUMNS])
    os.replace(partial, path)
    return len(table)


def select(rows: Iterable[Row], **equal: Any) -> list[Row]:
    """The rows whose columns equal the given values (``select(rows, metric="nDCG@10")``)."""
    return [row for row in rows if all(row.get(k) == v for k, v in equal.items())]
