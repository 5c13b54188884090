"""The study's two scaling curves per query language, side by side on one y axis: the gain of
xQG over n (one configuration for every language, chosen on the macro average) and the gain of
direct training over training pairs. Filled markers are significant against the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xqg_os.evaluate import ALL, MACRO
from xqg_os.study.plots import FORMATS, _figure, _save, slug, training_pairs_axis
from xqg_os.study.results import Row


def _series(rows: Sequence[Row], metric: str, lang: str, x: str
            ) -> list[tuple[float, float, bool]]:
    points = {r[x]: (float(r["delta_vs_n0"] or 0.0), bool(r["significant"])) for r in rows
              if r["metric"] == metric and r["lang"] == lang and r["value"] is not None}
    return [(k, *points[k]) for k in sorted(points)]


def plot_gain_curves(rows: Sequence[Row], out_dir: str | Path, task: str, metric: str,
                     xqg: dict[str, object], formats: Sequence[str] = FORMATS) -> list[Path]:
    """Gain over the baseline vs n (left) and vs training pairs (right), one line per query
    language plus the macro average (thick).

    Args:
        rows: the study table.
        xqg: the xQG configuration to draw (``alpha``, ``formula``, ``languages``).
    """
    chosen = [r for r in rows if r["arm"] == "xqg" and r["alpha"] == xqg["alpha"]
              and r["formula"] == xqg["formula"] and r["languages"] == xqg["languages"]]
    baseline = [r for r in rows if r["arm"] == "xqg" and r["n"] == 0]
    train = [r for r in rows if r["arm"] == "train"]
    langs = sorted({r["lang"] for r in rows if r["lang"] not in (MACRO, ALL)}) + [MACRO]
    figure = _figure(10.0, 4.2)
    left, right = figure.subplots(1, 2, sharey=True)
    for index, lang in enumerate(langs):
        color = "black" if lang == MACRO else f"C{index % 10}"
        width = 2.6 if lang == MACRO else 1.2
        for axes, series in ((left, _series(baseline + chosen, metric, lang, "n")),
                             (right, _series(train, metric, lang, "train_pairs"))):
            if not series:
                continue
            xs, ys, sig = zip(*series)
            axes.plot(xs, ys, "-", color=color, linewidth=width, label=lang)
            axes.scatter(xs, ys, s=22, zorder=3, edgecolors=[color] * len(xs),
                         facecolors=[color if s else "white" for s in sig])
    left.set_xlabel("n (generated queries per passage and language)")
    left.set_xticks(sorted({r["n"] for r in chosen + baseline}))
    left.set_title(f"xQG ({xqg['formula']}, languages={xqg['languages']}, "
                   f"\u03b1={xqg['alpha']:g})", fontsize=10)
    training_pairs_axis(right, train, "cross-lingual training pairs",
                        "direct training (fine-tuned encoder)")
    left.set_ylabel(f"{metric} gain over the base encoder")
    for axes in (left, right):
        axes.axhline(0.0, color="grey", linewidth=0.8)
        axes.grid(alpha=0.3)
    handles, labels = left.get_legend_handles_labels()
    if not handles:
        handles, labels = right.get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside right center", fontsize=8)
    figure.suptitle(f"{task}: {metric} gain per query language (filled: significant vs the "
                    "base encoder)", fontsize=11)
    return _save(figure, Path(out_dir), f"{slug(task)}_gain_curves_{slug(metric)}", formats)
