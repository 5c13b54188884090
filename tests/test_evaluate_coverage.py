"""Evaluations that can only print zeros are loud: qrels whose relevant documents no run
retrieves, answers found in no retrieved passage; counted per system, in the report and on the
command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.data.evalfiles import Query
from xqg_os.evaluate import EvalConfig, WordTokenizer, evaluate_runs

QUERIES = [Query("q1", "?", "ja"), Query("q2", "?", "ja"), Query("q3", "?", "ru")]
QRELS = {"q1": {"doc-1": 1, "doc-9": 0}, "q2": {"doc-2": 2}, "q3": {"doc-3": 1, "doc-4": 1}}
GOOD = {"q1": {"doc-1": 2.0, "x": 1.0}, "q2": {"x": 1.0}, "q3": {"doc-4": 1.0}}
OTHER_IDS = {"q1": {"p01": 2.0}, "q2": {"p02": 1.0}, "q3": {"p03": 1.0}}


def test_coverage_counts_per_system() -> None:
    report = evaluate_runs({"good": GOOD, "other": OTHER_IDS}, QUERIES, qrels=QRELS,
                           config=EvalConfig(metrics=("nDCG@10",)))
    assert report.coverage["good"] == {"relevant": 4, "retrieved": 2, "queries": 3,
                                       "queries_without": 1}
    assert report.coverage["other"] == {"relevant": 4, "retrieved": 0, "queries": 3,
                                        "queries_without": 3}
    assert len(report.warnings) == 1
    warning = report.warnings[0]
    assert warning.startswith("other retrieved none of the 4 relevant judged documents (0 of "
                              "4; 3 of 3 judged queries retrieved none)")
    assert "qrels: e.g. 'doc-1'; retrieved: e.g. 'p01'" in warning
    assert f"**Warning:** {warning}" in report.to_markdown()
    assert report.to_dict()["warnings"] == [warning]


def test_no_warning_for_a_system_that_finds_something() -> None:
    report = evaluate_runs({"good": GOOD}, QUERIES, qrels=QRELS,
                           config=EvalConfig(metrics=("nDCG@10",)))
    assert report.warnings == [] and "Warning" not in report.to_markdown()


def test_answers_found_nowhere_are_loud() -> None:
    texts = {"doc-1": "Tokyo Tower", "doc-4": "Moscow", "x": "nothing", "p01": "a",
             "p02": "b", "p03": "c"}
    answers = {"q1": ["Tokyo"], "q2": ["yes"], "q3": ["Moscow"]}
    report = evaluate_runs({"good": GOOD, "other": OTHER_IDS}, QUERIES, answers=answers,
                           passages_text=texts, config=EvalConfig(kt=(100,)),
                           tokenizer=WordTokenizer("test", True, "ws", str.split))
    assert report.warnings == [
        "other: no answer occurs in the top 100 retrieved tokens of any of its 2 questions, "
        "so R@kt is 0: do the answers belong to these queries and the passage texts to this "
        "corpus?"]


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_the_command_warns_on_stderr_with_the_counts(tmp_path: Path) -> None:
    queries = _write(tmp_path / "q.jsonl", [json.dumps({"id": q.id, "text": "?", "lang": q.lang})
                                            for q in QUERIES])
    qrels = _write(tmp_path / "qrels.txt", [f"{q} 0 {d} {r}" for q, docs in QRELS.items()
                                            for d, r in docs.items()])
    run = _write(tmp_path / "other.trec", [f"{q} Q0 {d} 1 {s} t" for q, docs in OTHER_IDS.items()
                                           for d, s in docs.items()])
    result = CliRunner().invoke(main, ["evaluate", "--queries", queries, "--qrels", qrels,
                                       "--run", f"other={run}", "--metrics", "nDCG@10"])
    assert result.exit_code == 0, result.output
    assert "| **macro avg** | 3 | 0.000 |" in result.stdout
    assert ("warning: other retrieved none of the 4 relevant judged "
            "documents (0 of 4; 3 of 3 judged queries retrieved none)") in result.stderr
    assert "retrieve other: 100%" in result.stderr and "metrics: 100%" in result.stderr
