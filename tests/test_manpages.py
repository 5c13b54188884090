"""The man-page benchmark: roff to text, NAME lines, and the benchmark built from the small
page tree in tests/data/manpages (written for these tests, in man(7) and mdoc(7) syntax)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.data.manpages import ManBenchConfig, build_manpages, split_name_line
from xqg_os.data.roff import parse_sections, unescape
from xqg_os.errors import InputError

ROOT = Path(__file__).resolve().parent / "data" / "manpages"


def _lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_unescape_fonts_dashes_and_special_characters() -> None:
    assert unescape(r"\fBls\fR \- list \(em \*(lqx\*(rq") == 'ls - list — "x"'
    assert unescape(r"\(:Andern \[u00E9]t\('e a\&b \e \s-1S\s0") == "Ändern été ab \\ S"
    assert unescape(r'text \" a comment') == "text "


def test_sections_of_a_man_page_and_of_an_mdoc_page() -> None:
    sections = parse_sections((ROOT / "man1" / "cp.1").read_text(encoding="utf-8"))
    assert [s.heading for s in sections] == ["NAME", "SYNOPSIS", "DESCRIPTION"]
    assert sections[0].text == "cp - copy files and directories"
    assert sections[1].text == "cp [OPTION]... [FILE]..."
    mdoc = parse_sections((ROOT / "man1" / "nc.1").read_text(encoding="utf-8"))
    assert mdoc[0].text == "nc - arbitrary TCP and UDP connections and listens"
    assert mdoc[2].text.startswith("The nc utility is used")


def test_name_lines() -> None:
    assert split_name_line("ls, dir - list directory contents.") == ("ls, dir",
                                                                      "list directory contents")
    assert split_name_line("no dash here") is None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("bench")
    summary = build_manpages(ManBenchConfig(languages=("de", "fr"), man_root=ROOT,
                                            corpus_size=10, seed=3), out)
    return out, summary.to_json()


def test_counts_per_language(built: tuple[Path, dict[str, object]]) -> None:
    _, counts = built
    languages = counts["languages"]
    assert isinstance(languages, dict)
    # de: 10 pages, wc.1 left untranslated; dir.1 is a .so stub of ls.1 (counted, deduplicated)
    assert languages["de"]["translated_pages"] == 10 and languages["de"]["untranslated"] == 1
    assert languages["fr"]["unmatched"] == 1  # nosuch.1 has no English page
    assert counts["english_pages"] == 15 and counts["passages"] == 10
    # every distinct page with a translation is a test query or a training pair, not both
    for lang, pages in (("de", 9), ("fr", 8)):
        assert languages[lang]["test_queries"] + languages[lang]["train_pairs"] == pages


def test_files_split_and_qrels(built: tuple[Path, dict[str, object]]) -> None:
    out, _ = built
    corpus = {p["id"]: p for p in _lines(out / "corpus.jsonl")}
    queries = _lines(out / "queries.jsonl")
    pairs = _lines(out / "train_pairs.jsonl")
    assert len(corpus) == 10 and "dir.1" not in corpus  # stubs are not passages
    assert all(p["title"] == p["id"][:-2] + "(1)" for p in corpus.values())
    test_pages = {q["id"].split(":", 1)[1] for q in queries}
    train_pages = {p["id"] for p in pairs}
    assert test_pages and train_pages and not test_pages & train_pages
    assert test_pages <= set(corpus)
    qrels = (out / "qrels.txt").read_text().split("\n")
    assert len([line for line in qrels if line]) == len(queries)
    for query in queries:
        assert query["lang"] in ("de", "fr") and " - " not in query["text"]


def test_same_seed_same_benchmark(tmp_path: Path,
                                  built: tuple[Path, dict[str, object]]) -> None:
    out, _ = built
    build_manpages(ManBenchConfig(languages=("de", "fr"), man_root=ROOT, corpus_size=10,
                                  seed=3), tmp_path)
    for name in ("corpus.jsonl", "queries.jsonl", "train_pairs.jsonl", "qrels.txt"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="apt-get install manpages-pl"):
        build_manpages(ManBenchConfig(languages=("pl",), man_root=ROOT), tmp_path)
    with pytest.raises(InputError, match="smaller than the"):
        build_manpages(ManBenchConfig(languages=("de",), man_root=ROOT, corpus_size=1),
                       tmp_path)
    with pytest.raises(InputError, match="test_fraction"):
        ManBenchConfig(languages=("de",), test_fraction=0.0)


def test_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["data", "manpages", "--languages", "de", "--out",
                                       str(tmp_path), "--man-root", str(ROOT), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["languages"]["de"]["translated_pages"] == 10
    bad = CliRunner().invoke(main, ["data", "manpages", "--languages", "de", "--out",
                                    str(tmp_path), "--man-root", str(ROOT),
                                    "--corpus-size", "1"])
    assert bad.exit_code == 1 and "--corpus-size" in bad.output
