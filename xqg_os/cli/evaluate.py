"""``xqg-os evaluate``: per-language metrics and R@kt for several systems side by side."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from xqg_os.cli.common import XQGCommand, cluster_options, comma_list, evaluation_options
from xqg_os.opensearch.index import VECTOR_FIELDS

if TYPE_CHECKING:
    from xqg_os.evaluate import EvalConfig
    from xqg_os.opensearch.client import ClientConfig

BACKENDS = ("opensearch", "exact")  # the hidden --backend: opensearch = k-NN, exact = --exact


@click.command(cls=XQGCommand, renamed={"--alpha": "--significance"})
@evaluation_options("Paired t-test or permutation test.")
@click.option("--index", "indexes", multiple=True,
              help="An xQG index to search by k-NN (repeatable); one system per --fields entry.")
@click.option("--exact", is_flag=True,
              help="Exact (brute-force) search over the vectors read from each --index, "
                   "instead of k-NN.")
@click.option("--vectors", type=click.Path(file_okay=False), default=None,
              help="Exact search over a folder from ingest --save-vectors: no cluster and no "
                   "--index needed (one given names the systems); one system per --fields entry.")
@click.option("--fields", default=",".join(VECTOR_FIELDS), show_default=True,
              help="Vector fields to compare: passage_vector (baseline), xqg_vector (xQG).")
@click.option("--run", "run_files", multiple=True,
              help="A TREC run file as a system, NAME=PATH or PATH (repeatable); its top "
                   "--depth per query are evaluated.")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Corpus for passage texts of run-file systems (R@kt).")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, hidden=True,
              help="Old spelling: opensearch is the default (k-NN), exact is --exact.")
@click.option("--depth", type=int, default=100, show_default=True,
              help="Passages retrieved per query.")
@click.option("--baseline", default=None, help="System the others are tested against "
                                               "(default: the first).")
@click.option("--allow-unknown-ids", is_flag=True,
              help="Drop qrels/answers of queries not in --queries instead of failing.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write runs/*.trec, evaluation.json and evaluation.md here.")
@cluster_options
def evaluate(queries: str, qrels: str | None, answers: str | None, eval_config: EvalConfig,
             indexes: tuple[str, ...], exact: bool, vectors: str | None, fields: str,
             run_files: tuple[str, ...], corpus: str | None, backend: str | None, depth: int,
             baseline: str | None, allow_unknown_ids: bool, out: str | None,
             client_config: ClientConfig) -> None:
    """Evaluate systems per query language: standard metrics (ir-measures), R@kt as
    XOR-TyDi defines it, macro averages, and paired significance tests against a baseline.
    Prints a Markdown table."""
    from xqg_os.data.evalfiles import qrels_to_dict, read_answers, read_qrels, read_queries
    from xqg_os.evaluate import write_runs
    from xqg_os.search.runs import evaluate_searchers
    from xqg_os.search.systems import choose_searchers

    if backend is not None:
        click.echo("warning: --backend is deprecated for 'evaluate'; use --exact for exact "
                   "search (k-NN is the default)", err=True)
    query_list = read_queries(queries)
    config = replace(eval_config, baseline=baseline, allow_unknown_ids=allow_unknown_ids)
    systems = choose_searchers(indexes, comma_list(fields), exact or backend == "exact", vectors,
                               run_files, corpus, client_config)
    report, retrieved = evaluate_searchers(
        systems, query_list, depth, qrels=qrels_to_dict(read_qrels(qrels)) if qrels else None,
        answers=read_answers(answers) if answers else None, config=config)
    click.echo(report.to_markdown())
    if out:
        paths = report.write(out)
        write_runs(retrieved.runs, Path(out) / "runs")
        click.echo(f"wrote {', '.join(str(p) for p in paths.values())} and {out}/runs/*.trec")
