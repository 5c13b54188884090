"""``xqg-os evaluate``: per-language metrics and R@kt for several systems side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xqg_os.cli.common import cluster_options, comma_list, int_list
from xqg_os.opensearch.index import VECTOR_FIELDS
from xqg_os.search.runs import BACKENDS


def _run_files(specs: tuple[str, ...]) -> dict[str, dict[str, dict[str, float]]]:
    from xqg_os.data.evalfiles import read_run
    from xqg_os.errors import InputError

    runs = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem, spec
        if not Path(path).exists():
            raise InputError(f"run file not found: {path}")
        runs[name] = read_run(path)
    return runs


@click.command()
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Queries: JSONL (id, text, lang) or TSV (id, text, lang).")
@click.option("--qrels", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TREC qrels, for nDCG / recall / MRR.")
@click.option("--answers", type=click.Path(exists=True, dir_okay=False), default=None,
              help="XOR-TyDi-style answers JSONL, for R@kt.")
@click.option("--index", "indexes", multiple=True,
              help="An xQG index to retrieve from (repeatable); one system per --fields entry.")
@click.option("--fields", default=",".join(VECTOR_FIELDS), show_default=True,
              help="Vector fields to compare: passage_vector (baseline), xqg_vector (xQG).")
@click.option("--run", "run_files", multiple=True,
              help="A TREC run file as a system, NAME=PATH or PATH (repeatable).")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Corpus for passage texts of run-file systems (R@kt).")
@click.option("--backend", type=click.Choice(BACKENDS), default="opensearch",
              show_default=True, help="k-NN on OpenSearch, or exact brute force.")
@click.option("--vectors", type=click.Path(file_okay=False), default=None,
              help="For --backend exact without a cluster: a folder from ingest --save-vectors.")
@click.option("--depth", type=int, default=100, show_default=True,
              help="Passages retrieved per query.")
@click.option("--metrics", default="nDCG@10,R@100,MRR@10", show_default=True,
              help="ir-measures names, comma-separated.")
@click.option("--kt", default="2000,5000", show_default=True,
              help="R@kt token budgets, comma-separated.")
@click.option("--baseline", default=None, help="System the others are tested against "
                                               "(default: the first).")
@click.option("--test", type=click.Choice(["t", "permutation"]), default="t", show_default=True,
              help="Paired t-test or permutation test.")
@click.option("--correction", type=click.Choice(["holm", "bonferroni", "none"]),
              default="holm", show_default=True)
@click.option("--alpha", "significance", type=float, default=0.05, show_default=True,
              help="Significance level.")
@click.option("--allow-unknown-ids", is_flag=True,
              help="Drop qrels/answers of queries not in --queries instead of failing.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write runs/*.trec, evaluation.json and evaluation.md here.")
@cluster_options
def evaluate(queries: str, qrels: str | None, answers: str | None, indexes: tuple[str, ...],
             fields: str, run_files: tuple[str, ...], corpus: str | None, backend: str,
             vectors: str | None, depth: int, metrics: str, kt: str, baseline: str | None,
             test: str, correction: str, significance: float, allow_unknown_ids: bool,
             out: str | None, client_config: Any) -> None:
    """Evaluate systems per query language: standard metrics (ir-measures), R@kt as
    XOR-TyDi defines it, macro averages, and paired significance tests against a baseline.
    Prints a Markdown table."""
    from xqg_os.data.evalfiles import qrels_to_dict, read_answers, read_qrels, read_queries
    from xqg_os.errors import InputError
    from xqg_os.evaluate import EvalConfig, evaluate_runs, write_runs
    from xqg_os.search.runs import Retrieved, retrieve

    if not indexes and not run_files:
        raise InputError("give at least one system: --index NAME or --run FILE")
    field_list = comma_list(fields)
    unknown = [f for f in field_list if f not in VECTOR_FIELDS]
    if unknown:
        raise InputError(f"unknown field(s) {unknown}; use {', '.join(VECTOR_FIELDS)}")
    query_list = read_queries(queries)
    config = EvalConfig(metrics=tuple(comma_list(metrics)), kt=int_list(kt, "--kt"),
                        baseline=baseline, test=test, correction=correction,
                        alpha=significance, allow_unknown_ids=allow_unknown_ids)
    retrieved = Retrieved()
    client = None
    if indexes and not (backend == "exact" and vectors):
        from xqg_os.opensearch.client import make_client

        client = make_client(client_config)
    for name in indexes:
        retrieve(query_list, name, field_list, depth, backend=backend, client=client,
                 vectors=vectors, out=retrieved)
    retrieved.runs.update(_run_files(run_files))
    if corpus:
        from xqg_os.data.corpus import read_corpus

        retrieved.texts.update({p.id: p.text for p in read_corpus(corpus)})
    report = evaluate_runs(retrieved.runs, query_list,
                           qrels=qrels_to_dict(read_qrels(qrels)) if qrels else None,
                           answers=read_answers(answers) if answers else None,
                           passages_text=retrieved.texts if answers else None, config=config)
    click.echo(report.to_markdown())
    if out:
        paths = report.write(out)
        write_runs(retrieved.runs, Path(out) / "runs")
        click.echo(f"wrote {', '.join(str(p) for p in paths.values())} and {out}/runs/*.trec")
