"""``xqg-os evaluate``: per-language metrics and R@kt for several systems side by side."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from xqg_os.cli.common import XQGCommand, cluster_options, comma_list, evaluation_options
from xqg_os.cli.params import OutputPath
from xqg_os.opensearch.index import VECTOR_FIELDS
from xqg_os.opensearch.knn import EF_SEARCH_FLOOR, EF_SEARCH_MULTIPLE

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
@click.option("--fields", default=None,
              help="Vector fields to compare, comma-separated: passage_vector (baseline), "
                   f"xqg_vector (xQG) [default: those the index holds, of "
                   f"{','.join(VECTOR_FIELDS)}].")
@click.option("--run", "run_files", multiple=True,
              help="A TREC run file as a system, NAME=PATH or PATH (repeatable); its top "
                   "--depth per query are evaluated.")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Corpus for passage texts of run-file systems (R@kt).")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, hidden=True,
              help="Old spelling: opensearch is the default (k-NN), exact is --exact.")
@click.option("--depth", type=click.IntRange(1), default=100, show_default=True,
              help="Passages retrieved per query.")
@click.option("--ef-search", type=click.IntRange(1), default=None,
              help="k-NN candidate list size (HNSW) [default: "
                   f"{EF_SEARCH_MULTIPLE} x --depth, at least {EF_SEARCH_FLOOR}].")
@click.option("--hybrid", multiple=True, metavar="FUSION",
              help="Also evaluate BM25 fused with each k-NN system (repeatable): rrf, min_max "
                   "or l2, optionally :WEIGHT, the BM25 weight in [0, 1] (min_max:0.3).")
@click.option("--recall-sample", type=click.IntRange(0), default=100, show_default=True,
              help="Queries on which k-NN recall@depth against exact search is measured "
                   "and reported (0: none).")
@click.option("--baseline", default=None, help="System the others are tested against "
                                               "(default: the first).")
@click.option("--kt-missing", type=click.Choice(["skip", "zero"]), default="skip",
              show_default=True,
              help="R@kt of a question a system's run lacks: skip (not counted, as XOR-TyDi's "
                   "eval_xor_retrieve.py) or zero (a miss); the counts are reported either way.")
@click.option("--allow-unknown-ids", is_flag=True,
              help="Drop qrels/answers of queries not in --queries instead of failing.")
@click.option("--out", type=OutputPath(folder=True), default=None,
              help="Write runs/*.trec, evaluation.json and evaluation.md here.")
@cluster_options
def evaluate(queries: str, qrels: str | None, answers: str | None, eval_config: EvalConfig,
             indexes: tuple[str, ...], exact: bool, vectors: str | None, fields: str,
             run_files: tuple[str, ...], corpus: str | None, backend: str | None, depth: int,
             ef_search: int | None, hybrid: tuple[str, ...], recall_sample: int,
             baseline: str | None,
             kt_missing: str, allow_unknown_ids: bool, out: str | None,
             client_config: ClientConfig) -> None:
    """Evaluate systems per query language: standard metrics (ir-measures), R@kt as
    XOR-TyDi defines it, macro averages, and paired significance tests against a baseline.
    Prints a Markdown table."""
    from xqg_os.data.evalfiles import qrels_to_dict, read_answers, read_qrels, read_queries
    from xqg_os.evaluate import write_runs
    from xqg_os.search.recall import ann_recall, describe
    from xqg_os.search.runs import evaluate_searchers
    from xqg_os.search.systems import choose_searchers, judged_absent_warnings

    if backend is not None:
        click.echo("warning: --backend is deprecated for 'evaluate'; use --exact for exact "
                   "search (k-NN is the default)", err=True)
    query_list = read_queries(queries)
    config = replace(eval_config, baseline=baseline, allow_unknown_ids=allow_unknown_ids,
                     kt_missing=kt_missing)
    notices: list[str] = []
    systems = choose_searchers(indexes, comma_list(fields) or None, exact or backend == "exact",
                               vectors, run_files, corpus, client_config, ef_search, hybrid,
                               notices)
    if vectors and not (exact or backend == "exact"):  # said once the folder proved readable
        notices.insert(0, "--vectors is searched exactly, as with --exact (no k-NN)"
                       + ("; --index only names its systems" if indexes else ""))
    for notice in notices:
        click.echo(f"note: {notice}", err=True)
    judged = qrels_to_dict(read_qrels(qrels)) if qrels else None
    report, retrieved = evaluate_searchers(
        systems, query_list, depth, qrels=judged,
        answers=read_answers(answers) if answers else None, config=config, progress=True)
    if judged is not None:
        report.warnings.extend(judged_absent_warnings(systems, judged,
                                                      [query.id for query in query_list]))
    click.echo(report.to_markdown())
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if kt_missing == "skip" and any(report.kt_missing.values()):
        click.echo("note: R@kt leaves out questions a run lacks (XOR-TyDi's definition; counts "
                   "above); --kt-missing zero counts them as misses", err=True)
    checks = ann_recall(systems, query_list, depth, sample=recall_sample)
    for line in describe(checks):
        click.echo(line)
    if out:
        paths = report.write(out)
        write_runs(retrieved.runs, Path(out) / "runs")
        extra = ""
        if checks:
            recall_path = Path(out) / "ann_recall.json"
            recall_path.write_text(json.dumps([c.as_dict() for c in checks], indent=2),
                                   encoding="utf-8")
            extra = f", {recall_path}"
        click.echo(f"wrote {', '.join(str(p) for p in paths.values())}{extra} and "
                   f"{out}/runs/*.trec")
