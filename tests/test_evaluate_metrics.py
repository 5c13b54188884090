"""Standard metrics come from ir-measures and equal pytrec_eval's (trec_eval's) values."""

from __future__ import annotations

import random
from statistics import fmean

import pytest
import pytrec_eval

from xqg_os.data.evalfiles import Query, rank_scores
from xqg_os.errors import InputError
from xqg_os.evaluate import EvalConfig, evaluate_runs, parse_metric, parse_metrics
from xqg_os.evaluate.metrics import per_query_metrics

# Our name -> pytrec_eval measure on the same run.
PYTREC = {"nDCG@10": "ndcg_cut_10", "R@100": "recall_100", "R@20": "recall_20", "P@5": "P_5",
          "AP": "map", "nDCG": "ndcg"}


def _random_case(seed: int) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Random graded qrels and a run with score ties and some unjudged / missing queries."""
    rng = random.Random(seed)
    docs = [f"d{i:03d}" for i in range(150)]
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for q in range(rng.randint(3, 12)):
        qid = f"q{q}"
        qrels[qid] = {d: rng.choice([0, 0, 1, 2]) for d in rng.sample(docs, rng.randint(1, 25))}
        if rng.random() < 0.15:
            continue  # a judged query the run lacks: scores 0
        # Scores rounded to one decimal so ties are frequent.
        run[qid] = {d: round(rng.random(), 1) for d in rng.sample(docs, rng.randint(1, 120))}
    return qrels, run


def _reference(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
               measure: str) -> dict[str, float]:
    result = pytrec_eval.RelevanceEvaluator(qrels, {measure}).evaluate(run)
    return {qid: result.get(qid, {}).get(measure, 0.0) for qid in qrels}


@pytest.mark.parametrize("seed", range(25))
def test_per_query_values_equal_pytrec_eval(seed: int) -> None:
    qrels, run = _random_case(seed)
    measures = parse_metrics(list(PYTREC) + ["MRR@10"])
    values = per_query_metrics(run, qrels, measures, list(qrels))
    for name, trec_name in PYTREC.items():
        expected = _reference(qrels, run, trec_name)
        assert values[name] == pytest.approx(expected, abs=1e-12), name
    # RR@10 (ir-measures' MS MARCO provider) against trec_eval's recip_rank on the top 10 in
    # trec_eval's order: the same ranking whatever the score ties.
    top10 = {qid: dict(rank_scores(scores, depth=10)) for qid, scores in run.items()}
    assert values["MRR@10"] == pytest.approx(_reference(qrels, top10, "recip_rank"), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_report_means_equal_pytrec_eval_means(seed: int) -> None:
    qrels, run = _random_case(100 + seed)
    half = sorted(qrels)[: len(qrels) // 2]
    queries = [Query(qid, "text", "ja" if qid in half else "ko") for qid in qrels]
    report = evaluate_runs({"sys": run}, queries, qrels=qrels,
                           config=EvalConfig(metrics=("nDCG@10", "R@100")))
    for name in ("nDCG@10", "R@100"):
        expected = _reference(qrels, run, PYTREC[name])
        assert report.score("sys", name, "all") == pytest.approx(fmean(expected.values()))
        by_lang = {lang: fmean(v for q, v in expected.items() if (q in half) == (lang == "ja"))
                   for lang in ("ja", "ko")}
        assert report.score("sys", name, "ja") == pytest.approx(by_lang["ja"])
        assert report.score("sys", name, "macro") == pytest.approx(fmean(by_lang.values()))
        assert report.per_query["sys"][name] == pytest.approx(expected)


def test_hand_checked_values() -> None:
    # q1: relevant d1 at rank 2 (d2 ranks first); q2: relevant doc not retrieved.
    qrels = {"q1": {"d1": 1, "d2": 0}, "q2": {"d9": 1}}
    run = {"q1": {"d1": 0.5, "d2": 0.9}, "q2": {"d3": 1.0}}
    values = per_query_metrics(run, qrels, parse_metrics(["MRR@10", "R@20", "nDCG@10"]),
                               ["q1", "q2"])
    assert values["MRR@10"] == {"q1": 0.5, "q2": 0.0}
    assert values["R@20"] == {"q1": 1.0, "q2": 0.0}
    assert values["nDCG@10"]["q1"] == pytest.approx(1 / 1.5849625007211563)


def test_metric_names_and_errors() -> None:
    assert str(parse_metric("MRR@10")) == "RR@10"
    assert str(parse_metric(" nDCG@10 ")) == "nDCG@10"
    with pytest.raises(InputError, match="unknown metric 'Bogus@10'"):
        parse_metric("Bogus@10")
    with pytest.raises(InputError, match="'MRR@10' and 'RR@10' are the same measure"):
        parse_metrics(["MRR@10", "RR@10"])
