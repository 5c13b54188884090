"""``xqg-os study``: scaling sweeps, the direct-training arm, MTEB runs and the report; a thin
shell over :mod:`xqg_os.study` and :mod:`xqg_os.study.mteb`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from xqg_os.cli.common import XQGGroup, comma_list, encoder_options, evaluation_options
from xqg_os.cli.params import OutputPath, finite_float
from xqg_os.cli.study_manpages import manpages_command
from xqg_os.opensearch.index import SPACE_TYPES

# old spellings of data_options flags, accepted for one release
DATA_RENAMED = {"--significance-level": "--significance", "--store-dtype": "--cache-dtype"}


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Evaluation data and settings; passes ``data`` (an EvalData) and ``sweep_config``."""

    @click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="Corpus searched exactly (JSONL, BEIR or TSV).")
    @evaluation_options("Paired test against n=0.")
    @click.option("--name", "task_name", default=None,
                  help="The data's name in the table (default: the queries file's stem).")
    @click.option("--depth", type=click.IntRange(1), default=100, show_default=True,
                  help="Passages retrieved per query.")
    @click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
                  show_default=True)
    @click.option("--cache", default="xqg-cache", show_default=True,
                  type=OutputPath(folder=True), help="Embedding-cache folder.")
    @click.option("--cache-dtype", type=click.Choice(["float32", "float16"]),
                  default="float32", show_default=True,
                  help="Storage type of the embedding cache.")
    @functools.wraps(func)
    def wrapper(*args: Any, corpus: str, queries: str, qrels: str | None, answers: str | None,
                task_name: str | None, depth: int, space_type: str, cache_dtype: str,
                eval_config: Any, **kwargs: Any) -> Any:
        from xqg_os.study import EvalData, SweepConfig

        kwargs["data"] = EvalData.load(corpus, queries, qrels, answers, task_name)
        kwargs["sweep_config"] = SweepConfig(depth=depth, space_type=space_type,
                                             dtype=cache_dtype, eval=eval_config)
        return func(*args, **kwargs)

    return wrapper


def grid_options(n_default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The sweep grid flags; passes a ``grid`` (a Grid)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @click.option("--n", "ns", default=n_default, show_default=True,
                      help="Queries per passage and language, comma-separated (0: baseline).")
        @click.option("--alpha", "alphas", default="0.01", show_default=True,
                      help="Mixing weights, comma-separated.")
        @click.option("--formula", "formulas", default="sum", show_default=True,
                      help="sum and/or mean, comma-separated.")
        @click.option("--languages", "language_sets", default="all", show_default=True,
                      help="Language subsets: all, same, others, or codes joined by + "
                           "(ar+bn); comma-separated.")
        @functools.wraps(func)
        def wrapper(*args: Any, ns: str, alphas: str, formulas: str, language_sets: str,
                    **kwargs: Any) -> Any:
            from xqg_os.study import Grid

            kwargs["grid"] = Grid.parse(ns, alphas, formulas, language_sets)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def _store(path: str | None) -> Any:
    from xqg_os.generate.store import QueryStore

    return QueryStore.open(path) if path else None


def table_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where a study run's rows and plots go; passes ``out`` and ``plots`` (None: no plots)."""

    @click.option("--out", required=True, type=OutputPath(folder=False),
                  help="Study CSV (rows are merged into an existing one).")
    @click.option("--plots", default=None, type=OutputPath(folder=True),
                  help="Plot folder (default: plots/ beside --out).")
    @click.option("--no-plots", is_flag=True)
    @functools.wraps(func)
    def wrapper(*args: Any, out: str, plots: str | None, no_plots: bool, **kwargs: Any) -> Any:
        kwargs["plots"] = None if no_plots else plots or str(Path(out).parent / "plots")
        return func(*args, out=out, **kwargs)

    return wrapper


def _finish(result: Any, out: str, section: str, plots: str | None) -> None:
    from xqg_os.study.report import save_rows

    total, paths = save_rows(result.rows, {**result.info, "timings": result.timings}, out,
                             section, plots)
    click.echo(f"wrote {len(result.rows)} rows ({total} in {out}); time (s): "
               + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    if plots:
        click.echo(f"wrote {len(paths)} plot files to {plots}")


@click.group(cls=XQGGroup)
def study() -> None:
    """Scaling studies: xQG sweeps over n, alpha, formula and languages, direct training on
    growing numbers of pairs, MTEB cross-lingual retrieval, one CSV, plots and a report."""


@study.command(renamed=DATA_RENAMED)
@data_options
@encoder_options
@grid_options("0,1,2,4,8")
@click.option("--generated", type=click.Path(exists=True, file_okay=False), default=None,
              help="Query store (from xqg-os generate with the largest n).")
@click.option("--generated-languages", default=None,
              help="Generated languages to use (default: all in the store).")
@table_options
def sweep(data: Any, sweep_config: Any, encoder_config: Any, grid: Any, cache: str,
          generated: str | None, generated_languages: str | None, out: str,
          plots: str | None) -> None:
    """Sweep the grid from one query store and one embedding store: the model encodes the
    corpus, the generated queries and the evaluation queries once (nothing on a rerun); each
    point then only re-mixes vectors and searches exactly. Significance against n=0."""
    from xqg_os.encode import load_encoder
    from xqg_os.languages import parse_languages
    from xqg_os.study import run_sweep

    result = run_sweep(load_encoder(encoder_config), data, _store(generated), grid, cache,
                       sweep_config, parse_languages(generated_languages)
                       if generated_languages else None)
    _finish(result, out, "sweep", plots)


@study.command(renamed={**DATA_RENAMED, "--backend": "--trainer"})
@data_options
@encoder_options
@grid_options("4")
@click.option("--pairs", "pairs_source", required=True,
              help="Training pairs: JSONL ({query, passage} or {anchor, positive}) or "
                   "hf:NAME[:CONFIG] (a dataset's train split; needs datasets).")
@click.option("--sizes", default="1k,4k,16k", show_default=True,
              help="Training-set sizes, comma-separated (k/m suffixes).")
@click.option("--checkpoints", required=True, type=OutputPath(folder=True),
              help="Folder of the checkpoints (pairs-<size>/; finished ones are reused).")
@click.option("--epochs", type=click.IntRange(1), default=1, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--lr", type=finite_float(0, min_open=True), default=2e-5, show_default=True)
@click.option("--warmup-ratio", type=finite_float(0, 1, max_open=True), default=0.1,
              show_default=True)
@click.option("--similarity", type=click.Choice(["dot", "cos"]), default="dot",
              show_default=True, help="Training similarity (dot: as an innerproduct index).")
@click.option("--trainer", type=click.Choice(["auto", "trainer", "loop"]), default="auto",
              show_default=True, help="Training loop: SentenceTransformerTrainer (trainer), a "
                                      "plain loop, or auto.")
@click.option("--seed", type=click.IntRange(0), default=42, show_default=True)
@click.option("--with-xqg", is_flag=True,
              help="Also sweep --n/--alpha/--formula/--languages on every checkpoint.")
@click.option("--generated", type=click.Path(exists=True, file_okay=False), default=None,
              help="Query store, for --with-xqg.")
@table_options
def train(data: Any, sweep_config: Any, encoder_config: Any, grid: Any, cache: str,
          pairs_source: str, sizes: str, checkpoints: str, epochs: int, batch_size: int,
          lr: float, warmup_ratio: float, similarity: str, trainer: str, seed: int,
          with_xqg: bool, generated: str | None, out: str, plots: str | None) -> None:
    """Fine-tune the encoder on cross-lingual pairs (MultipleNegativesRankingLoss, in-batch
    negatives) for each training size and evaluate every checkpoint on the same data; rows
    join the sweep's CSV (arm=train, x = training pairs)."""
    from xqg_os.study import TrainConfig, load_pairs, parse_sizes, run_train_arm

    size_list = parse_sizes(sizes)
    pairs = load_pairs(pairs_source, limit=max(size_list), seed=seed)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=lr,
                         warmup_ratio=warmup_ratio, similarity=similarity, backend=trainer,
                         device=encoder_config.device, seed=seed)
    result = run_train_arm(encoder_config, pairs, size_list, data, checkpoints, cache, config,
                           sweep_config, _store(generated) if with_xqg else None,
                           grid if with_xqg else None)
    _finish(result, out, "train", plots)


@study.command()
@click.option("--csv", "csv_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The study CSV.")
@click.option("--out", default=None, type=OutputPath(folder=False),
              help="Markdown file (default: report.md beside the CSV).")
@click.option("--plots", default=None, type=OutputPath(folder=True),
              help="Where to (re)draw the plots (default: plots/ beside the report).")
@click.option("--no-plots", is_flag=True)
@click.option("--title", default="xQG scaling study", show_default=True)
def report(csv_path: str, out: str | None, plots: str | None, no_plots: bool,
           title: str) -> None:
    """Turn the study CSV into a Markdown report: sweep tables with significance marks, the
    per-language numbers at the best configuration, the training arm, and the plots."""
    from xqg_os.study.report import write_report

    target, count, paths = write_report(csv_path, out, plots, not no_plots, title)
    click.echo(f"wrote {target} ({count} rows, {len(paths)} plot files)")


@study.command(name="mteb")
@encoder_options
@grid_options("0,4")
@click.option("--task", "tasks", multiple=True,
              help="mteb task (repeatable): XPQARetrieval, MLQARetrieval, BelebeleRetrieval, "
                   "CUREv1 ...; default subsets: the cross-language ones.")
@click.option("--subsets", default=None, help="hf subsets, comma-separated (e.g. eng-ara).")
@click.option("--splits", default=None, help="Eval splits, comma-separated.")
@click.option("--local-corpus", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Run on local data instead: corpus (with --local-queries, --local-qrels).")
@click.option("--local-queries", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--local-qrels", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--local-name", default="XQGLocalRetrieval", show_default=True)
@click.option("--generated", type=click.Path(exists=True, file_okay=False), default=None,
              help="Query store with queries for the task's documents.")
@click.option("--id-template", default="{id}", show_default=True,
              help="Query-store id of a document: {id}, {subset}, {split}.")
@click.option("--export-corpus", type=OutputPath(folder=False), default=None,
              help="Only write the tasks' documents as a JSONL corpus (ids via --id-template) "
                   "for xqg-os generate, then stop.")
@click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
              show_default=True)
@click.option("--cache", default="xqg-cache", show_default=True, type=OutputPath(folder=True),
              help="Embedding-cache folder.")
@click.option("--results", default="mteb-results", show_default=True,
              type=OutputPath(folder=True), help="mteb result cache folder.")
@click.option("--overwrite", is_flag=True, help="Recompute results already cached.")
@click.option("--out", default=None, type=OutputPath(folder=False),
              help="Also merge the scores into this study CSV.")
def mteb_command(encoder_config: Any, grid: Any, tasks: tuple[str, ...], subsets: str | None,
                 splits: str | None, local_corpus: str | None, local_queries: str | None,
                 local_qrels: str | None, local_name: str, generated: str | None,
                 id_template: str, export_corpus: str | None, space_type: str, cache: str,
                 results: str, overwrite: bool, out: str | None) -> None:
    """Run xQG retrieval inside mteb v2 (SearchProtocol): one mteb model per grid point, named
    so that mteb's cache keeps every variant apart. Needs pip install 'xqg-os[mteb]'."""
    from xqg_os.errors import InputError
    from xqg_os.study import EvalData, write_rows
    from xqg_os.study.mteb.run import export_tasks, load_tasks, require_mteb, run_grid

    require_mteb()
    if bool(tasks) == bool(local_corpus):
        raise InputError("give --task NAME (repeatable) or --local-corpus with --local-queries "
                         "and --local-qrels")
    local = None
    if local_corpus:
        if not (local_queries and local_qrels):
            raise InputError("--local-corpus needs --local-queries and --local-qrels")
        local = EvalData.load(local_corpus, local_queries, local_qrels, name=local_name)
    task_list = load_tasks(tasks, comma_list(subsets), comma_list(splits), local, local_name)
    if export_corpus:
        total = export_tasks(task_list, export_corpus, id_template)
        click.echo(f"wrote {total} passages for xqg-os generate --corpus")
        return
    from xqg_os.encode import load_encoder

    rows = []
    for point in run_grid(load_encoder(encoder_config), _store(generated), grid, task_list,
                          cache, results, overwrite, id_template, space_type,
                          encoder_config.batch_size):
        click.echo(f"{point.name}: done")
        rows += point.rows
    for row in rows:
        if row["metric"] == "mteb:ndcg_at_10":
            click.echo(f"  {row['task']} {row['lang']} n={row['n']} alpha={row['alpha']:g} "
                       f"{row['formula']} {row['languages']}: nDCG@10 {row['value']:.4f}")
    if out:
        write_rows(out, rows)
        click.echo(f"merged {len(rows)} rows into {out}")


study.add_command(manpages_command)
