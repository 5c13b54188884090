"""The mteb bridge: language codes of mteb's cross-lingual tasks, parity with our evaluator on a
local task, variant-keyed result caching, and the ``study mteb`` command (needs mteb v2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.study_data import CountingEncoder, write_study_data
from xqg_os.cli import main
from xqg_os.encode import Encoder, EncoderConfig, load_encoder
from xqg_os.errors import InputError
from xqg_os.evaluate import EvalConfig
from xqg_os.generate import QueryStore
from xqg_os.study import EvalData, Grid, Point, SweepConfig, prepare, search_grid, sweep_prepared
from xqg_os.study.results import select

mteb = pytest.importorskip("mteb", minversion="2.0")

from xqg_os.study.mteb import XQGSearchModel, XQGVariant, to_iso1, to_mteb  # noqa: E402
from xqg_os.study.mteb.langs import subset_query_language  # noqa: E402
from xqg_os.study.mteb.run import evaluate_model, result_rows  # noqa: E402
from xqg_os.study.mteb.tasks import CROSS_LINGUAL_TASKS, hub_task, local_task  # noqa: E402

VARIANTS = [XQGVariant(0), XQGVariant(2, 0.5, "sum", "same"), XQGVariant(3, 0.1, "mean", "all")]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a StudyFiles
    return write_study_data(tmp_path_factory.mktemp("study-mteb"))


@pytest.fixture(scope="module")
def tiny(tiny_bert_path: Path) -> Encoder:
    return load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu", batch_size=1))


@pytest.fixture(scope="module")
def data(files) -> EvalData:  # noqa: ANN001
    return EvalData.load(files.corpus, files.queries, files.qrels, name="fixture")


def test_language_codes_of_the_cross_lingual_tasks() -> None:
    assert to_iso1("ara-Arab") == "ar" and to_iso1("arb_Arab") == "ar"
    assert to_iso1("cmn-Hans") == "zh" and to_iso1("en") == "en" and to_iso1("xxx") is None
    assert to_mteb("ja") == "jpn-Jpan"
    with pytest.raises(InputError):
        to_mteb("qq")
    expected = {"XPQARetrieval": ("eng-ara", "en"), "MLQARetrieval": ("ara-deu", "ar"),
                "BelebeleRetrieval": ("arb_Arab-eng_Latn", "ar"), "CUREv1": ("fr", "fr")}
    for name, (subset, lang) in expected.items():
        task = hub_task(name)  # metadata only: nothing is downloaded before load_data
        assert name in CROSS_LINGUAL_TASKS and subset in task.hf_subsets
        assert subset_query_language(task.metadata, subset) == lang
        for each in task.hf_subsets:
            tags = task.metadata.hf_subsets_to_langscripts[each]
            assert tags[0].split("-")[0] != tags[1].split("-")[0]  # cross-language only
    with pytest.raises(InputError, match="no subset"):
        hub_task("XPQARetrieval", ["eng-xxx"])
    with pytest.raises(InputError, match="unknown mteb task"):
        hub_task("NoSuchTask")


def test_mteb_gives_our_numbers_on_a_local_task(tmp_path: Path, files, data: EvalData,  # noqa: ANN001
                                                tiny: Encoder) -> None:
    store = QueryStore.open(files.store)
    prepared = prepare(tiny, data, tmp_path / "cache", store, (2, 3), progress=False)
    grid_configs = [(v.n, v.alpha, v.formula, v.languages) for v in VARIANTS]
    our_runs = search_grid(prepared, data.queries, grid_configs, depth=1000, progress=False)
    config = SweepConfig(depth=1000, eval=EvalConfig(metrics=("nDCG@10", "MRR@10"), kt=()))
    task = local_task(data)
    for variant, key in zip(VARIANTS, grid_configs):
        ours = sweep_prepared(prepared, data, Grid((variant.n,), (variant.alpha,),
                                                   (variant.formula,), (variant.languages,)),
                              config, progress=False).rows
        model = XQGSearchModel(tiny, store, variant, tmp_path / "cache")
        folder = tmp_path / f"pred-{variant.n}-{variant.languages}"
        result = mteb.evaluate(model, [task], cache=None, prediction_folder=folder,
                               show_progress_bar=False)
        # the runs mteb evaluated are exactly ours
        predictions = json.loads(next(folder.glob("*.json")).read_text(encoding="utf-8"))
        for query in data.queries:
            assert predictions[query.lang]["test"][query.id] == our_runs[key][query.id]
        for entry in result.task_results[0].scores["test"]:
            lang = entry["hf_subset"]
            ndcg = select(ours, lang=lang, metric="nDCG@10")[0]["value"]
            mrr = select(ours, lang=lang, metric="MRR@10")[0]["value"]
            assert abs(entry["ndcg_at_10"] - ndcg) <= 5e-6 + 1e-12  # mteb rounds to 5 places
            assert entry["ndcg_at_10"] == round(ndcg, 5)
            assert entry["mrr_at_10"] == pytest.approx(mrr, abs=1e-9)  # not rounded


def test_variants_never_share_a_cache_entry(tmp_path: Path, files, data: EvalData,  # noqa: ANN001
                                            tiny: Encoder) -> None:
    store = QueryStore.open(files.store)
    models = [XQGSearchModel(tiny, store, v, tmp_path / "cache") for v in VARIANTS]
    revisions = {m.mteb_model_meta.revision for m in models}
    assert len(revisions) == len(VARIANTS)
    plain = XQGSearchModel(tiny, store, XQGVariant(0, 0.3, "mean", "others"), tmp_path / "cache")
    assert plain.mteb_model_meta.revision == models[0].mteb_model_meta.revision
    assert models[1].mteb_model_meta.experiment_kwargs["n"] == 2
    task = local_task(data)
    scores = {}
    for model in models:
        outcome = evaluate_model(model, [task], tmp_path / "results")
        scores[model.mteb_model_meta.revision] = outcome.task_results[0].scores["test"]
    paths = {p.parent for p in (tmp_path / "results").rglob(f"{task.metadata.name}.json")}
    assert len(paths) == len(VARIANTS)
    # a rerun of a cached variant reads mteb's cache: the model is not called at all
    counting = CountingEncoder(tiny)
    again = XQGSearchModel(counting, store, VARIANTS[1], tmp_path / "cache")
    outcome = evaluate_model(again, [task], tmp_path / "results")
    assert counting.calls == 0
    cached = outcome.task_results[0].scores["test"]
    first = scores[again.mteb_model_meta.revision]
    assert [(e["hf_subset"], e["ndcg_at_10"]) for e in cached] == [
        (e["hf_subset"], e["ndcg_at_10"]) for e in first]
    assert [e["mrr_at_10"] for e in cached] == pytest.approx(  # the cache keeps 6 places
        [e["mrr_at_10"] for e in first], abs=1e-6)
    rows = result_rows(outcome, Point("xqg", 2, 0.5, "sum", "same", 0, "tiny", ""))
    assert {r["metric"] for r in rows} == {"mteb:ndcg_at_10", "mteb:recall_at_100",
                                          "mteb:mrr_at_10"}
    with pytest.raises(InputError, match="needs a query store"):
        XQGSearchModel(tiny, None, VARIANTS[1])
    with pytest.raises(InputError, match="holds n=4"):
        XQGSearchModel(tiny, store, XQGVariant(5))


def test_cli_mteb_on_local_data(tmp_path: Path, files, tiny_bert_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "study.csv"
    args = ["study", "mteb", "--local-corpus", str(files.corpus), "--local-queries",
            str(files.queries), "--local-qrels", str(files.qrels), "--encoder",
            str(tiny_bert_path), "--device", "cpu", "--generated", str(files.store),
            "--n", "0,2", "--alpha", "0.1", "--cache", str(tmp_path / "cache"), "--results",
            str(tmp_path / "results"), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "XQGLocalRetrieval ja n=2" in result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + 2 * 2 * 3
    result = CliRunner().invoke(main, ["study", "mteb", "--encoder", str(tiny_bert_path)])
    assert result.exit_code == 1 and "error: give --task NAME" in result.output
