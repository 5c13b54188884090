"""The sweep: n=0 equals the plain baseline, no model call during the grid, the bank's mixing
equals the augmentation formula, per-language subsets, the CSV, plots, report and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.study_data import GENERATED_LANGS, CountingEncoder, write_study_data
from xqg_os.augment import augment, select_queries
from xqg_os.cli import main
from xqg_os.data.corpus import passage_input
from xqg_os.encode import Encoder, EncoderConfig, load_encoder
from xqg_os.errors import InputError
from xqg_os.evaluate import EvalConfig, evaluate_runs
from xqg_os.generate import QueryStore
from xqg_os.study import (
    COLUMNS,
    EvalData,
    Grid,
    SweepConfig,
    build_bank,
    plot_study,
    prepare,
    read_rows,
    render_report,
    run_sweep,
    search_grid,
    sweep_prepared,
    write_rows,
)
from xqg_os.study.results import select

METRICS = ("nDCG@10", "MRR@10")
CONFIG = SweepConfig(depth=30, eval=EvalConfig(metrics=METRICS, kt=(), correction="none"))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a StudyFiles
    return write_study_data(tmp_path_factory.mktemp("study"))


@pytest.fixture(scope="module")
def tiny(tiny_bert_path: Path) -> Encoder:
    # one text per forward pass: vectors do not depend on which texts share a batch
    return load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu", batch_size=1))


@pytest.fixture(scope="module")
def data(files) -> EvalData:  # noqa: ANN001
    return EvalData.load(files.corpus, files.queries, files.qrels, name="fixture")


def _top(scores: np.ndarray, ids: list[str], depth: int) -> dict[str, float]:
    order = np.argsort(-scores, kind="stable")[:depth]
    return {ids[i]: float(np.float32(scores[i])) for i in order}


def test_n0_rows_equal_the_plain_baseline(tmp_path: Path, files, data: EvalData,  # noqa: ANN001
                                          tiny: Encoder) -> None:
    grid = Grid((0, 2), (0.1,), ("sum",), ("all", "same"))
    result = run_sweep(tiny, data, QueryStore.open(files.store), grid, tmp_path / "cache",
                       CONFIG, progress=False)
    # the baseline, independently: plain vectors, brute-force scores, the evaluator
    ids = [p.id for p in data.passages]
    passages = tiny.encode_passages([passage_input(p) for p in data.passages]).astype(np.float64)
    queries = tiny.encode_queries([q.text for q in data.queries]).astype(np.float64)
    run = {q.id: _top(passages @ vector, ids, 30) for q, vector in zip(data.queries, queries)}
    report = evaluate_runs({"plain": run}, data.queries, data.qrels,
                           config=EvalConfig(metrics=METRICS, kt=()))
    n0 = select(result.rows, n=0)
    assert {r["languages"] for r in n0} == {"all", "same"}
    for row in n0:
        assert row["value"] == pytest.approx(report.score("plain", row["metric"], row["lang"]),
                                             abs=1e-12)
        assert row["delta_vs_n0"] == 0.0 and row["p_value_vs_n0"] is None
    augmented = select(result.rows, n=2, lang="all", metric="nDCG@10")
    assert len(augmented) == 2 and all(r["p_value_vs_n0"] is not None for r in augmented)
    assert len(result.rows) == len(grid) * 4 * len(METRICS)  # scopes: ja, ru, macro, all
    assert result.info["passages"] == 30 and result.info["passages_without_queries"] == 0


def test_grid_reuses_stores_and_never_calls_the_model(tmp_path: Path, files,  # noqa: ANN001
                                                      data: EvalData, tiny: Encoder) -> None:
    counting = CountingEncoder(tiny)
    store = QueryStore.open(files.store)
    grid = Grid((0, 1, 2, 4), (0.01, 0.3), ("sum", "mean"), ("all", "same", "others"))
    prepared = prepare(counting, data, tmp_path / "cache", store, grid.ns, progress=False)
    assert counting.texts > len(data.passages) + len(data.queries)  # generated ones too
    before = (counting.calls, counting.texts)
    result = sweep_prepared(prepared, data, grid, CONFIG, progress=False)
    assert (counting.calls, counting.texts) == before  # the whole grid: no model call
    assert len(result.rows) == len(grid) * 4 * len(METRICS) and len(grid) == 48
    # a second study over the same inputs reads every vector from the embedding stores
    again = CountingEncoder(tiny)
    rerun = run_sweep(again, data, store, grid, tmp_path / "cache", CONFIG, progress=False)
    assert again.calls == 0
    assert [r["value"] for r in rerun.rows] == [r["value"] for r in result.rows]


def test_bank_mix_equals_the_augmentation_formula(tmp_path: Path, files,  # noqa: ANN001
                                                 data: EvalData, tiny: Encoder) -> None:
    store = QueryStore.open(files.store)
    bank = build_bank(tiny, data.passages, tmp_path / "cache", store, ns=(1, 3), progress=False)
    assert bank.languages == sorted(GENERATED_LANGS) and bank.ns == [0, 1, 3]
    passages = tiny.encode_passages([passage_input(p) for p in data.passages])
    found = store.get([p.id for p in data.passages], list(GENERATED_LANGS), 4)
    for n, formula, langs in [(1, "sum", ["ja", "ru", "fr"]), (3, "mean", ["fr"]),
                              (3, "sum", ["ru", "ja"])]:
        chosen = [select_queries(found.get(p.id, {}), langs, n) for p in data.passages]
        assert any(len(c) < n * len(langs) for c in chosen)  # uneven counts are exercised
        vectors = [tiny.encode_queries(c) if c else np.zeros((0, tiny.dimension)) for c in chosen]
        expected = augment(passages, vectors, 0.2, formula)
        np.testing.assert_allclose(bank.mix(n, 0.2, formula, langs), expected, atol=1e-5)
    np.testing.assert_array_equal(bank.mix(0, 0.2, "sum", ["ja"]), passages)
    with pytest.raises(InputError, match="holds n in"):
        bank.mix(2, 0.2, "sum", ["ja"])


def test_same_and_others_mix_per_query_language(tmp_path: Path, files,  # noqa: ANN001
                                                data: EvalData, tiny: Encoder) -> None:
    prepared = prepare(tiny, data, tmp_path / "cache", QueryStore.open(files.store), (2,),
                       progress=False)
    configs = [(2, 0.5, "sum", "same"), (2, 0.5, "sum", "others"), (2, 0.5, "sum", "ja")]
    runs = search_grid(prepared, data.queries, configs, depth=30, progress=False)
    bank, ids = prepared.bank, [p.id for p in data.passages]
    for row, query in enumerate(data.queries):
        others = [lang for lang in GENERATED_LANGS if lang != query.lang]
        for config, langs in [(configs[0], [query.lang]), (configs[1], others),
                              (configs[2], ["ja"])]:
            matrix = bank.mix(2, 0.5, "sum", langs).astype(np.float64)
            expected = _top(matrix @ prepared.query_vectors[row].astype(np.float64), ids, 30)
            assert runs[config][query.id] == expected


def test_csv_roundtrip_merge_and_bad_inputs(tmp_path: Path, files,  # noqa: ANN001
                                            data: EvalData, tiny: Encoder) -> None:
    store = QueryStore.open(files.store)
    result = run_sweep(tiny, data, store, Grid((0, 1), (0.1,), ("sum",), ("all",)),
                       tmp_path / "cache", CONFIG, progress=False)
    out = tmp_path / "study.csv"
    assert write_rows(out, result.rows) == len(result.rows)
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(COLUMNS)
    back = read_rows(out)
    assert [r["value"] for r in back] == [r["value"] for r in result.rows]
    assert back[0]["n"] == 0 and isinstance(back[0]["significant"], bool)
    changed = [{**r, "value": 0.5} for r in result.rows[:3]]
    assert write_rows(out, changed) == len(result.rows)  # replaced, not appended
    assert read_rows(out)[0]["value"] == 0.5
    with pytest.raises(InputError, match="holds 4 per language"):
        run_sweep(tiny, data, store, Grid((8,)), tmp_path / "cache", CONFIG, progress=False)
    twice = tmp_path / "twice.jsonl"
    twice.write_text(files.corpus.read_text(encoding="utf-8") * 2, encoding="utf-8")
    with pytest.raises(InputError, match="duplicate passage ids: d0, d1"):
        EvalData.load(twice, files.queries, files.qrels)
    with pytest.raises(InputError, match="needs qrels") as info:  # the library's own names
        EvalData.load(files.corpus, files.queries)
    assert info.value.param == "qrels"
    for bad in [("0,x", "0.1", "sum", "all"), ("1", "1.5", "sum", "all"),
                ("1", "0.1", "median", "all"), ("1", "0.1", "sum", "xx+ja")]:
        with pytest.raises(InputError):
            Grid.parse(*bad)


def test_plots_and_report(tmp_path: Path, files, data: EvalData,  # noqa: ANN001
                          tiny: Encoder) -> None:
    result = run_sweep(tiny, data, QueryStore.open(files.store),
                       Grid((0, 1, 4), (0.05, 0.5), ("sum",), ("all",)), tmp_path / "cache",
                       SweepConfig(depth=30, eval=EvalConfig(metrics=("nDCG@10",), kt=())),
                       progress=False)
    paths = plot_study(result.rows, tmp_path / "plots")
    assert sorted(p.name for p in paths) == [
        "fixture_heatmap_nDCG_10_sum_all.png", "fixture_heatmap_nDCG_10_sum_all.svg",
        "fixture_scaling_nDCG_10.png", "fixture_scaling_nDCG_10.svg"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:4] == b"\x89PNG" or paths[1].read_bytes()[:4] == b"\x89PNG"
    text = render_report(result.rows, {"sweep": result.info}, paths, tmp_path)
    assert "### xQG sweep: nDCG@10" in text and "| n=0 | n=1 | n=4 |" in text
    assert "![fixture_scaling_nDCG_10](plots/fixture_scaling_nDCG_10.png)" in text


def test_cli_sweep_and_report(tmp_path: Path, files, tiny_bert_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "study.csv"
    common = ["--corpus", str(files.corpus), "--queries", str(files.queries), "--qrels",
              str(files.qrels), "--encoder", str(tiny_bert_path), "--device", "cpu",
              "--metrics", "nDCG@10", "--cache", str(tmp_path / "cache"), "--out", str(out)]
    runner = CliRunner()
    result = runner.invoke(main, ["study", "sweep", *common, "--generated", str(files.store),
                                  "--n", "0,2", "--alpha", "0.1", "--formula", "sum,mean",
                                  "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "wrote 16 rows" in result.output
    meta = json.loads((tmp_path / "study.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["sweep"]["grid"]["n"] == [0, 2]
    result = runner.invoke(main, ["study", "report", "--csv", str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "n=2" in (tmp_path / "report.md").read_text(encoding="utf-8")
    # a user error: n > 0 without a query store -> one line, exit 1
    result = runner.invoke(main, ["study", "sweep", *common, "--n", "0,2", "--no-plots"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error: the grid has n > 0")
    # neither qrels nor answers: the CLI names its flag
    no_qrels = [arg for arg in common if arg not in ("--qrels", str(files.qrels))]
    result = runner.invoke(main, ["study", "sweep", *no_qrels, "--no-plots"])
    assert result.exit_code == 1 and "needs --qrels" in result.output
