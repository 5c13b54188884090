"""evaluate_runs end to end: systems side by side, significance marks, JSON/Markdown, run
files, and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg_os.data.evalfiles import Qrel, Query, read_run
from xqg_os.errors import InputError
from xqg_os.evaluate import EvalConfig, EvalReport, WordTokenizer, evaluate_runs, write_runs

WHITESPACE = WordTokenizer("test", True, "whitespace", str.split)
LANGS = ("ja", "ru")
N = 12  # queries per language


def _data() -> tuple[list[Query], list[Qrel], dict[str, dict[str, dict[str, float]]]]:
    """Query i's relevant doc is r<i>. 'good' ranks it first everywhere; 'bad' ranks it third;
    'same' is a copy of 'bad'."""
    queries = [Query(f"{lang}{i}", "?", lang) for lang in LANGS for i in range(N)]
    qrels = [Qrel(q.id, f"r{q.id}", 1) for q in queries]
    good = {q.id: {f"r{q.id}": 3.0, "x1": 2.0, "x2": 1.0} for q in queries}
    bad = {q.id: {"x1": 3.0, "x2": 2.0, f"r{q.id}": 1.0} for q in queries}
    return queries, qrels, {"bad": bad, "good": good, "same": {k: dict(v) for k, v in bad.items()}}


def _report(**options: object) -> EvalReport:
    queries, qrels, runs = _data()
    return evaluate_runs(runs, queries, qrels=qrels,
                         config=EvalConfig(metrics=("MRR@10", "R@20"), **options))  # type: ignore[arg-type]


def test_systems_side_by_side_with_significance_against_baseline() -> None:
    report = _report()
    assert report.systems == ["bad", "good", "same"] and report.baseline == "bad"
    assert report.languages == ["ja", "ru"]
    assert report.score("bad", "MRR@10", "ja") == pytest.approx(1 / 3)
    assert report.score("good", "MRR@10", "macro") == 1.0
    assert report.score("same", "R@20", "all") == 1.0
    better = report.comparison("good", "MRR@10", "all")
    assert better is not None and better.significant and better.delta == pytest.approx(2 / 3)
    assert better.queries == 2 * N
    tie = report.comparison("same", "MRR@10", "ja")
    assert tie is not None and tie.p_value == 1.0 and not tie.significant
    # One family per metric: 2 systems x (2 languages + pooled) = 6 tests.
    assert len([c for c in report.comparisons if c.metric == "MRR@10"]) == 6


def test_correction_changes_adjusted_p_values() -> None:
    holm = _report(correction="holm").comparisons
    bonferroni = _report(correction="bonferroni").comparisons
    none = _report(correction="none").comparisons
    for h, b, n in zip(holm, bonferroni, none, strict=True):
        assert n.p_adjusted == n.p_value
        assert n.p_value <= h.p_adjusted <= b.p_adjusted


def test_permutation_option_is_recorded_and_seeded() -> None:
    first = _report(test="permutation", permutations=500, seed=3)
    second = _report(test="permutation", permutations=500, seed=3)
    assert [c.p_value for c in first.comparisons] == [c.p_value for c in second.comparisons]
    assert first.settings["test"] == "permutation" and first.settings["permutations"] == 500


def test_markdown_marks_significant_cells_and_names_baseline() -> None:
    text = _report().to_markdown()
    assert "### MRR@10" in text and "| language | n | bad | good | same |" in text
    assert "| ja | 12 | 0.333 | 1.000\u2020 | 0.333 |" in text
    assert "| **macro avg** | 24 | 0.333 | 1.000\u2020 | 0.333 |" in text
    assert "significantly different from **bad** (paired t-test, holm correction" in text


def test_json_holds_all_numbers(tmp_path: Path) -> None:
    report = _report()
    data = json.loads(report.to_json())
    assert data["scores"]["good"]["MRR@10"]["macro"] == 1.0
    assert data["per_query"]["bad"]["R@20"]["ja0"] == 1.0
    assert {"system", "baseline", "metric", "scope", "p_value", "p_adjusted",
            "significant"} <= set(data["significance"][0])
    assert "per_query" not in json.loads(report.to_json(per_query=False))
    paths = report.write(tmp_path, stem="eval")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["baseline"] == "bad"
    assert paths["markdown"].read_text(encoding="utf-8") == report.to_markdown()


def test_missing_queries_score_zero_and_are_reported() -> None:
    queries, qrels, runs = _data()
    del runs["good"]["ja0"]
    report = evaluate_runs({"good": runs["good"]}, queries, qrels=qrels,
                           config=EvalConfig(metrics=("MRR@10",)))
    assert report.per_query["good"]["MRR@10"]["ja0"] == 0.0
    assert report.score("good", "MRR@10", "ja") == pytest.approx((N - 1) / N)
    assert report.missing == {"good": 1} and report.baseline is None
    assert "good: no results for 1 evaluated query (scored 0)." in report.to_markdown()


def test_qrels_and_answers_together() -> None:
    queries = [Query("q1", "?", "fr"), Query("q2", "?", "de")]
    runs = {"s": {"q1": {"d1": 1.0}, "q2": {"d2": 1.0}}}
    report = evaluate_runs(runs, queries, qrels={"q1": {"d1": 1}},
                           answers={"q1": ["Paris"], "q2": ["Berlin"]},
                           passages_text={"d1": "Paris is big", "d2": "Bonn is small"},
                           config=EvalConfig(metrics=("R@20",), kt=(2000,)),
                           tokenizer=WHITESPACE)
    assert report.metrics == ["R@20", "R@2kt"] and report.kt_metrics == ["R@2kt"]
    assert report.counts["R@20"] == {"de": 0, "fr": 1, "all": 1}
    assert report.score("s", "R@2kt", "fr") == 100.0 and report.score("s", "R@2kt", "de") == 0.0
    assert "| fr | 1 | 100.0 |" in report.to_markdown()
    assert "R@kt tokenizer: test." in report.to_markdown()


def test_write_runs_one_trec_file_per_system(tmp_path: Path) -> None:
    _, _, runs = _data()
    paths = write_runs({"xQG (n=5)": runs["good"], "bad": runs["bad"]}, tmp_path, depth=2)
    assert paths["xQG (n=5)"].name == "xQG_n_5.trec"
    assert read_run(paths["bad"])["ja0"] == {"x1": 3.0, "x2": 2.0}
    assert paths["xQG (n=5)"].read_text(encoding="utf-8").split("\n")[0].endswith(" xQG_n_5")


@pytest.mark.parametrize("change, message", [
    ({"runs": {}}, "no runs to evaluate"),
    ({"qrels": None}, "nothing to evaluate"),
    ({"config": EvalConfig(baseline="dense")}, "baseline 'dense' is not one of the systems"),
    ({"config": EvalConfig(metrics=("Foo@3",))}, "unknown metric 'Foo@3'"),
    ({"qrels": [Qrel("zz9", "d", 1)]}, r"qrels name 1 query id\(s\) not in the queries: 'zz9'"),
    ({"runs": {"s": {"Q1": {"d": 1.0}}}}, "run 's' shares no query id with the queries"),
    ({"answers": {"ja0": ["x"]}}, "R@kt needs the passage texts"),
    ({"queries": []}, "no queries to evaluate"),
])
def test_bad_inputs_have_clear_messages(change: dict[str, object], message: str) -> None:
    queries, qrels, runs = _data()
    args: dict[str, object] = {"runs": runs, "queries": queries, "qrels": qrels}
    args.update(change)
    with pytest.raises(InputError, match=message):
        evaluate_runs(**args)  # type: ignore[arg-type]


def test_unknown_ids_can_be_allowed() -> None:
    queries, qrels, runs = _data()
    report = evaluate_runs(runs, queries, qrels=[*qrels, Qrel("zz9", "d", 1)],
                           config=EvalConfig(metrics=("R@20",), allow_unknown_ids=True))
    assert report.counts["R@20"]["all"] == 2 * N


@pytest.mark.parametrize("options, message", [
    ({"test": "wilcoxon"}, "unknown significance test"),
    ({"correction": "fdr"}, "unknown correction"),
    ({"significance": 1.5}, "significance must be between 0 and 1"),
    ({"kt": (0,)}, "token budgets must be positive"),
])
def test_config_validation(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        EvalConfig(**options)  # type: ignore[arg-type]
