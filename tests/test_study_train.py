"""The direct-training arm: training pairs, a tiny fine-tuning run end to end, checkpoint reuse,
and the arm's rows next to the sweep's."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.study_data import write_study_data
from xqg_os.cli import main
from xqg_os.encode import EncoderConfig, load_encoder
from xqg_os.errors import InputError
from xqg_os.evaluate import EvalConfig
from xqg_os.generate import QueryStore
from xqg_os.study import (
    EvalData,
    Grid,
    SweepConfig,
    TrainConfig,
    load_pairs,
    parse_sizes,
    read_rows,
    run_sweep,
    run_train_arm,
    train_checkpoint,
)
from xqg_os.study.results import select
from xqg_os.study.train import MARKER

CONFIG = SweepConfig(depth=30, eval=EvalConfig(metrics=("nDCG@10",), kt=()))
TEXTS = ["river mountain city", "ocean forest planet", "パリはフランスの首都"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a StudyFiles
    return write_study_data(tmp_path_factory.mktemp("study-train"))


def test_pairs_from_jsonl_shuffled_nested_and_checked(tmp_path: Path, files) -> None:  # noqa: ANN001
    pairs = load_pairs(files.pairs, seed=1)
    assert len(pairs) > 60 and pairs[0].query and pairs[0].passage
    assert load_pairs(files.pairs, limit=10, seed=1) == pairs[:10]  # one shuffle: nested sizes
    other = tmp_path / "anchors.jsonl"
    other.write_text(json.dumps({"anchor": "q", "positive": "p"}) + "\n"
                     + json.dumps({"query": "q2", "passage": "p2"}) + "\n", encoding="utf-8")
    assert {p.query for p in load_pairs(other)} == {"q", "q2"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.jsonl:1"):
        load_pairs(bad)
    with pytest.raises(InputError, match="not found"):
        load_pairs(tmp_path / "missing.jsonl")
    if importlib.util.find_spec("datasets") is not None:  # offline: one clear line
        with pytest.raises(InputError, match="cannot load the train split"):
            load_pairs("hf:xqg-os-test/no-such-dataset")
    assert parse_sizes("1k, 4k,16000,4k") == [1000, 4000, 16000]
    for wrong in ("", "x", "1"):
        with pytest.raises(InputError):
            parse_sizes(wrong)


@pytest.mark.parametrize("backend", ["trainer", "loop"])
def test_training_changes_the_encoder_and_is_reused(tmp_path: Path, files,  # noqa: ANN001
                                                    tiny_bert_path: Path, backend: str) -> None:
    if backend == "trainer":
        pytest.importorskip("datasets")
        pytest.importorskip("accelerate")
    pairs = load_pairs(files.pairs, limit=40)
    config = TrainConfig(epochs=1, batch_size=8, learning_rate=1e-3, backend=backend,
                         device="cpu")
    folder = train_checkpoint(str(tiny_bert_path), pairs, tmp_path / "ckpt", config,
                              progress=False)
    assert (folder / "modules.json").is_file() and (folder / MARKER).is_file()
    base = load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))
    trained = load_encoder(EncoderConfig(model=str(folder), device="cpu"))
    assert trained.describe()["kind"] == "sentence-transformers"
    assert trained.describe()["pooling"] == "cls"
    before, after = base.encode_passages(TEXTS), trained.encode_passages(TEXTS)
    assert before.shape == after.shape
    assert np.abs(before - after).max() > 1e-4  # training moved the weights
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    again = train_checkpoint(str(tiny_bert_path), pairs, tmp_path / "ckpt", config,
                             progress=False)
    assert again == folder and (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_the_untrained_wrapper_equals_the_cls_encoder(tiny_bert_path: Path) -> None:
    from xqg_os.study.train import to_sentence_transformer

    wrapped = to_sentence_transformer(str(tiny_bert_path), "cls", 128, "cpu")
    base = load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))
    vectors = wrapped.encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(vectors, base.encode_passages(TEXTS), atol=1e-4)


def test_train_arm_rows_join_the_sweep(tmp_path: Path, files, tiny_bert_path: Path) -> None:  # noqa: ANN001
    data = EvalData.load(files.corpus, files.queries, files.qrels, name="fixture")
    base = EncoderConfig(model=str(tiny_bert_path), device="cpu", batch_size=1)
    store = QueryStore.open(files.store)
    grid = Grid((2,), (0.1,), ("sum",), ("all",))
    result = run_train_arm(base, load_pairs(files.pairs), [16, 32], data, tmp_path / "ckpts",
                           tmp_path / "cache", TrainConfig(batch_size=8, learning_rate=1e-3,
                                                           backend="loop", device="cpu"),
                           CONFIG, store, grid, progress=False)
    macro = select(result.rows, lang="macro")
    assert sorted((r["arm"], r["train_pairs"], r["n"]) for r in macro) == [
        ("train", 0, 0), ("train", 16, 0), ("train", 32, 0),
        ("train+xqg", 16, 2), ("train+xqg", 32, 2)]
    assert all(r["p_value_vs_n0"] is not None for r in macro if r["train_pairs"])
    sweep = run_sweep(load_encoder(base), data, store, Grid((0,)), tmp_path / "cache", CONFIG,
                      progress=False)
    baseline = select(sweep.rows, lang="macro")[0]["value"]
    assert select(macro, arm="train", train_pairs=0)[0]["value"] == baseline
    with pytest.raises(InputError, match="exceed"):
        run_train_arm(base, load_pairs(files.pairs, limit=10), [16], data, tmp_path / "c2",
                      tmp_path / "cache", config=CONFIG, progress=False)


def test_cli_train(tmp_path: Path, files, tiny_bert_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "study.csv"
    result = CliRunner().invoke(main, [
        "study", "train", "--corpus", str(files.corpus), "--queries", str(files.queries),
        "--qrels", str(files.qrels), "--encoder", str(tiny_bert_path), "--device", "cpu",
        "--metrics", "nDCG@10", "--cache", str(tmp_path / "cache"), "--pairs", str(files.pairs),
        "--sizes", "16", "--batch-size", "8", "--trainer", "loop", "--checkpoints",
        str(tmp_path / "ckpts"), "--out", str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert {(r["arm"], r["train_pairs"]) for r in rows} == {("train", 0), ("train", 16)}
    result = CliRunner().invoke(main, [
        "study", "train", "--corpus", str(files.corpus), "--queries", str(files.queries),
        "--qrels", str(files.qrels), "--pairs", str(tmp_path / "nope.jsonl"), "--checkpoints",
        str(tmp_path / "ckpts"), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"error: training pairs file not found: {tmp_path / 'nope.jsonl'}")
