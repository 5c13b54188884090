"""The study table as a Markdown report: sweep tables with significance marks, per-language
numbers at the best configuration, the training arm, and the plots."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xqg_os.evaluate import ALL, MACRO
from xqg_os.study.results import Row

MARK = "\u2020"
_KT = re.compile(r"^R@\d+k?t$")


def meta_path(csv_path: str | Path) -> Path:
    """Where a study table's settings live: ``<table>.meta.json`` beside it."""
    path = Path(csv_path)
    return path.with_name(path.name + ".meta.json")


def update_meta(csv_path: str | Path, section: str, info: dict[str, Any]) -> Path:
    """Record the settings of one run (``sweep``, ``train``, ``mteb``) beside the table."""
    path = meta_path(csv_path)
    current: dict[str, Any] = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            current = {}
    current[section] = info
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(current, indent=2, default=str, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    os.replace(partial, path)
    return path


def _fmt(row: Row | None) -> str:
    if row is None or row["value"] is None:
        return "\u2013"
    value = row["value"]
    # R@kt is a percentage (R@2kt, R@200t), the other metrics fractions
    text = f"{value:.1f}" if _KT.match(row["metric"]) else f"{value:.4f}"
    return text + (MARK if row["significant"] else "")


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return out + [""]


def _sweep_section(rows: list[Row], metric: str) -> list[str]:
    xqg = [r for r in rows if r["arm"] == "xqg" and r["metric"] == metric]
    macro = [r for r in xqg if r["lang"] == MACRO]
    if not macro:
        return []
    ns = sorted({r["n"] for r in macro})
    configs = sorted({(r["formula"], r["languages"], r["alpha"]) for r in macro})
    cell = {(r["formula"], r["languages"], r["alpha"], r["n"]): r for r in macro}
    lines = [[f"{f}", lang, f"{a:g}", *(_fmt(cell.get((f, lang, a, n))) for n in ns)]
             for f, lang, a in configs]
    out = [f"### xQG sweep: {metric}, macro average over query languages", ""]
    out += _table(["formula", "languages", "alpha", *(f"n={n}" for n in ns)], lines)

    def score(key: tuple[str, str, float]) -> float:
        values = [r["value"] for r in macro if (r["formula"], r["languages"], r["alpha"]) == key
                  and r["n"] > 0 and r["value"] is not None]
        return max(values) if values else float("-inf")

    best = max(configs, key=score)
    langs = sorted({r["lang"] for r in xqg if r["lang"] not in (MACRO, ALL)}) + [MACRO]
    chosen = {(r["lang"], r["n"]): r for r in xqg
              if (r["formula"], r["languages"], r["alpha"]) == best}
    lines = [[lang, str(chosen[(lang, ns[0])]["queries"]) if (lang, ns[0]) in chosen else "",
              *(_fmt(chosen.get((lang, n))) for n in ns)] for lang in langs]
    out += [f"Per query language at the best configuration (formula {best[0]}, languages "
            f"{best[1]}, alpha {best[2]:g}):", ""]
    return out + _table(["language", "queries", *(f"n={n}" for n in ns)], lines)


def _train_section(rows: list[Row], metric: str) -> list[str]:
    train = {r["train_pairs"]: r for r in rows
             if r["arm"] == "train" and r["metric"] == metric and r["lang"] == MACRO}
    if not train:
        return []
    combined = [r for r in rows if r["arm"] == "train+xqg" and r["metric"] == metric
                and r["lang"] == MACRO and r["n"] > 0]
    configs = sorted({(r["n"], r["alpha"], r["formula"], r["languages"]) for r in combined})
    cell = {(r["train_pairs"], r["n"], r["alpha"], r["formula"], r["languages"]): r
            for r in combined}
    header = ["training pairs", "fine-tuned",
              *(f"+xQG n={n} \u03b1={a:g} {f} {lang}" for n, a, f, lang in configs)]
    lines = [[str(size), _fmt(train[size]), *(_fmt(cell.get((size, *c))) for c in configs)]
             for size in sorted(train)]
    return [f"### Direct training: {metric}, macro average", ""] + _table(header, lines)


def _settings(meta: dict[str, Any]) -> list[str]:
    out: list[str] = []
    sweep = meta.get("sweep") or {}
    if sweep:
        encoder = sweep.get("encoder") or {}
        store = sweep.get("query_store") or {}
        evaluation = sweep.get("eval") or {}
        out += [f"- encoder: `{encoder.get('model')}` (revision {encoder.get('revision')}, "
                f"pooling {encoder.get('pooling')})",
                f"- generator: `{(store.get('generator') or {}).get('model', 'n/a')}`, store "
                f"n={store.get('n')}, languages {', '.join(store.get('languages') or [])}",
                f"- grid: {json.dumps(sweep.get('grid'))}; search: exact, depth "
                f"{sweep.get('depth')}, {sweep.get('space_type')}",
                f"- significance: {evaluation.get('test')} test against n=0, "
                f"{evaluation.get('correction')} correction over all points of a metric, "
                f"level {evaluation.get('significance', evaluation.get('alpha'))} "
                f"({sweep.get('systems')} systems)"]
    train = meta.get("train") or {}
    if train:
        settings = json.dumps(train.get("train"))
        out.append(f"- training arm: base `{train.get('base')}`, sizes {train.get('sizes')} "
                   f"of {train.get('pairs_available')} pairs, settings {settings}")
    return out + ([""] if out else [])


def render_report(rows: list[Row], meta: dict[str, Any] | None = None,
                  plots: Sequence[Path] = (), base_dir: Path | None = None,
                  title: str = "xQG scaling study") -> str:
    """The Markdown report of a study table.

    Args:
        rows: the table (see :func:`~xqg_os.study.results.read_rows`).
        meta: the settings beside the table (see :func:`update_meta`).
        plots: plot files to embed (PNG); linked relative to ``base_dir``.
        base_dir: the report's folder.
    """
    out = [f"# {title}", ""]
    out += _settings(meta or {})
    out += [f"{MARK}: significantly different from the base encoder without augmentation "
            "(n=0, 0 training pairs), paired test per query; the macro row is tested on all "
            "queries pooled.", ""]
    for task in sorted({r["task"] for r in rows}):
        task_rows = [r for r in rows if r["task"] == task]
        out += [f"## {task}", ""]
        for metric in sorted({r["metric"] for r in task_rows}):
            out += _sweep_section(task_rows, metric)
            out += _train_section(task_rows, metric)
        images = [p for p in plots if p.suffix == ".png" and p.name.startswith(_prefix(task))]
        for path in images:
            link = os.path.relpath(path, base_dir) if base_dir else str(path)
            out += [f"![{path.stem}]({link})", ""]
    return "\n".join(out).rstrip() + "\n"


def _prefix(task: str) -> str:
    from xqg_os.study.plots import slug

    return slug(task) + "_"


def save_rows(rows: list[Row], info: dict[str, Any], csv_path: str | Path, section: str,
              plots: str | Path | None = None) -> tuple[int, list[Path]]:
    """Merge one run's rows into the study table, record its settings (``section``) beside it,
    and redraw the plots of the whole table into ``plots`` (None: no plots).

    Returns:
        The table's row count after the merge, and the plot files written.
    """
    from xqg_os.study.plots import plot_study
    from xqg_os.study.results import read_rows, write_rows

    total = write_rows(csv_path, rows)
    update_meta(csv_path, section, info)
    return total, (plot_study(read_rows(csv_path), plots) if plots else [])


def write_report(csv_path: str | Path, out: str | Path | None = None,
                 plots: str | Path | None = None, draw_plots: bool = True,
                 title: str = "xQG scaling study") -> tuple[Path, int, list[Path]]:
    """Render the study table ``csv_path`` (and its settings) as a Markdown file.

    Args:
        csv_path: the study table.
        out: the Markdown file (default: ``report.md`` beside the table).
        plots: where to (re)draw the plots (default: ``plots/`` beside the report).
        draw_plots: False writes the report without plots.
        title: the report's heading.

    Returns:
        The report's path, the number of rows and the plot files.
    """
    from xqg_os.study.plots import plot_study
    from xqg_os.study.results import read_rows

    rows = read_rows(csv_path)
    target = Path(out) if out else Path(csv_path).with_name("report.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    paths = plot_study(rows, plots or target.parent / "plots") if draw_plots else []
    meta_file = meta_path(csv_path)
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    target.write_text(render_report(rows, meta, paths, target.parent, title), encoding="utf-8")
    return target, len(rows), paths
