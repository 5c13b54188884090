"""``xqg-os ingest``: encode, augment and write a corpus into an xQG k-NN index."""

from __future__ import annotations

import json
from typing import Any

import click

from xqg_os.augment import FORMULAS
from xqg_os.cli.common import XQGCommand, cluster_options, encoder_options
from xqg_os.cli.index import layout_options
from xqg_os.cli.scaleout import ray_options
from xqg_os.data.corpus import CORPUS_FORMATS
from xqg_os.ingest.sources import DEFAULT_GENERATED
from xqg_os.opensearch.index import ENGINES, SPACE_TYPES


@click.command(cls=XQGCommand, renamed={"--queries": "--generated",
                                         "--queries-out": "--generated"})
@click.option("--corpus", required=True, type=click.Path(dir_okay=False),
              help="Passages: JSONL (id,title,text), BEIR corpus.jsonl or TSV (id,text,title).")
@click.option("--corpus-format", type=click.Choice(CORPUS_FORMATS), default="auto",
              show_default=True)
@click.option("--skip-bad-lines", is_flag=True, help="Skip and count malformed corpus lines.")
@click.option("--index", "index_name", required=True, help="Target index (created if missing).")
@click.option("--generated", type=click.Path(file_okay=False), default=None,
              help="Query store (generated queries): the --out folder of `xqg-os generate`, "
                   "read; with --generator-model, missing queries are generated into it "
                   f"[default then: {DEFAULT_GENERATED}]. Without either, passages are indexed "
                   "unaugmented (formula none: xqg_vector = passage_vector).")
@click.option("--generator-model", default=None,
              help="Generate missing queries on the fly with this seq2seq model (name or path; "
                   "e.g. ielabgroup/xor-tydi-docTquery-mt5-base) into --generated.")
@click.option("--languages", default="ar,bn,fi,ja,ko,ru,te", show_default=True,
              help="Languages of generated queries to mix in (ISO 639-1, comma-separated).")
@click.option("--n", type=click.IntRange(0), default=5, show_default=True,
              help="Queries per language to mix in (the first n of the store).")
@click.option("--alpha", type=click.FloatRange(0, 1), default=0.01, show_default=True)
@click.option("--formula", type=click.Choice(FORMULAS), default="sum", show_default=True,
              help="sum (the public code), mean, or none (baseline; the formula of a run "
                   "without generated queries).")
@click.option("--batch-size", type=int, default=256, show_default=True,
              help="Passages per pipeline batch (bounds memory).")
@click.option("--engine", type=click.Choice(ENGINES), default="lucene", show_default=True)
@click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
              show_default=True)
@click.option("--m", type=int, default=16, show_default=True)
@click.option("--ef-construction", type=int, default=128, show_default=True)
@click.option("--recreate", is_flag=True, help="Replace an existing index of that name.")
@click.option("--force-merge", is_flag=True, help="Merge to one segment at the end.")
@click.option("--chunk-size", type=int, default=500, show_default=True,
              help="Documents per bulk request.")
@click.option("--max-chunk-mb", type=int, default=20, show_default=True,
              help="Bytes per bulk request, at most.")
@click.option("--max-retries", type=int, default=8, show_default=True,
              help="Retries of 429-rejected documents, with exponential backoff.")
@click.option("--bulk-refresh-interval", default="-1", show_default=True,
              help="Refresh interval while loading (-1: none; the index's own is restored).")
@click.option("--concurrency", type=click.IntRange(1), default=2, show_default=True,
              help="Bulk requests in flight at once (sent by as many threads, while the next "
                   "batch is encoded).")
@click.option("--shard", default=None, help="i/N: ingest only shard i of N (0-based).")
@click.option("--save-vectors", type=click.Path(file_okay=False), default=None,
              help="Also save ids, texts and vectors here (for `evaluate --vectors`).")
@click.option("--summary-json", type=click.Path(dir_okay=False), default=None,
              help="Also write the summary as JSON here.")
@ray_options
@layout_options
@encoder_options
@cluster_options
def ingest(corpus: str, corpus_format: str, skip_bad_lines: bool, index_name: str,
           generated: str | None, generator_model: str | None,
           languages: str, n: int, alpha: float, formula: str,
           batch_size: int,
           engine: str, space_type: str, m: int, ef_construction: int, recreate: bool,
           force_merge: bool, chunk_size: int, max_chunk_mb: int, max_retries: int,
           bulk_refresh_interval: str, concurrency: int, shard: str | None,
           save_vectors: str | None, summary_json: str | None, layout: dict[str, Any],
           encoder_config: Any, client_config: Any, ray_options: Any) -> None:
    """Write CORPUS into an xQG index: per passage the augmented p' as xqg_vector (and E(p) as
    passage_vector with --vector-fields both), with text, title, lang and the generated queries.

    Rerunning the same command resumes: passages already in the index are skipped, ids are
    passage ids, so nothing is written twice."""
    from tqdm import tqdm

    from xqg_os.encode import load_encoder
    from xqg_os.generate.factory import GeneratorSpec
    from xqg_os.ingest.config import IngestConfig
    from xqg_os.ingest.pipeline import ingest as run_ingest
    from xqg_os.ingest.sources import open_query_source
    from xqg_os.languages import parse_languages
    from xqg_os.opensearch.bulk import BulkConfig
    from xqg_os.opensearch.client import make_client
    from xqg_os.shard import parse_shard

    langs = tuple(parse_languages(languages))
    config = IngestConfig(
        corpus=corpus, index=index_name, languages=langs, n=n, alpha=alpha, formula=formula,
        corpus_format=corpus_format, skip_bad_lines=skip_bad_lines, batch_size=batch_size,
        recreate=recreate, engine=engine, space_type=space_type, m=m,
        ef_construction=ef_construction, shard=parse_shard(shard), **layout,
        bulk=BulkConfig(chunk_size=chunk_size, max_chunk_bytes=max_chunk_mb * 1024 * 1024,
                        max_retries=max_retries, force_merge=force_merge,
                        bulk_refresh_interval=bulk_refresh_interval,
                        concurrency=concurrency))
    generator = (GeneratorSpec(kind="seq2seq", model=generator_model,
                               device=encoder_config.device) if generator_model else None)
    if ray_options is not None:
        from xqg_os.ingest.ray import ingest_ray

        if save_vectors:
            raise click.UsageError("--save-vectors is not available with --ray")
        summary = ingest_ray(client_config, config, encoder_config, generated, generator,
                             ray_options)
    else:
        client = make_client(client_config)
        with open_query_source(generated, langs, n, generator) as source:
            model = load_encoder(encoder_config)
            with tqdm(unit="doc", desc="ingest", dynamic_ncols=True) as bar:
                summary = run_ingest(client, config, model, source, progress=bar,
                                     save_vectors=save_vectors)
    data = summary.as_dict()
    for notice in summary.notices:
        click.echo(f"notice: {notice}")
    rate = summary.written / summary.seconds if summary.seconds else 0.0
    click.echo(f"ingested into {index_name}: {summary.written} written, "
               f"{summary.already_indexed} already indexed, {summary.skipped_empty} empty "
               f"skipped, {summary.bad_lines} bad lines skipped, {len(summary.failed)} failed, "
               f"{summary.no_queries} without queries; {summary.seconds:.1f}s ({rate:.1f} docs/s)")
    click.echo("time per stage (s): " + ", ".join(f"{k} {v:.2f}"
                                                  for k, v in summary.stages.items()))
    for doc_id, reason in summary.failed[:20]:
        click.echo(f"failed: {doc_id}: {reason}", err=True)
    if summary_json:
        with open(summary_json, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
    if summary.failed:
        click.echo(f"{len(summary.failed)} documents were not written: rerun the same command "
                   "to write them (what is indexed is kept)", err=True)
        raise SystemExit(2)
