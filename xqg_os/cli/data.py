"""``xqg-os data``: evaluation data built from what is installed; a thin shell over
:mod:`xqg_os.data.manpages`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from xqg_os.cli.common import XQGGroup
from xqg_os.cli.params import OutputPath, finite_float


@click.group(cls=XQGGroup)
def data() -> None:
    """Build evaluation data: corpus, queries, qrels and training pairs."""


@data.command()
@click.option("--languages", default="de,fr,es,pt", show_default=True,
              help="Query languages, comma-separated (each needs apt-get install manpages-XX).")
@click.option("--out", required=True, type=OutputPath(folder=True, path_type=Path),
              help="Folder for corpus.jsonl, queries.jsonl, qrels.txt, train_pairs.jsonl, "
                   "counts.json.")
@click.option("--corpus-size", type=click.IntRange(1), default=None,
              help="Passages in the corpus: the test pages plus seeded distractors [default: "
                   "every English page not used for training].")
@click.option("--test-fraction", type=finite_float(0, 1, min_open=True), default=0.5,
              show_default=True,
              help="Share of the translated pages held out for evaluation.")
@click.option("--max-test-pages", type=click.IntRange(1), default=None,
              help="Cap on the test pages.")
@click.option("--passage-words", type=click.IntRange(1), default=100, show_default=True,
              help="Words per passage (NAME line + start of DESCRIPTION).")
@click.option("--man-root", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/usr/share/man"), show_default=True,
              help="The manual folder (English pages in man*/, translations in <lang>/man*/).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="The test/training split and the distractor sample.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def manpages(languages: str, out: Path, corpus_size: int | None, test_fraction: float,
             max_test_pages: int | None, passage_words: int, man_root: Path, seed: int,
             as_json: bool) -> None:
    """A cross-lingual retrieval benchmark from Debian's translated manual pages: English
    pages are the passages, translated NAME descriptions the queries."""
    from xqg_os.data.manpages import ManBenchConfig, build_manpages
    from xqg_os.languages import parse_languages

    config = ManBenchConfig(languages=tuple(parse_languages(languages)), man_root=man_root,
                            test_fraction=test_fraction, corpus_size=corpus_size,
                            max_test_pages=max_test_pages, passage_words=passage_words,
                            seed=seed)
    summary = build_manpages(config, out)
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        for line in summary.lines():
            click.echo(line)
