"""Long loops of evaluation and plotting show progress on stderr (and only when asked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xqg_os.data.evalfiles import Query
from xqg_os.evaluate import EvalConfig, WordTokenizer, evaluate_runs
from xqg_os.search.runs import RunSearcher, evaluate_searchers

QUERIES = [Query(f"q{i}", "?", "ja" if i % 2 else "ru") for i in range(6)]
RUN = {q.id: {"d1": 1.0, "d2": 0.5} for q in QUERIES}
QRELS = {q.id: {"d1": 1} for q in QUERIES}
ANSWERS = {q.id: ["alpha"] for q in QUERIES}
TEXTS = {"d1": "alpha beta", "d2": "gamma"}
SPLIT = WordTokenizer("test", True, "whitespace", str.split)


def test_evaluation_shows_metric_and_r_at_kt_bars(capsys: pytest.CaptureFixture[str]) -> None:
    evaluate_runs({"a": RUN, "b": RUN}, QUERIES, qrels=QRELS, answers=ANSWERS,
                  passages_text=TEXTS, config=EvalConfig(kt=(10,)), tokenizer=SPLIT,
                  progress=True)
    err = capsys.readouterr().err
    assert "metrics: 100%" in err and "2/2" in err
    assert "R@kt b: 100%" in err and "12/12" in err  # 2 systems x 6 questions
    evaluate_runs({"a": RUN}, QUERIES, qrels=QRELS, config=EvalConfig(kt=()))
    assert capsys.readouterr().err == ""  # the library is quiet unless asked


def test_retrieval_shows_a_bar_over_systems_and_queries(
        capsys: pytest.CaptureFixture[str]) -> None:
    searchers = {"a": RunSearcher(RUN, TEXTS), "b": RunSearcher(RUN, TEXTS)}
    report, retrieved = evaluate_searchers(searchers, QUERIES, 2, qrels=QRELS,
                                           config=EvalConfig(kt=()), progress=True)
    err = capsys.readouterr().err
    assert "retrieve b: 100%" in err and "12/12" in err
    assert retrieved.runs["a"] == RUN and report.score("a", "MRR@10") == 1.0


def test_plots_show_a_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xqg_os.study.plots import plot_study

    rows = [{"task": "t", "arm": "xqg", "model": "m", "n": n, "alpha": 0.1, "formula": "sum",
             "languages": "all", "train_pairs": 0, "lang": lang, "metric": metric,
             "value": 0.5 + n / 10, "queries": 3, "delta_vs_n0": 0.0, "p_value_vs_n0": 1.0,
             "p_adjusted": 1.0, "significant": False}
            for n in (0, 1) for lang in ("ja", "macro") for metric in ("nDCG@10", "R@100")]
    paths = plot_study(rows, tmp_path, formats=("png",))
    assert paths and all(p.exists() for p in paths)
    err = capsys.readouterr().err
    assert "plots: 100%" in err and "2/2" in err
    plot_study(rows, tmp_path, formats=("png",), progress=False)
    assert "plots" not in capsys.readouterr().err
