"""Plots of a study table (matplotlib, Agg: no display needed), PNG and SVG.

- ``<task>_scaling_<metric>``: metric vs n, one panel per query language plus the macro
  average; one line per (formula, language subset) at its best alpha; filled markers are
  significantly different from n=0.
- ``<task>_heatmap_<metric>_<formula>_<languages>``: the macro average over alpha x n, with a
  dagger on significant cells.
- ``<task>_scaling_vs_training_<metric>``: both scaling curves side by side on one y axis:
  xQG over n, direct training over training pairs (and training + xQG), macro average.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

from xqg_os.evaluate import ALL, MACRO
from xqg_os.study.results import Row

FORMATS = ("png", "svg")
MARK = "\u2020"


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (``nDCG@10`` -> ``nDCG_10``)."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(text)).strip("_") or "x"


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global state, no display backend

    return Figure(figsize=(width, height), layout="constrained")


def _save(figure: Any, out_dir: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        figure.savefig(path, dpi=150 if fmt == "png" else None)
        paths.append(path)
    return paths


def _best_alpha(rows: list[Row], metric: str) -> float | None:
    """The alpha with the highest mean macro value over n > 0 (ties: the smaller alpha)."""
    by_alpha: dict[float, list[float]] = {}
    for row in rows:
        if row["metric"] == metric and row["lang"] == MACRO and row["n"] > 0 \
                and row["value"] is not None:
            by_alpha.setdefault(row["alpha"], []).append(row["value"])
    if not by_alpha:
        return None
    return max(sorted(by_alpha), key=lambda a: fmean(by_alpha[a]))


def _line(rows: Iterable[Row], metric: str, scope: str, x: str) -> list[tuple[float, float, bool]]:
    points = {row[x]: (row["value"], bool(row["significant"])) for row in rows
              if row["metric"] == metric and row["lang"] == scope and row["value"] is not None}
    return [(k, *points[k]) for k in sorted(points)]


def _plot_line(axes: Any, line: list[tuple[float, float, bool]], label: str, color: Any) -> None:
    if not line:
        return
    xs, ys, sig = zip(*line)
    axes.plot(xs, ys, "-", color=color, label=label, linewidth=1.5)
    axes.scatter(xs, ys, s=28, zorder=3, edgecolors=[color] * len(xs),
                 facecolors=[color if s else "white" for s in sig])


def plot_scaling(rows: list[Row], out_dir: Path, task: str, metric: str,
                 formats: Sequence[str] = FORMATS) -> list[Path]:
    """Metric vs n per query language (xqg arm)."""
    xqg = [r for r in rows if r["arm"] == "xqg"]
    scopes = sorted({r["lang"] for r in xqg if r["lang"] not in (MACRO, ALL)}) + [MACRO]
    groups = sorted({(r["formula"], r["languages"]) for r in xqg})
    if not xqg or not groups:
        return []
    columns = min(4, len(scopes))
    lines = (len(scopes) + columns - 1) // columns
    figure = _figure(3.2 * columns, 2.6 * lines + 0.6)
    axes_grid = figure.subplots(lines, columns, squeeze=False, sharex=True)
    colors = [f"C{i % 10}" for i in range(len(groups))]
    for index, scope in enumerate(scopes):
        axes = axes_grid[index // columns][index % columns]
        for color, (formula, languages) in zip(colors, groups):
            group = [r for r in xqg if (r["formula"], r["languages"]) == (formula, languages)]
            alpha = _best_alpha(group, metric)
            chosen = [r for r in group if alpha is None or r["alpha"] == alpha]
            _plot_line(axes, _line(chosen, metric, scope, "n"),
                       f"{formula}, {languages}, \u03b1={alpha:g}" if alpha is not None
                       else f"{formula}, {languages}", color)
        axes.set_title("macro average" if scope == MACRO else scope, fontsize=10)
        axes.set_xticks(sorted({r["n"] for r in xqg}))
        if index // columns == lines - 1 or index + columns >= len(scopes):
            axes.set_xlabel("n (queries per passage and language)", fontsize=8)
        axes.set_ylabel(metric, fontsize=8)
        axes.grid(alpha=0.3)
    for index in range(len(scopes), lines * columns):
        axes_grid[index // columns][index % columns].set_visible(False)
    handles, labels = axes_grid[0][0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)),
                      fontsize=8)
    figure.suptitle(f"{task}: {metric} vs n (filled: significant vs n=0)", fontsize=11)
    return _save(figure, out_dir, f"{slug(task)}_scaling_{slug(metric)}", formats)


def plot_heatmaps(rows: list[Row], out_dir: Path, task: str, metric: str,
                  formats: Sequence[str] = FORMATS) -> list[Path]:
    """Macro average over alpha x n, one map per (formula, language subset)."""
    xqg = [r for r in rows if r["arm"] == "xqg" and r["metric"] == metric
           and r["lang"] == MACRO and r["value"] is not None]
    paths: list[Path] = []
    for formula, languages in sorted({(r["formula"], r["languages"]) for r in xqg}):
        group = [r for r in xqg if (r["formula"], r["languages"]) == (formula, languages)]
        ns = sorted({r["n"] for r in group})
        alphas = sorted({r["alpha"] for r in group})
        cells = {(r["alpha"], r["n"]): r for r in group}
        values = [[cells[(a, n)]["value"] if (a, n) in cells else float("nan") for n in ns]
                  for a in alphas]
        figure = _figure(1.0 + 0.9 * len(ns), 1.2 + 0.5 * len(alphas))
        axes = figure.subplots()
        image = axes.imshow(values, aspect="auto", cmap="viridis", origin="lower")
        axes.set_xticks(range(len(ns)), [str(n) for n in ns])
        axes.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        axes.set_xlabel("n (generated queries per passage and language)")
        axes.set_ylabel("alpha")
        for i, alpha in enumerate(alphas):
            for j, n in enumerate(ns):
                row = cells.get((alpha, n))
                if row is not None:  # dark text on the bright end of viridis
                    bright = image.norm(row["value"]) > 0.6
                    axes.text(j, i, f"{row['value']:.3f}" + (MARK if row["significant"] else ""),
                              ha="center", va="center", fontsize=7,
                              color="black" if bright else "white")
        figure.colorbar(image, ax=axes, label=f"{metric} (macro)")
        axes.set_title(f"{task}: {formula}, languages={languages}", fontsize=9)
        paths += _save(figure, out_dir, f"{slug(task)}_heatmap_{slug(metric)}_{slug(formula)}_"
                       f"{slug(languages)}", formats)
    return paths


def _best_config_line(rows: list[Row], metric: str, x: str) -> tuple[str, list[Row]]:
    """The (formula, languages, alpha) whose macro values average highest, and its rows."""
    groups: dict[tuple[str, str, float], list[Row]] = {}
    for row in rows:
        if row["metric"] == metric and row["lang"] == MACRO and row["value"] is not None:
            groups.setdefault((row["formula"], row["languages"], row["alpha"]), []).append(row)
    if not groups:
        return "", []
    key = max(sorted(groups), key=lambda k: fmean(r["value"] for r in groups[k]
                                                   if r["n"] > 0 or x == "train_pairs"))
    return f"{key[0]}, {key[1]}, \u03b1={key[2]:g}", groups[key]


def training_pairs_axis(axes: Any, train: Sequence[Row], label: str, title: str) -> None:
    """The x axis of a direct-training panel: training pairs on a symlog scale (0 stays on it),
    ticked at the sizes trained."""
    sizes = sorted({r["train_pairs"] for r in train if r["train_pairs"] > 0})
    if sizes:
        axes.set_xscale("symlog", linthresh=sizes[0])
        axes.set_xticks([0, *sizes], ["0", *(f"{s:,}" for s in sizes)])
    axes.set_xlabel(label)
    axes.set_title(title, fontsize=10)


def plot_compare(rows: list[Row], out_dir: Path, task: str, metric: str,
                 formats: Sequence[str] = FORMATS) -> list[Path]:
    """xQG over n next to direct training over training pairs (macro average)."""
    train = [r for r in rows if r["arm"] == "train"]
    if not train:
        return []
    figure = _figure(9.0, 3.6)
    left, right = figure.subplots(1, 2, sharey=True)
    label, xqg_rows = _best_config_line([r for r in rows if r["arm"] == "xqg"], metric, "n")
    _plot_line(left, _line(xqg_rows, metric, MACRO, "n"), f"xQG ({label})", "C0")
    left.set_xlabel("n (queries per passage and language)")
    if xqg_rows:
        left.set_xticks(sorted({r["n"] for r in xqg_rows}))
    left.set_ylabel(f"{metric} (macro)")
    left.set_title("xQG on the base encoder", fontsize=10)
    _plot_line(right, _line(train, metric, MACRO, "train_pairs"), "fine-tuned", "C1")
    combined = [r for r in rows if r["arm"] == "train+xqg" and r["n"] > 0]
    label, best = _best_config_line(combined, metric, "train_pairs")
    if best:
        top = max(r["n"] for r in best)
        line = [r for r in train if r["train_pairs"] == 0] + [r for r in best if r["n"] == top]
        _plot_line(right, _line(line, metric, MACRO, "train_pairs"),
                   f"fine-tuned + xQG ({label}, n={top})", "C2")
    training_pairs_axis(right, train, "training pairs", "direct cross-lingual training")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7)
    figure.suptitle(f"{task}: {metric}, scaling xQG vs training (filled: significant)",
                    fontsize=11)
    return _save(figure, out_dir, f"{slug(task)}_scaling_vs_training_{slug(metric)}", formats)


def plot_study(rows: list[Row], out_dir: str | Path, formats: Sequence[str] = FORMATS,
               metrics: Sequence[str] | None = None, progress: bool = True) -> list[Path]:
    """Every plot of the table, per task and metric; returns the files written. ``progress``
    shows a bar (stderr) over the (task, metric) figure sets."""
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    by_task = {task: [r for r in rows if r["task"] == task]
               for task in sorted({r["task"] for r in rows})}
    todo = [(task, metric) for task, task_rows in by_task.items()
            for metric in metrics or sorted({r["metric"] for r in task_rows})]
    for task, metric in tqdm(todo, desc="plots", unit="metric", disable=not progress,
                             dynamic_ncols=True):
        task_rows = by_task[task]
        paths += plot_scaling(task_rows, out, task, metric, formats)
        paths += plot_heatmaps(task_rows, out, task, metric, formats)
        paths += plot_compare(task_rows, out, task, metric, formats)
    return paths
