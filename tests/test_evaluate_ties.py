"""Rankings as trec_eval makes them, checked against pytrec_eval: scores compared as 32-bit
floats (so near-equal doubles tie) and ties broken by doc id descending, in the metrics, in the
run files written, and in the order R@kt reads."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import pytrec_eval

from xqg_os.data.evalfiles import Query, rank_scores, read_run, write_run
from xqg_os.evaluate import EvalConfig, WordTokenizer, evaluate_runs

MEASURES = {"recip_rank", "P_5", "ndcg_cut_10", "map", "recall_5"}
OURS = {"recip_rank": "RR", "P_5": "P@5", "ndcg_cut_10": "nDCG@10", "map": "AP",
        "recall_5": "R@5"}
NEAR = 0.30000000000000004  # the double after 0.3: the same 32-bit float


def pytrec(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]
           ) -> dict[str, dict[str, float]]:
    return pytrec_eval.RelevanceEvaluator(qrels, MEASURES).evaluate(run)


def ours(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]
         ) -> dict[str, dict[str, float]]:
    queries = [Query(qid, "?", "en") for qid in qrels]
    report = evaluate_runs({"s": run}, queries, qrels=qrels,
                           config=EvalConfig(metrics=tuple(OURS.values()), kt=()))
    return {qid: {m: report.per_query["s"][name][qid] for m, name in OURS.items()}
            for qid in qrels}


def pytrec_ranking(docs: dict[str, float]) -> list[str]:
    """pytrec_eval's order of one query's docs: judge one doc relevant at a time and read its
    rank off the reciprocal rank."""
    rank = {}
    for docid in docs:
        rr = pytrec_eval.RelevanceEvaluator({"q": {docid: 1}}, {"recip_rank"}).evaluate(
            {"q": docs})["q"]["recip_rank"]
        rank[docid] = round(1 / rr)
    assert sorted(rank.values()) == list(range(1, len(docs) + 1))
    return sorted(docs, key=rank.__getitem__)


@pytest.mark.parametrize("relevant, rr", [("b", 1.0), ("a", 0.5)])
def test_near_equal_doubles_tie_and_the_higher_doc_id_wins(relevant: str, rr: float) -> None:
    qrels, run = {"q": {relevant: 1}}, {"q": {"a": NEAR, "b": 0.3}}
    assert pytrec(qrels, run)["q"]["recip_rank"] == rr
    assert ours(qrels, run)["q"]["recip_rank"] == rr
    assert [d for d, _ in rank_scores(run["q"])] == ["b", "a"]
    assert rank_scores(run["q"]) == [("b", 0.3), ("a", NEAR)]  # scores given back unchanged


def _near_tie_run(rng: random.Random, docs: int) -> dict[str, float]:
    """Scores from a few values, each nudged by a few ulps (ties in float32, not in float64),
    plus exact ties and some clearly different ones."""
    base = [0.3, 0.7, 1.0 / 3.0, 12.5, -0.1]
    scores = {}
    for i in range(docs):
        value = rng.choice(base)
        for _ in range(rng.randint(0, 3)):
            value = math.nextafter(value, rng.choice([-1.0, 2.0]))
        if rng.random() < 0.2:
            value = rng.random()
        scores[f"d{rng.randint(0, 40)}x{i}"] = value
    return scores


def test_randomised_near_ties_give_pytrec_evals_metrics_and_order(tmp_path: Path) -> None:
    rng = random.Random(12)
    run = {f"q{i}": _near_tie_run(rng, rng.randint(2, 15)) for i in range(40)}
    qrels = {qid: {d: rng.choice([0, 1, 2]) for d in rng.sample(sorted(docs), min(3, len(docs)))}
             for qid, docs in run.items()}
    qrels = {qid: judged for qid, judged in qrels.items() if any(judged.values())}
    expected = pytrec(qrels, run)
    got = ours(qrels, run)
    for qid in qrels:
        assert got[qid] == pytest.approx(expected[qid], abs=1e-12), qid
    for qid, docs in list(run.items())[:10]:
        assert [d for d, _ in rank_scores(docs)] == pytrec_ranking(docs), qid
    # run files: written in that order, and read back they evaluate the same
    path = tmp_path / "near.trec"
    write_run(run, path, tag="t")
    lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    for qid, docs in run.items():
        written = [cols for cols in lines if cols[0] == qid]
        assert [c[2] for c in written] == [d for d, _ in rank_scores(docs)]
        assert [int(c[3]) for c in written] == list(range(1, len(docs) + 1))
    assert read_run(path) == run
    assert pytrec(qrels, read_run(path)) == expected


def test_the_ties_in_double_precision_were_really_ties_in_float32() -> None:
    """The randomised runs exercise the difference: ordering by the double disagrees."""
    rng = random.Random(12)
    disagree = 0
    for _ in range(40):
        docs = _near_tie_run(rng, rng.randint(2, 15))
        by_double = sorted(sorted(docs, reverse=True), key=lambda d: -docs[d])
        disagree += by_double != [d for d, _ in rank_scores(docs)]
    assert disagree > 5


def test_r_at_kt_reads_the_trec_eval_order() -> None:
    # one token per passage, budget 1: only the first-ranked passage counts
    texts = {"a": "Paris", "b": "Berlin"}
    run = {"q": {"a": NEAR, "b": 0.3}}
    report = evaluate_runs({"s": run}, [Query("q", "?", "de")], answers={"q": ["Berlin"]},
                           passages_text=texts, config=EvalConfig(kt=(1,)),
                           tokenizer=WordTokenizer("test", True, "whitespace", str.split))
    assert report.score("s", "R@1t", "de") == 100.0  # "b" first, as trec_eval ranks it
