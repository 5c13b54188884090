"""Readers and writers of evaluation inputs: queries, qrels, answers, TREC runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg_os.data.evalfiles import (
    Answer,
    Qrel,
    Query,
    check_query_ids,
    qrels_to_dict,
    rank_scores,
    read_answers,
    read_passage_texts,
    read_qrels,
    read_queries,
    read_run,
    write_run,
)
from xqg_os.errors import InputError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    return _write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


# --- queries ---------------------------------------------------------------------------------

def test_queries_jsonl_accepts_id_text_lang_and_question(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "q.jsonl", [{"id": "q1", "text": "エッフェル塔?", "lang": "ja"},
                                         {"_id": 2, "question": "Кто?", "lang": "ru"}])
    assert read_queries(path) == [Query("q1", "エッフェル塔?", "ja"), Query("2", "Кто?", "ru")]


def test_queries_tsv_with_and_without_lang(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.tsv", "q1\tWer?\tde\nq2\tQui ?\n")
    with pytest.raises(InputError, match=r"q\.tsv:2: query 'q2' has no language"):
        read_queries(path)
    queries = read_queries(path, default_lang="fr")
    assert [(q.id, q.lang) for q in queries] == [("q1", "de"), ("q2", "fr")]


@pytest.mark.parametrize("content, message", [
    ('{"id": "q1", "text": "a", "lang": "en"}\n{"id": "q2", "text": \n', r":2: malformed line"),
    ('["q1", "text"]\n', r":1: malformed line \(not a JSON object\)"),
    ('{"id": "q1", "text": "  ", "lang": "en"}\n', r":1: query 'q1' has empty text"),
    ('{"id": "q1", "text": "Who?"}\n', r":1: query 'q1' has no language"),
    ('{"text": "Who?", "lang": "en"}\n', r":1: query without an id"),
    ('{"id": "q1", "text": "a", "lang": "en"}\n{"id": "q1", "text": "b", "lang": "en"}\n',
     r":2: duplicate query id 'q1'"),
])
def test_queries_errors_name_line_and_query(tmp_path: Path, content: str, message: str) -> None:
    path = _write(tmp_path / "q.jsonl", content)
    with pytest.raises(InputError, match=message):
        read_queries(path)


def test_queries_tsv_wrong_column_count(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.tsv", "q1\tWho?\ten\nq2\n")
    with pytest.raises(InputError, match=r"q\.tsv:2: malformed line \(expected id<TAB>text"):
        read_queries(path)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="queries file not found"):
        read_queries(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="unknown queries format"):
        read_queries(tmp_path / "nope.jsonl", fmt="csv")


# --- qrels -----------------------------------------------------------------------------------

def test_qrels_read_and_dict(tmp_path: Path) -> None:
    path = _write(tmp_path / "qrels.txt", "q1 0 d1 1\nq1 0 d2 0\n\nq2\t0\td3\t2\nq1 0 d1 1\n")
    qrels = read_qrels(path)
    assert qrels == [Qrel("q1", "d1", 1), Qrel("q1", "d2", 0), Qrel("q2", "d3", 2)]
    assert qrels_to_dict(qrels) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}


@pytest.mark.parametrize("content, message", [
    ("q1 0 d1\n", r":1: malformed line \(expected 'qid 0 docid relevance', got 3 field"),
    ("q1 0 d1 1\nq1 0 d2 high\n", r":2: malformed line \(relevance 'high' is not an integer"),
    ("q1 0 d1 1\nq1 0 d1 0\n", r":2: query 'q1' doc 'd1' judged twice"),
])
def test_qrels_errors(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_qrels(_write(tmp_path / "qrels.txt", content))


def test_unknown_query_ids_error_lists_a_few_or_are_returned() -> None:
    known = {"q1", "q2"}
    ids = ["q1", "x1", "x2", "x3", "x4", "x5", "x6"]
    with pytest.raises(InputError, match=r"qrels name 6 query id\(s\) not in the queries: "
                                         r"'x1', 'x2', 'x3', 'x4', 'x5' and 1 more"):
        check_query_ids(ids, known, "qrels")
    assert check_query_ids(ids, known, "qrels", allow_unknown=True) == {f"x{i}" for i in range(
        1, 7)}
    assert check_query_ids(["q2"], known, "qrels") == set()


# --- answers ---------------------------------------------------------------------------------

def test_answers_xor_tydi_layout(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "a.jsonl", [
        {"id": "q1", "question": "いつ?", "answers": ["1889"], "lang": "ja"},
        {"id": "q2", "text": "Is it?", "answers": "yes"},
        {"id": "q3", "question": "Year?", "answers": [1911, "1911"], "lang": "fr"},
    ])
    assert read_answers(path) == [Answer("q1", ("1889",), "いつ?", "ja"),
                                  Answer("q2", ("yes",), "Is it?", ""),
                                  Answer("q3", ("1911", "1911"), "Year?", "fr")]


@pytest.mark.parametrize("content, message", [
    ('{"id": "q1", "question": "x"}\n', r":1: question 'q1' needs an 'answers' list"),
    ('{"id": "q1", "answers": [{"a": 1}]}\n', r":1: question 'q1' needs an 'answers' list"),
    ('{"answers": ["a"]}\n', r":1: answer record without an id"),
    ('{"id": "q1", "answers": ["a"]}\n{"id": "q1", "answers": ["b"]}\n', r":2: duplicate"),
    ('{"id": "q1", "answers": ["a"]\n', r":1: malformed line"),
])
def test_answers_errors(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_answers(_write(tmp_path / "a.jsonl", content))


# --- runs ------------------------------------------------------------------------------------

def test_rank_scores_breaks_ties_like_trec_eval() -> None:
    ranked = rank_scores({"a": 1.0, "c": 1.0, "b": 2.0, "d": 0.5})
    assert [docid for docid, _ in ranked] == ["b", "c", "a", "d"]
    assert rank_scores({"a": 1.0, "b": 2.0}, depth=1) == [("b", 2.0)]


def test_run_round_trip_orders_and_truncates(tmp_path: Path) -> None:
    run = {"q2": {"d1": 0.5, "d2": 0.5, "d3": 0.25}, "q1": {"d9": 3.0}}
    path = tmp_path / "out" / "sys.trec"
    assert write_run(run, path, tag="dense") == 4
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == ["q1 Q0 d9 1 3.0 dense", "q2 Q0 d2 1 0.5 dense", "q2 Q0 d1 2 0.5 dense",
                     "q2 Q0 d3 3 0.25 dense"]
    assert read_run(path) == run
    assert {line.split()[-1] for line in lines} == {"dense"}  # the tag column
    assert write_run(run, tmp_path / "top1.trec", tag="x", depth=1) == 2
    assert not list(tmp_path.glob("**/*.partial"))


@pytest.mark.parametrize("content, message", [
    ("q1 Q0 d1 1 0.5\n", r":1: malformed line \(expected 'qid Q0 docid rank score tag'"),
    ("q1 Q0 d1 1 high tag\n", r":1: malformed line \(score 'high' is not a number\)"),
    ("q1 Q0 d1 1 nan tag\n", r"is not a number"),
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", r":2: doc 'd1' listed twice for query 'q1'"),
])
def test_run_errors(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_run(_write(tmp_path / "run.trec", content))


def test_write_run_refuses_bad_tag_and_ids_before_writing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run tag"):
        write_run({"q1": {"d1": 1.0}}, tmp_path / "a.trec", tag="my run")
    with pytest.raises(InputError, match="whitespace"):
        write_run({"q1": {"d 1": 1.0}}, tmp_path / "b.trec", tag="x")
    assert not list(tmp_path.iterdir())


def test_read_passage_texts_keeps_text_only(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "corpus.jsonl", [{"id": "p1", "title": "T1", "text": "one"},
                                              {"id": "p2", "title": "T2", "text": "two"}])
    assert read_passage_texts(path) == {"p1": "one", "p2": "two"}
    assert read_passage_texts(path, ids={"p2"}) == {"p2": "two"}
