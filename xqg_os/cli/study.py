"""``xqg-os study``: scaling sweeps, the direct-training arm, MTEB runs and the report; a thin
shell over :mod:`xqg_os.study` and :mod:`xqg_os.study.mteb`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from xqg_os.cli.common import comma_list, encoder_options, int_list
from xqg_os.opensearch.index import SPACE_TYPES


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Evaluation data and settings; passes ``data`` (an EvalData) and ``sweep_config``."""

    @click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="Corpus searched exactly (JSONL, BEIR or TSV).")
    @click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="Evaluation queries with languages (JSONL or TSV).")
    @click.option("--qrels", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="TREC qrels, for nDCG / recall / MRR.")
    @click.option("--answers", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="XOR-TyDi answers, for R@kt.")
    @click.option("--name", "task_name", default=None,
                  help="The data's name in the table (default: the queries file's stem).")
    @click.option("--metrics", default="nDCG@10,R@100,MRR@10", show_default=True)
    @click.option("--kt", default="2000,5000", show_default=True, help="R@kt budgets.")
    @click.option("--depth", type=int, default=100, show_default=True)
    @click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
                  show_default=True)
    @click.option("--test", type=click.Choice(["t", "permutation"]), default="t",
                  show_default=True, help="Paired test against n=0.")
    @click.option("--correction", type=click.Choice(["holm", "bonferroni", "none"]),
                  default="holm", show_default=True,
                  help="Over all tests of a metric (every point and language).")
    @click.option("--significance-level", type=float, default=0.05, show_default=True)
    @click.option("--cache", default="xqg-cache", show_default=True,
                  type=click.Path(file_okay=False), help="Embedding-store folder.")
    @click.option("--store-dtype", type=click.Choice(["float32", "float16"]),
                  default="float32", show_default=True)
    @functools.wraps(func)
    def wrapper(*args: Any, corpus: str, queries: str, qrels: str | None, answers: str | None,
                task_name: str | None, metrics: str, kt: str, depth: int, space_type: str,
                test: str, correction: str, significance_level: float, store_dtype: str,
                **kwargs: Any) -> Any:
        from xqg_os.evaluate import EvalConfig
        from xqg_os.study import EvalData, SweepConfig

        budgets = int_list(kt, "--kt")
        kwargs["data"] = EvalData.load(corpus, queries, qrels, answers, task_name)
        kwargs["sweep_config"] = SweepConfig(
            depth=depth, space_type=space_type, dtype=store_dtype,
            eval=EvalConfig(metrics=tuple(comma_list(metrics)), kt=budgets if answers else (),
                            test=test, correction=correction, alpha=significance_level))
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


def _finish(result: Any, out: str, section: str, plots: str | None) -> None:
    from xqg_os.study import plot_study, read_rows, update_meta, write_rows

    total = write_rows(out, result.rows)
    update_meta(out, section, {**result.info, "timings": result.timings})
    click.echo(f"wrote {len(result.rows)} rows ({total} in {out}); time (s): "
               + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    if plots:
        paths = plot_study(read_rows(out), plots)
        click.echo(f"wrote {len(paths)} plot files to {plots}")


@click.group()
def study() -> None:
    """Scaling studies: xQG sweeps over n, alpha, formula and languages, direct training on
    growing numbers of pairs, MTEB cross-lingual retrieval, one CSV, plots and a report."""


@study.command()
@data_options
@encoder_options
@grid_options("0,1,2,4,8")
@click.option("--generated", type=click.Path(exists=True, file_okay=False), default=None,
              help="Query store (from xqg-os generate with the largest n).")
@click.option("--generated-languages", default=None,
              help="Generated languages to use (default: all in the store).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Study CSV (rows are merged into an existing one).")
@click.option("--plots", default=None, type=click.Path(file_okay=False),
              help="Plot folder (default: plots/ beside --out).")
@click.option("--no-plots", is_flag=True)
def sweep(data: Any, sweep_config: Any, encoder_config: Any, grid: Any, cache: str,
          generated: str | None, generated_languages: str | None, out: str,
          plots: str | None, no_plots: bool) -> None:
    """Sweep the grid from one query store and one embedding store: the model encodes the
    corpus, the generated queries and the evaluation queries once (nothing on a rerun); each
    point then only re-mixes vectors and searches exactly. Significance against n=0."""
    from xqg_os.encode import load_encoder
    from xqg_os.languages import parse_languages
    from xqg_os.study import run_sweep

    result = run_sweep(load_encoder(encoder_config), data, _store(generated), grid, cache,
                       sweep_config, parse_languages(generated_languages)
                       if generated_languages else None)
    _finish(result, out, "sweep", None if no_plots else plots or str(Path(out).parent / "plots"))


@study.command()
@data_options
@encoder_options
@grid_options("4")
@click.option("--pairs", "pairs_source", required=True,
              help="Training pairs: JSONL ({query, passage} or {anchor, positive}) or "
                   "hf:NAME[:CONFIG] (a dataset's train split; needs datasets).")
@click.option("--sizes", default="1k,4k,16k", show_default=True,
              help="Training-set sizes, comma-separated (k/m suffixes).")
@click.option("--checkpoints", required=True, type=click.Path(file_okay=False),
              help="Folder of the checkpoints (pairs-<size>/; finished ones are reused).")
@click.option("--epochs", type=int, default=1, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=2e-5, show_default=True)
@click.option("--warmup-ratio", type=float, default=0.1, show_default=True)
@click.option("--similarity", type=click.Choice(["dot", "cos"]), default="dot",
              show_default=True, help="Training similarity (dot: as an innerproduct index).")
@click.option("--backend", type=click.Choice(["auto", "trainer", "loop"]), default="auto",
              show_default=True, help="SentenceTransformerTrainer or a plain loop.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--with-xqg", is_flag=True,
              help="Also sweep --n/--alpha/--formula/--languages on every checkpoint.")
@click.option("--generated", type=click.Path(exists=True, file_okay=False), default=None,
              help="Query store, for --with-xqg.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Study CSV (rows are merged into an existing one).")
@click.option("--plots", default=None, type=click.Path(file_okay=False),
              help="Plot folder (default: plots/ beside --out).")
@click.option("--no-plots", is_flag=True)
def train(data: Any, sweep_config: Any, encoder_config: Any, grid: Any, cache: str,
          pairs_source: str, sizes: str, checkpoints: str, epochs: int, batch_size: int,
          lr: float, warmup_ratio: float, similarity: str, backend: str, seed: int,
          with_xqg: bool, generated: str | None, out: str, plots: str | None,
          no_plots: bool) -> None:
    """Fine-tune the encoder on cross-lingual pairs (MultipleNegativesRankingLoss, in-batch
    negatives) for each training size and evaluate every checkpoint on the same data; rows
    join the sweep's CSV (arm=train, x = training pairs)."""
    from xqg_os.study import TrainConfig, load_pairs, parse_sizes, run_train_arm

    size_list = parse_sizes(sizes)
    pairs = load_pairs(pairs_source, limit=max(size_list), seed=seed)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=lr,
                         warmup_ratio=warmup_ratio, similarity=similarity, backend=backend,
                         device=encoder_config.device, seed=seed)
    result = run_train_arm(encoder_config, pairs, size_list, data, checkpoints, cache, config,
                           sweep_config, _store(generated) if with_xqg else None,
                           grid if with_xqg else None)
    _finish(result, out, "train", None if no_plots else plots or str(Path(out).parent / "plots"))


@study.command()
@click.option("--csv", "csv_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The study CSV.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Markdown file (default: report.md beside the CSV).")
@click.option("--plots", default=None, type=click.Path(file_okay=False),
              help="Where to (re)draw the plots (default: plots/ beside the report).")
@click.option("--no-plots", is_flag=True)
@click.option("--title", default="xQG scaling study", show_default=True)
def report(csv_path: str, out: str | None, plots: str | None, no_plots: bool,
           title: str) -> None:
    """Turn the study CSV into a Markdown report: sweep tables with significance marks, the
    per-language numbers at the best configuration, the training arm, and the plots."""
    from xqg_os.study import plot_study, read_rows, render_report
    from xqg_os.study.report import meta_path

    rows = read_rows(csv_path)
    target = Path(out) if out else Path(csv_path).with_name("report.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    paths = [] if no_plots else plot_study(rows, plots or target.parent / "plots")
    meta_file = meta_path(csv_path)
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    target.write_text(render_report(rows, meta, paths, target.parent, title), encoding="utf-8")
    click.echo(f"wrote {target} ({len(rows)} rows, {len(paths)} plot files)")


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
@click.option("--export-corpus", type=click.Path(dir_okay=False), default=None,
              help="Only write the tasks' documents as a JSONL corpus (ids via --id-template) "
                   "for xqg-os generate, then stop.")
@click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
              show_default=True)
@click.option("--cache", default="xqg-cache", show_default=True, type=click.Path(file_okay=False))
@click.option("--results", default="mteb-results", show_default=True,
              type=click.Path(file_okay=False), help="mteb result cache folder.")
@click.option("--overwrite", is_flag=True, help="Recompute results already cached.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Also merge the scores into this study CSV.")
def mteb_command(encoder_config: Any, grid: Any, tasks: tuple[str, ...], subsets: str | None,
                 splits: str | None, local_corpus: str | None, local_queries: str | None,
                 local_qrels: str | None, local_name: str, generated: str | None,
                 id_template: str, export_corpus: str | None, space_type: str, cache: str,
                 results: str, overwrite: bool, out: str | None) -> None:
    """Run xQG retrieval inside mteb v2 (SearchProtocol): one mteb model per grid point, named
    so that mteb's cache keeps every variant apart. Needs pip install 'xqg-os[mteb]'."""
    from xqg_os.errors import InputError
    from xqg_os.study.mteb import mteb_available

    if not mteb_available():
        raise InputError("mteb v2 is not installed: pip install 'mteb>=2' (extra: xqg-os[mteb])")
    from xqg_os.encode import load_encoder
    from xqg_os.study import EvalData, Point, write_rows
    from xqg_os.study.mteb import XQGSearchModel, XQGVariant
    from xqg_os.study.mteb.run import evaluate_model, result_rows
    from xqg_os.study.mteb.tasks import export_corpus as export
    from xqg_os.study.mteb.tasks import hub_task, local_task

    if bool(tasks) == bool(local_corpus):
        raise InputError("give --task NAME (repeatable) or --local-corpus with --local-queries "
                         "and --local-qrels")
    task_list: list[Any]
    if local_corpus:
        if not (local_queries and local_qrels):
            raise InputError("--local-corpus needs --local-queries and --local-qrels")
        task_list = [local_task(EvalData.load(local_corpus, local_queries, local_qrels,
                                              name=local_name), local_name)]
    else:
        task_list = [hub_task(name, comma_list(subsets), comma_list(splits)) for name in tasks]
    if export_corpus:
        total = sum(export(task, export_corpus if len(task_list) == 1 else
                           Path(export_corpus).with_suffix(f".{task.metadata.name}.jsonl"),
                           id_template)[1] for task in task_list)
        click.echo(f"wrote {total} passages for xqg-os generate --corpus")
        return
    encoder = load_encoder(encoder_config)
    store = _store(generated)
    rows = []
    for n, alpha, formula, languages in grid.points():
        variant = XQGVariant(n, alpha, formula, languages)
        model = XQGSearchModel(encoder, store, variant, cache, id_template, space_type,
                               progress=True)
        outcome = evaluate_model(model, task_list, results, overwrite, encoder_config.batch_size)
        meta = model.mteb_model_meta
        click.echo(f"{meta.name} {meta.revision} ({meta.experiment_name}): done")
        rows += result_rows(outcome, Point("xqg", n, alpha, formula, languages, 0,
                                           str(encoder.describe().get("model")), ""))
    for row in rows:
        main_rows = row["metric"] == "mteb:ndcg_at_10"
        if main_rows:
            click.echo(f"  {row['task']} {row['lang']} n={row['n']} alpha={row['alpha']:g} "
                       f"{row['formula']} {row['languages']}: nDCG@10 {row['value']:.4f}")
    if out:
        write_rows(out, rows)
        click.echo(f"merged {len(rows)} rows into {out}")
