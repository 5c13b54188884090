"""Every text input read the same way: bytes that are not UTF-8 give one line naming file and
line (skipped and counted with skip_bad_lines / --skip-bad-lines), gzip files are read
transparently, a broken gzip stream is one clear error."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.data.corpus import CorpusStats, read_corpus, scan_corpus
from xqg_os.data.evalfiles import read_answers, read_qrels, read_queries, read_run
from xqg_os.data.jsonl import read_jsonl, read_lines
from xqg_os.errors import InputError

CORPUS_JSONL = (b'{"id": "a", "text": "alpha"}\n{"id": "b", "text": "caf\xe9"}\n'
                b'{"id": "c", "text": "gamma"}\n')
CORPUS_TSV = b"id\ttext\ttitle\na\talpha\tA\nb\tcaf\xe9\tB\nc\tgamma\tC\n"


def _write(path: Path, data: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("name, data", [("c.jsonl", CORPUS_JSONL), ("c.tsv", CORPUS_TSV)])
def test_corpus_bytes_that_are_not_utf8(tmp_path: Path, name: str, data: bytes) -> None:
    path = _write(tmp_path / name, data)
    with pytest.raises(InputError, match=rf"{name}:\d: malformed line \(not UTF-8 text\); fix it "
                                         r"or pass skip_bad_lines$") as caught:
        list(read_corpus(path))
    assert caught.value.param == "skip_bad_lines"
    stats = scan_corpus(path, skip_bad_lines=True)
    assert stats.passages == 2 and len(stats.bad_lines) == 1
    assert [p.id for p in read_corpus(path, skip_bad_lines=True)] == ["a", "c"]


@pytest.mark.parametrize("name, data", [("c.jsonl.gz", CORPUS_JSONL), ("c.tsv.gz", CORPUS_TSV),
                                        ("c.jsonl", CORPUS_JSONL)])
def test_gzip_corpora_are_read_transparently(tmp_path: Path, name: str, data: bytes) -> None:
    fixed = data.replace(b"caf\xe9", "café".encode())
    path = _write(tmp_path / name, fixed, compress=True)  # "c.jsonl": gzip under a plain name
    passages = list(read_corpus(path))
    assert [(p.id, p.text) for p in passages] == [("a", "alpha"), ("b", "café"), ("c", "gamma")]
    if name.startswith("c.tsv"):
        assert passages[0].title == "A"
    bad = _write(tmp_path / ("bad-" + name), data, compress=True)
    stats = CorpusStats()
    assert [p.id for p in read_corpus(bad, skip_bad_lines=True, stats=stats)] == ["a", "c"]
    assert stats.bad_lines == [3 if "tsv" in name else 2]


def test_evaluation_files_read_through_gzip(tmp_path: Path) -> None:
    queries = _write(tmp_path / "q.jsonl.gz", b'{"id": "q1", "text": "Wer?", "lang": "de"}\n',
                     compress=True)
    assert [q.id for q in read_queries(queries)] == ["q1"]
    tsv = _write(tmp_path / "q.tsv.gz", b"q1\tWer?\tde\n", compress=True)
    assert [q.lang for q in read_queries(tsv)] == ["de"]
    qrels = _write(tmp_path / "qrels.txt.gz", b"q1 0 d1 1\n", compress=True)
    assert [(r.query_id, r.doc_id) for r in read_qrels(qrels)] == [("q1", "d1")]
    answers = _write(tmp_path / "a.jsonl.gz", b'{"id": "q1", "answers": ["x"]}\n', compress=True)
    assert read_answers(answers)[0].answers == ("x",)
    run = _write(tmp_path / "r.trec.gz", b"q1 Q0 d1 1 0.5 t\n", compress=True)
    assert read_run(run) == {"q1": {"d1": 0.5}}


@pytest.mark.parametrize("reader, name, data", [
    (read_queries, "q.jsonl", b'{"id": "q1", "text": "a", "lang": "en"}\n'
                              b'{"id": "q2", "text": "\xff", "lang": "en"}\n'),
    (read_queries, "q.tsv", b"q1\ta\ten\nq2\t\xff\ten\n"),
    (read_answers, "a.jsonl",
     b'{"id": "q1", "answers": ["x"]}\n{"id": "q2", "answers": ["\xff"]}\n'),
    (read_qrels, "qrels.txt", b"q1 0 d1 1\nq2 0 d\xff 1\n"),
    (read_run, "r.trec", b"q1 Q0 d1 1 0.5 t\nq1 Q0 d\xff 2 0.4 t\n"),
])
def test_evaluation_files_name_the_line_that_is_not_utf8(tmp_path: Path, reader: object,
                                                         name: str, data: bytes) -> None:
    path = _write(tmp_path / name, data)
    with pytest.raises(InputError, match=rf"{name}:2: malformed line \(not UTF-8 text\)$"):
        reader(path)  # type: ignore[operator]


def test_broken_gzip_is_one_clear_error(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(b'{"id": "%d"}\n' % i for i in range(2000)))
    path = _write(tmp_path / "cut.jsonl.gz", whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"cut\.jsonl\.gz:\d+: cannot decompress \(.*\); is it "
                                         r"a complete gzip file\?$"):
        list(read_jsonl(path, "corpus"))
    fake = _write(tmp_path / "fake.gz", b"\x1f\x8bnot really")
    with pytest.raises(InputError, match=r"fake\.gz:1: cannot decompress"):
        list(read_lines(fake, "queries"))


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.jsonl", b'\xef\xbb\xbf{"id": "a", "text": "x"}\n')
    assert [p.id for p in read_corpus(path)] == ["a"]
    assert list(read_lines(_write(tmp_path / "bom.txt", b"\xef\xbb\xbfq1 0 d 1\n"), "qrels")) == [
        (1, "q1 0 d 1")]


def test_commands_give_one_line_and_count_skipped_lines(tmp_path: Path) -> None:
    corpus = _write(tmp_path / "corpus.tsv", CORPUS_TSV)
    base = ["generate", "--corpus", str(corpus), "--generator", "precomputed",
            "--precomputed", str(_write(tmp_path / "pre.jsonl", b'{"id": "a", "lang": "ja", '
                                        b'"queries": ["q"]}\n')),
            "--languages", "ja", "--n", "1", "--quiet"]
    strict = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "o1")])
    assert strict.exit_code == 1
    assert strict.output.strip().splitlines() == [
        f"error: {corpus}:3: malformed line (not UTF-8 text); fix it or pass --skip-bad-lines"]
    skipping = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "o2"), "--skip-bad-lines"])
    assert skipping.exit_code == 0, skipping.output
    assert "skipped 1 malformed lines (3)" in skipping.output

    queries = _write(tmp_path / "q.jsonl", b'{"id": "q1", "text": "\xff", "lang": "ja"}\n')
    result = CliRunner().invoke(main, ["evaluate", "--queries", str(queries), "--run",
                                       str(tmp_path / "none.trec")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        f"error: {queries}:1: malformed line (not UTF-8 text)"]
    good = _write(tmp_path / "good.jsonl", json.dumps({"id": "q1", "text": "?", "lang": "ja"})
                  .encode() + b"\n")
    answers = _write(tmp_path / "answers.jsonl", b'{"id": "q1", "answers": ["\xe9"]}\n')
    run = _write(tmp_path / "r.trec", b"q1 Q0 a 1 1.0 t\n")
    texts = _write(tmp_path / "texts.tsv", CORPUS_TSV.replace(b"caf\xe9", b"cafe"))
    result = CliRunner().invoke(main, ["evaluate", "--queries", str(good), "--answers",
                                       str(answers), "--run", str(run), "--corpus", str(texts)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {answers}:1: malformed line (not UTF-8 text)"]
    # evaluate has no --skip-bad-lines: a bad corpus line is not told to use one
    result = CliRunner().invoke(main, ["evaluate", "--queries", str(good), "--answers",
                                       str(answers), "--run", str(run), "--corpus", str(corpus)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {corpus}:3: malformed line (not UTF-8 text)"]
