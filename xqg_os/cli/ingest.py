"""``xqg-os ingest``: encode, augment and write a corpus into an xQG k-NN index."""

from __future__ import annotations

from typing import Any

import click

from xqg_os.augment import FORMULAS
from xqg_os.cli.common import (
    XQGCommand,
    cluster_options,
    comma_list,
    encoder_options,
    write_summary,
)
from xqg_os.cli.index import layout_options
from xqg_os.cli.params import OutputPath, finite_float
from xqg_os.cli.scaleout import ray_options
from xqg_os.data.corpus import CORPUS_FORMATS
from xqg_os.ingest.sources import DEFAULT_GENERATED
from xqg_os.opensearch.index import ENGINES, SPACE_TYPES


@click.command(cls=XQGCommand, renamed={"--queries": "--generated",
                                         "--queries-out": "--generated"})
@click.option("--corpus", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Passages: JSONL (id,title,text), BEIR corpus.jsonl or TSV (id,text,title). "
                   "With --into-existing, --text-fields can take its place.")
@click.option("--corpus-format", type=click.Choice(CORPUS_FORMATS), default="auto",
              show_default=True)
@click.option("--skip-bad-lines", is_flag=True, help="Skip and count malformed corpus lines.")
@click.option("--index", "index_name", default=None,
              help="Target index (created if missing); with --alias the new index [default: "
                   "ALIAS-<UTC time>, or the unfinished one of an earlier run]; with "
                   "--into-existing the application's index.")
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
@click.option("--alpha", type=finite_float(0, 1), default=0.01, show_default=True)
@click.option("--formula", type=click.Choice(FORMULAS), default="sum", show_default=True,
              help="sum (the public code), mean, or none (baseline; the formula of a run "
                   "without generated queries).")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True,
              help="Passages per pipeline batch (bounds memory).")
@click.option("--engine", type=click.Choice(ENGINES), default="lucene", show_default=True)
@click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
              show_default=True)
@click.option("--m", type=click.IntRange(2), default=16, show_default=True)
@click.option("--ef-construction", type=click.IntRange(1), default=128, show_default=True)
@click.option("--recreate", is_flag=True, help="Replace an existing index of that name.")
@click.option("--force-merge", is_flag=True, help="Merge to one segment at the end.")
@click.option("--chunk-size", type=click.IntRange(1), default=500, show_default=True,
              help="Documents per bulk request.")
@click.option("--max-chunk-mb", type=click.IntRange(1), default=20, show_default=True,
              help="Bytes per bulk request, at most.")
@click.option("--max-retries", type=click.IntRange(0), default=8, show_default=True,
              help="Retries of 429-rejected documents, with exponential backoff.")
@click.option("--bulk-refresh-interval", default="-1", show_default=True,
              help="Refresh interval while loading (-1: none; the index's own is restored).")
@click.option("--concurrency", type=click.IntRange(1), default=2, show_default=True,
              help="Bulk requests in flight at once (sent by as many threads, while the next "
                   "batch is encoded).")
@click.option("--shard", default=None, help="i/N: ingest only shard i of N (0-based).")
@click.option("--save-vectors", type=OutputPath(folder=True), default=None,
              help="Also save ids, texts and vectors here (for `evaluate --vectors`): the whole "
                   "index, documents indexed before this run read back from it.")
@click.option("--summary-json", type=OutputPath(folder=False), default=None,
              help="Also write the summary as JSON here.")
@click.option("--passage-vectors", type=click.Path(exists=True), default=None,
              help="Passage vectors computed elsewhere, used instead of encoding the passages: "
                   "a .npy [passages, dimension] float32/float16 matrix (with "
                   "--passage-vector-ids) or a --save-vectors folder. --encoder names the "
                   "encoder that made them (loaded only to encode generated queries).")
@click.option("--passage-vector-ids", type=click.Path(exists=True, dir_okay=False),
              default=None, help="The passage ids of the .npy rows, one a line (text or JSONL).")
@click.option("--alias", default=None,
              help="Zero-downtime rebuild: ingest into a new index, then move this alias to it "
                   "in one atomic step once every passage is in (a failed run never moves it; "
                   "rerun to resume).")
@click.option("--delete-old", is_flag=True,
              help="With --alias: delete the indexes the alias pointed to (kept by default).")
@click.option("--into-existing", is_flag=True,
              help="Add the vector fields to the application's existing --index (created with "
                   "index.knn: true) and write them by partial updates of the documents whose "
                   "ids are the passage ids; its own fields stay, missing ids are reported.")
@click.option("--text-fields", default=None,
              help="With --into-existing instead of --corpus: read the passages from the "
                   "index itself, from these text/keyword fields (comma-separated; the first "
                   "is the title, the others the text, e.g. headline,body) of the documents "
                   "that lack the vector.")
@ray_options
@layout_options
@encoder_options
@cluster_options
def ingest(corpus: str | None, corpus_format: str, skip_bad_lines: bool, index_name: str,
           generated: str | None, generator_model: str | None,
           languages: str, n: int, alpha: float, formula: str,
           batch_size: int,
           engine: str, space_type: str, m: int, ef_construction: int, recreate: bool,
           force_merge: bool, chunk_size: int, max_chunk_mb: int, max_retries: int,
           bulk_refresh_interval: str, concurrency: int, shard: str | None,
           save_vectors: str | None, summary_json: str | None, passage_vectors: str | None,
           passage_vector_ids: str | None, alias: str | None, delete_old: bool,
           into_existing: bool, text_fields: str | None, layout: dict[str, Any],
           encoder_config: Any, client_config: Any, ray_options: Any) -> None:
    """Write the passages of --corpus into an xQG index: per passage the augmented p' as
    xqg_vector (and E(p) as passage_vector with --vector-fields both), with text, title, lang
    and the generated queries; with --into-existing, into the application's own documents,
    their text read from its --text-fields (or given by --corpus).

    Rerunning the same command resumes: passages already in the index are skipped, ids are
    passage ids, so nothing is written twice."""
    from tqdm import tqdm

    from xqg_os.encode import load_encoder
    from xqg_os.errors import InputError
    from xqg_os.generate.factory import GeneratorSpec
    from xqg_os.ingest.config import IngestConfig
    from xqg_os.ingest.pipeline import ingest as run_ingest
    from xqg_os.ingest.sources import open_query_source
    from xqg_os.languages import parse_languages
    from xqg_os.opensearch.bulk import BulkConfig
    from xqg_os.opensearch.client import make_client
    from xqg_os.shard import parse_shard

    if not (index_name or alias):
        raise click.UsageError("give --index (or --alias for a rebuild)")
    if delete_old and not alias or into_existing and (alias or save_vectors):
        raise click.UsageError("--delete-old goes with --alias; --into-existing with neither "
                               "--alias nor --save-vectors")
    if text_fields and not into_existing:
        raise InputError("text_fields reads the passages from the application's index: it "
                         "goes with into_existing", param=("text_fields", "into_existing"))
    langs = tuple(parse_languages(languages))
    config = IngestConfig(
        corpus=corpus or "", text_fields=tuple(comma_list(text_fields)),
        index=index_name or str(alias), languages=langs, n=n, alpha=alpha,
        formula=formula,
        corpus_format=corpus_format, skip_bad_lines=skip_bad_lines, batch_size=batch_size,
        recreate=recreate, engine=engine, space_type=space_type, m=m,
        ef_construction=ef_construction, shard=parse_shard(shard), **layout,
        bulk=BulkConfig(chunk_size=chunk_size, max_chunk_bytes=max_chunk_mb * 1024 * 1024,
                        max_retries=max_retries, force_merge=force_merge,
                        bulk_refresh_interval=bulk_refresh_interval,
                        concurrency=concurrency,
                        request_timeout=max(120.0, 2 * client_config.timeout)))
    generator = (GeneratorSpec(kind="seq2seq", model=generator_model,
                               device=encoder_config.device) if generator_model else None)
    if ray_options is not None:
        from xqg_os.ingest.ray import ingest_ray

        if save_vectors or passage_vectors or alias or into_existing:
            raise click.UsageError("--save-vectors, --passage-vectors, --alias and "
                                   "--into-existing are not available with --ray")
        summary = ingest_ray(client_config, config, encoder_config, generated, generator,
                             ray_options)
    else:
        client = make_client(client_config)
        with open_query_source(generated, langs, n, generator) as source:
            vectors = None
            if passage_vectors:
                from xqg_os.ingest.declared import encoder_for_vectors
                from xqg_os.ingest.vectorsource import open_passage_vectors

                with tqdm(unit="row", desc="check vectors", dynamic_ncols=True) as bar:
                    vectors = open_passage_vectors(passage_vectors, passage_vector_ids, bar)
                model = encoder_for_vectors(encoder_config, vectors, source.has_queries)
            else:
                model = load_encoder(encoder_config)
            with tqdm(unit="doc", desc="ingest", dynamic_ncols=True) as bar:
                if alias:
                    from xqg_os.ingest.rebuild import rebuild

                    summary = rebuild(client, config, model, source, alias=alias,
                                      index=index_name, delete_old=delete_old, progress=bar,
                                      save_vectors=save_vectors, passage_vectors=vectors)
                elif into_existing:
                    from xqg_os.ingest.existing import ingest_into_existing

                    summary = ingest_into_existing(client, config, model, source, progress=bar,
                                                   passage_vectors=vectors)
                else:
                    summary = run_ingest(client, config, model, source, progress=bar,
                                         save_vectors=save_vectors, passage_vectors=vectors)
    data = summary.as_dict()
    for notice in summary.notices:
        click.echo(f"notice: {notice}")
    rate = summary.written / summary.seconds if summary.seconds else 0.0
    click.echo(f"ingested into {index_name or alias}: {summary.written} written, "
               f"{summary.already_indexed} already indexed, {summary.skipped_empty} empty "
               f"skipped, {summary.bad_lines} bad lines skipped, {len(summary.failed)} failed, "
               f"{summary.no_queries} without queries; {summary.seconds:.1f}s ({rate:.1f} docs/s)")
    if summary.missing_languages:
        click.echo("warning: passages mixed without queries in a requested language (the query "
                   "store has none for them): " + ", ".join(
                       f"{lang} {count}" for lang, count in summary.missing_languages.items()),
                   err=True)
    if save_vectors:
        click.echo(f"saved vectors in {save_vectors}, {summary.exported} of them read back from "
                   "the index (indexed before this run)")
    click.echo("time per stage (s): " + ", ".join(f"{k} {v:.2f}"
                                                  for k, v in summary.stages.items()))
    for doc_id, reason in summary.failed[:20]:
        click.echo(f"failed: {doc_id}: {reason}", err=True)
    if summary_json:
        write_summary(summary_json, data)
    if summary.failed:
        click.echo(f"{len(summary.failed)} documents were not written: rerun the same command "
                   "to write them (what is indexed is kept)", err=True)
        raise SystemExit(2)
