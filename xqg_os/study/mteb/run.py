"""Run xQG variants through ``mteb.evaluate`` and turn mteb's results into study rows: the
tasks (:func:`load_tasks`), their corpus for generation (:func:`export_tasks`), one grid of
variants (:func:`run_grid`).

Importing this module does not import mteb; its functions do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xqg_os.errors import InputError
from xqg_os.study.grid import Grid, Point
from xqg_os.study.results import Row

if TYPE_CHECKING:
    from mteb.abstasks.retrieval import AbsTaskRetrieval

    from xqg_os.encode.base import Encoder
    from xqg_os.generate.store import QueryStore
    from xqg_os.study.sweep import EvalData

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


def require_mteb() -> None:
    """Raise :class:`InputError` unless mteb v2 (with its SearchProtocol) is importable."""
    from xqg_os.study.mteb import mteb_available

    if not mteb_available():
        raise InputError("mteb v2 is not installed: pip install 'mteb>=2' (extra: xqg-os[mteb])")


def load_tasks(names: Sequence[str] = (), subsets: Sequence[str] = (),
               splits: Sequence[str] = (), local: EvalData | None = None,
               local_name: str = "XQGLocalRetrieval") -> list[AbsTaskRetrieval]:
    """The mteb tasks of a run: ``local`` data as one task named ``local_name``, or the hub's
    tasks ``names`` restricted to ``subsets`` and ``splits`` (see
    :func:`~xqg_os.study.mteb.tasks.hub_task`)."""
    require_mteb()
    from xqg_os.study.mteb.tasks import hub_task, local_task

    if local is not None:
        return [local_task(local, local_name)]
    if not names:
        raise InputError("no mteb task: give names or local data", param="names")
    return [hub_task(name, subsets, splits) for name in names]


def export_tasks(tasks: Sequence[AbsTaskRetrieval], out: str | Path,
                 id_template: str = "{id}") -> int:
    """Write the tasks' documents as a JSONL corpus for query generation: to ``out`` for one
    task, to ``out`` with the task's name before the suffix for several. Returns the number of
    passages written."""
    from xqg_os.study.mteb.tasks import export_corpus

    path = Path(out)
    return sum(export_corpus(task, path if len(tasks) == 1 else
                             path.with_suffix(f".{task.metadata.name}.jsonl"), id_template)[1]
               for task in tasks)


@dataclass(frozen=True)
class GridPoint:
    """One evaluated variant: mteb's name for it and its study rows."""

    name: str
    rows: list[Row]


def run_grid(encoder: Encoder, store: QueryStore | None, grid: Grid,
             tasks: Sequence[AbsTaskRetrieval], cache: str | Path, results: str | Path,
             overwrite: bool = False, id_template: str = "{id}",
             space_type: str = "innerproduct", batch_size: int = 32,
             progress: bool = True) -> Iterator[GridPoint]:
    """Evaluate every grid point on ``tasks``, one mteb model per point (its name and revision
    encode the variant, so mteb's cache under ``results`` keeps them apart); yields each point
    as it finishes.

    Args:
        encoder: the dense encoder.
        store: the query store (needed for points with n > 0).
        grid: the variants (n, alpha, formula, languages).
        tasks: from :func:`load_tasks`.
        cache: the embedding cache folder.
        results: mteb's result cache folder.
        overwrite: recompute results already cached.
        id_template: a document's query-store id from ``{id}``, ``{subset}``, ``{split}``.
        space_type: the exact search's similarity.
        batch_size: mteb's encode batch size.
        progress: show progress bars.
    """
    from xqg_os.study.mteb.model import XQGSearchModel, XQGVariant

    model_name = str(encoder.describe().get("model"))
    for n, alpha, formula, languages in grid.points():
        model = XQGSearchModel(encoder, store, XQGVariant(n, alpha, formula, languages), cache,
                               id_template, space_type, progress=progress)
        outcome = evaluate_model(model, tasks, results, overwrite, batch_size)
        meta = model.mteb_model_meta
        yield GridPoint(f"{meta.name} {meta.revision} ({meta.experiment_name})",
                        result_rows(outcome, Point("xqg", n, alpha, formula, languages, 0,
                                                   model_name, "")))
