"""The bundled sample data set: consistent files, and an oracle run scores perfectly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import xqg_os
from xqg_os.data.corpus import read_corpus
from xqg_os.data.evalfiles import read_answers, read_passage_texts, read_qrels, read_queries
from xqg_os.evaluate import EvalConfig, evaluate_runs, resolve_word_tokenizer

SAMPLE = Path(xqg_os.__file__).parent / "sample"
# Languages of the Universal Sentence Encoder multilingual, the offline demo's encoder.
USEM_LANGUAGES = {"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th",
                  "tr", "zh"}


def test_files_are_consistent() -> None:
    passages = {p.id: p for p in read_corpus(SAMPLE / "corpus.jsonl")}
    queries = read_queries(SAMPLE / "queries.jsonl")
    qrels = read_qrels(SAMPLE / "qrels.txt")
    answers = {a.id: a for a in read_answers(SAMPLE / "answers.jsonl")}
    assert len(passages) == 60 and all(p.title and p.text for p in passages.values())
    assert len(queries) == 60 and {q.lang for q in queries} <= USEM_LANGUAGES
    assert min(Counter(q.lang for q in queries).values()) >= 4
    assert {q.query_id for q in qrels} == {q.id for q in queries} == set(answers)
    assert all(q.doc_id in passages and q.relevance == 1 for q in qrels)
    relevant = {q.query_id: q.doc_id for q in qrels}
    yes_no = [qid for qid, a in answers.items() if set(a.answers) <= {"yes", "no"}]
    assert len(yes_no) == 2
    for qid, answer in answers.items():
        for text in answer.answers:
            if text in ("yes", "no"):
                continue
            assert text in passages[relevant[qid]].text, (qid, text)
            others = [pid for pid, p in passages.items() if pid != relevant[qid] and text in p.text]
            assert not others, (qid, text, others)


def test_precomputed_queries_layout() -> None:
    lines = (SAMPLE / "precomputed_queries.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    questions = {q.text for q in read_queries(SAMPLE / "queries.jsonl")}
    by_passage: dict[str, set[str]] = {}
    for record in records:
        assert set(record) == {"id", "lang", "queries"}
        assert len(record["queries"]) == 2 and all(q.strip() for q in record["queries"])
        assert not questions & set(record["queries"])  # never a test question verbatim
        by_passage.setdefault(record["id"], set()).add(record["lang"])
    assert len(by_passage) == 60
    assert all(langs == {"ja", "ru", "fr", "de"} for langs in by_passage.values())


def test_oracle_run_scores_perfectly(tmp_path: Path) -> None:
    queries = read_queries(SAMPLE / "queries.jsonl")
    qrels = read_qrels(SAMPLE / "qrels.txt")
    texts = read_passage_texts(SAMPLE / "corpus.jsonl")
    relevant = {q.query_id: q.doc_id for q in qrels}
    # The relevant passage first, then every other passage: R@kt must find each span answer
    # in the NLTK-tokenized text of its passage, which is among the first 100 tokens.
    oracle = {q.id: {relevant[q.id]: 2.0, **{pid: 1.0 for pid in texts if pid != relevant[q.id]}}
              for q in queries}
    report = evaluate_runs({"oracle": oracle}, queries, qrels=qrels,
                           answers=read_answers(SAMPLE / "answers.jsonl"), passages_text=texts,
                           config=EvalConfig(metrics=("nDCG@10", "MRR@10"), kt=(100,)),
                           tokenizer=resolve_word_tokenizer(tmp_path))
    assert report.score("oracle", "nDCG@10") == 1.0
    assert report.score("oracle", "R@100t") == 100.0
    assert report.counts["R@100t"]["all"] == 58  # the two yes/no questions are not counted
    assert report.score("oracle", "MRR@10", "all") == pytest.approx(1.0)
