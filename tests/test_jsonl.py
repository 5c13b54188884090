"""The one line-numbered JSONL reader: line numbers, blank lines, bad lines, missing files."""

from __future__ import annotations

from pathlib import Path

import pytest

from xqg_os.data.jsonl import malformed_line, parse_object, read_jsonl, read_lines
from xqg_os.errors import InputError


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_objects_with_their_line_numbers_blank_lines_counted(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", b'{"id": 1}\n\n  \n{"id": 2}\r\n{"id": 3}')
    assert list(read_jsonl(path, "corpus")) == [(1, {"id": 1}), (4, {"id": 2}), (5, {"id": 3})]
    assert list(read_lines(path, "corpus")) == [(1, '{"id": 1}'), (4, '{"id": 2}'),
                                                (5, '{"id": 3}')]


@pytest.mark.parametrize("line, reason", [
    (b'{"id": ', r"invalid JSON: Expecting value"),
    (b'["a", "b"]', r"not a JSON object"),
    (b'"text"', r"not a JSON object"),
    (b'{"id": "\xff"}', r"not UTF-8 text"),
])
def test_a_bad_line_names_file_line_and_reason(tmp_path: Path, line: bytes, reason: str) -> None:
    path = _write(tmp_path / "b.jsonl", b'{"id": 1}\n' + line + b"\n")
    with pytest.raises(InputError, match=rf"b\.jsonl:2: malformed line \({reason}") as caught:
        list(read_jsonl(path, "answers"))
    assert caught.value.param is None


def test_bad_lines_are_skipped_and_counted_when_asked(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", b'{"id": 1}\nnope\n[1]\n{"id": 4}\n\xff\n')
    bad: list[int] = []
    assert [n for n, _ in read_jsonl(path, "corpus", bad_lines=bad)] == [1, 4]
    assert bad == [2, 3, 5]


def test_the_skip_parameter_is_named_as_the_way_out(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", b"nope\n")
    with pytest.raises(InputError, match=r"d\.jsonl:1: malformed line \(invalid JSON: .*\); "
                                         r"fix it or pass skip_bad_lines$") as caught:
        list(read_jsonl(path, "corpus", skip_param="skip_bad_lines"))
    assert caught.value.param == "skip_bad_lines"
    error = malformed_line("x.tsv", 3, "expected id<TAB>text", "skip_bad_lines")
    assert str(error) == "x.tsv:3: malformed line (expected id<TAB>text); fix it or pass " \
        "skip_bad_lines" and error.param == "skip_bad_lines"


def test_missing_file_or_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^training pairs file not found: .*none\.jsonl$"):
        list(read_jsonl(tmp_path / "none.jsonl", "training pairs"))
    with pytest.raises(InputError, match=r"is a folder, not a queries file"):
        list(read_lines(tmp_path, "queries"))


def test_read_lines_refuses_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.tsv", b"q1\tok\nq2\t\xff\n")
    with pytest.raises(InputError, match=r"q\.tsv:2: malformed line \(not UTF-8 text\)"):
        list(read_lines(path, "queries"))


def test_parse_object_takes_text_or_bytes() -> None:
    assert parse_object('{"a": [1]}') == {"a": [1]} == parse_object(b'{"a": [1]}\n')
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_object("3")


def test_the_corpus_reader_speaks_in_its_parameter(tmp_path: Path) -> None:
    from xqg_os.data.corpus import CorpusStats, read_corpus

    path = _write(tmp_path / "c.jsonl", b'{"id": "a", "text": "x"}\n{"id": "b"}\n{"text": \n'
                                        b'{"id": "d", "text": "y"}\n')
    with pytest.raises(InputError, match=r"c\.jsonl:2: malformed line \(no 'text' field\); "
                                         r"fix it or pass skip_bad_lines") as caught:
        list(read_corpus(path))
    assert caught.value.param == "skip_bad_lines" and "--" not in str(caught.value)
    stats = CorpusStats()
    assert [p.id for p in read_corpus(path, skip_bad_lines=True, stats=stats)] == ["a", "d"]
    assert stats.bad_lines == [2, 3]
