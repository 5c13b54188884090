"""Run xQG variants through ``mteb.evaluate`` and turn mteb's results into study rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xqg_os.study.grid import Point
from xqg_os.study.results import Row

DEFAULT_METRICS = ("ndcg_at_10", "recall_at_100", "mrr_at_10")


def evaluate_model(model: Any, tasks: Sequence[Any], results_dir: str | Path,
                   overwrite: bool = False, batch_size: int = 32,
                   progress: bool = False) -> Any:
    """``mteb.evaluate`` with a result cache under ``results_dir``.

    The cache path holds the model meta's name, revision and experiment kwargs, which encode
    the xQG variant (see :func:`~xqg_os.study.mteb.model.model_meta`): a variant can only
    reuse its own earlier results (``overwrite=False``), never another's.
    """
    import mteb

    from xqg_os.errors import InputError
    from xqg_os.study.mteb.tasks import hub_error

    cache = mteb.ResultCache(cache_path=Path(results_dir))
    try:
        return mteb.evaluate(model, list(tasks), cache=cache,
                             overwrite_strategy="always" if overwrite else "only-missing",
                             encode_kwargs={"batch_size": batch_size,
                                            "show_progress_bar": progress},
                             show_progress_bar=progress, co2_tracker=False)
    except OSError as exc:  # datasets' ConnectionError when a task's data is unreachable
        names = ", ".join(t.metadata.name for t in tasks)
        raise InputError(hub_error(names, exc)) from None


def result_rows(model_result: Any, point: Point,
                metrics: Sequence[str] = DEFAULT_METRICS) -> list[Row]:
    """Study rows from an mteb ``ModelResult``: one per task, split, subset and metric.

    ``task`` is the mteb task name (``/<split>`` appended unless the split is ``test``),
    ``lang`` the subset, ``metric`` ``mteb:<name>``; mteb reports no per-query values, so
    p-values stay empty.
    """
    rows: list[Row] = []
    for task_result in model_result.task_results:
        for split, entries in task_result.scores.items():
            task = task_result.task_name + ("" if split == "test" else f"/{split}")
            for entry in entries:
                for metric in metrics:
                    if metric not in entry:
                        continue
                    rows.append({
                        "task": task, "arm": point.arm, "model": point.model, "n": point.n,
                        "alpha": point.alpha, "formula": point.formula,
                        "languages": point.languages, "train_pairs": point.train_pairs,
                        "lang": entry.get("hf_subset", "default"), "metric": f"mteb:{metric}",
                        "value": float(entry[metric]), "queries": 0, "delta_vs_n0": None,
                        "p_value_vs_n0": None, "p_adjusted": None, "significant": False})
    return rows
