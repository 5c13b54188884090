"""Encoders on the tiny local BERT: pooling against a manual torch computation, settings, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from xqg_os.encode import (
    Encoder,
    EncoderConfig,
    load_encoder,
    load_encoder_from_description,
)
from xqg_os.encode.hf import TransformersEncoder
from xqg_os.encode.st import SentenceTransformersEncoder
from xqg_os.errors import InputError, ModelError

TEXTS = ["Paris is the capital and most populous city of France.",
         "パリはフランスの首都",
         "Кто написал роман Война и мир?",
         "Who?",
         "The Amazon river flows through South America into the Atlantic Ocean. " * 3]


def _config(path: Path, **changes: Any) -> EncoderConfig:
    return replace(EncoderConfig(model=str(path), device="cpu", batch_size=2), **changes)


def _manual(path: Path, texts: list[str], pooling: str, max_length: int) -> np.ndarray:
    """One text at a time, no padding: what the batched encoder must reproduce."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    rows = []
    with torch.no_grad():
        for text in texts:
            batch = tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")
            hidden = model(**batch).last_hidden_state[0]
            rows.append(hidden[0] if pooling == "cls" else hidden.mean(dim=0))
    return torch.stack(rows).numpy()


@pytest.fixture(scope="module")
def cls_encoder(tiny_bert_path: Path) -> Encoder:
    return load_encoder(_config(tiny_bert_path))


def test_loads_as_transformers_encoder(cls_encoder: Encoder) -> None:
    assert isinstance(cls_encoder, TransformersEncoder)
    assert isinstance(cls_encoder, Encoder)
    assert cls_encoder.dimension == 32
    desc = cls_encoder.describe()
    json.dumps(desc)
    assert desc["kind"] == "transformers" and desc["pooling"] == "cls"
    assert desc["normalize"] is False and desc["dimension"] == 32
    assert (desc["query_max_length"], desc["passage_max_length"]) == (32, 128)
    assert desc["revision"].startswith("sha256:") and desc["dtype"] == "float32"


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_pooling_matches_manual_torch(tiny_bert_path: Path, pooling: str) -> None:
    encoder = load_encoder(_config(tiny_bert_path, pooling=pooling))
    got = encoder.encode_passages(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(got, _manual(tiny_bert_path, TEXTS, pooling, 128), atol=1e-5)
    got_q = encoder.encode_queries(TEXTS)
    np.testing.assert_allclose(got_q, _manual(tiny_bert_path, TEXTS, pooling, 32), atol=1e-5)


def test_cls_and_mean_differ(tiny_bert_path: Path, cls_encoder: Encoder) -> None:
    mean = load_encoder(_config(tiny_bert_path, pooling="mean"))
    assert not np.allclose(cls_encoder.encode_queries(TEXTS), mean.encode_queries(TEXTS))


def test_normalize(tiny_bert_path: Path, cls_encoder: Encoder) -> None:
    normed = load_encoder(_config(tiny_bert_path, normalize=True))
    got = normed.encode_passages(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    raw = cls_encoder.encode_passages(TEXTS)
    np.testing.assert_allclose(got, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert normed.describe()["normalize"] is True


def test_prefixes_apply_to_their_role_only(tiny_bert_path: Path, cls_encoder: Encoder) -> None:
    prefixed = load_encoder(_config(tiny_bert_path, query_prefix="query: ",
                                    passage_prefix="passage: "))
    plain_q = cls_encoder.encode_queries(TEXTS)
    assert not np.allclose(prefixed.encode_queries(TEXTS), plain_q)
    np.testing.assert_allclose(prefixed.encode_queries(TEXTS),
                               cls_encoder.encode_queries(["query: " + t for t in TEXTS]),
                               atol=1e-6)
    np.testing.assert_allclose(prefixed.encode_passages(TEXTS),
                               cls_encoder.encode_passages(["passage: " + t for t in TEXTS]),
                               atol=1e-6)
    assert prefixed.describe()["query_prefix"] == "query: "


def test_max_length_truncates(tiny_bert_path: Path) -> None:
    short = load_encoder(_config(tiny_bert_path, pooling="mean", query_max_length=4))
    got = short.encode_queries(TEXTS)
    np.testing.assert_allclose(got, _manual(tiny_bert_path, TEXTS, "mean", 4), atol=1e-5)
    # [CLS] a b [SEP]: two texts that share their first two pieces now look the same
    same = short.encode_queries(["Paris is the capital", "Paris is something else entirely"])
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)
    assert not np.allclose(short.encode_passages(TEXTS[:1]), got[:1])


def test_batch_order_and_size_do_not_matter(tiny_bert_path: Path, cls_encoder: Encoder) -> None:
    reference = cls_encoder.encode_passages(TEXTS)
    order = [3, 0, 4, 2, 1]
    shuffled = cls_encoder.encode_passages([TEXTS[i] for i in order])
    np.testing.assert_allclose(shuffled, reference[order], atol=1e-5)
    one_batch = load_encoder(_config(tiny_bert_path, batch_size=64)).encode_passages(TEXTS)
    np.testing.assert_allclose(one_batch, reference, atol=1e-5)


def test_empty_input(cls_encoder: Encoder) -> None:
    assert cls_encoder.encode_queries([]).shape == (0, 32)


def test_sentence_transformers_model(tiny_st_path: Path, tiny_bert_path: Path) -> None:
    encoder = load_encoder(_config(tiny_st_path, query_max_length=6))
    assert isinstance(encoder, SentenceTransformersEncoder) and isinstance(encoder, Encoder)
    desc = encoder.describe()
    assert desc["kind"] == "sentence-transformers" and desc["pooling"] == "mean"
    assert desc["normalize"] is False and encoder.dimension == 32
    # the same weights through our own mean pooling give the same vectors
    mean = load_encoder(_config(tiny_bert_path, pooling="mean", query_max_length=6))
    np.testing.assert_allclose(encoder.encode_passages(TEXTS), mean.encode_passages(TEXTS),
                               atol=1e-5)
    np.testing.assert_allclose(encoder.encode_queries(TEXTS), mean.encode_queries(TEXTS),
                               atol=1e-5)
    as_hf = load_encoder(_config(tiny_st_path, kind="transformers", pooling="mean"))
    assert isinstance(as_hf, TransformersEncoder)


def test_sentence_transformers_prefix_and_normalize(tiny_st_path: Path) -> None:
    plain = load_encoder(_config(tiny_st_path))
    styled = load_encoder(_config(tiny_st_path, query_prefix="query: ", normalize=True))
    got = styled.encode_queries(TEXTS[:2])
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    expected = plain.encode_queries(["query: " + t for t in TEXTS[:2]])
    np.testing.assert_allclose(got, expected / np.linalg.norm(expected, axis=1, keepdims=True),
                               atol=1e-5)
    assert styled.describe()["normalize"] is True


def test_round_trip_through_description(tiny_bert_path: Path) -> None:
    encoder = load_encoder(_config(tiny_bert_path, pooling="mean", query_prefix="q: "))
    again = load_encoder_from_description(encoder.describe(), device="cpu")
    assert again.describe() == encoder.describe()
    np.testing.assert_allclose(again.encode_queries(TEXTS), encoder.encode_queries(TEXTS),
                               atol=1e-6)
    stale = dict(encoder.describe(), revision="sha256:0000000000000000")
    with pytest.raises(ModelError, match="revision"):
        load_encoder_from_description(stale, device="cpu")


def test_hub_id_from_the_offline_cache_records_its_commit(
        tiny_bert_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--xqg--tiny-bert"
    shutil.copytree(tiny_bert_path, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    encoder = load_encoder(EncoderConfig(model="xqg/tiny-bert", device="cpu"))
    assert encoder.describe()["model"] == "xqg/tiny-bert"
    assert encoder.describe()["revision"] == commit
    again = load_encoder_from_description(encoder.describe(), device="cpu")
    assert again.describe() == encoder.describe()


def test_missing_models_are_one_line_model_errors(tmp_path: Path) -> None:
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    for name in (str(tmp_path / "nope"), "./nope", "no-such-org/no-such-model-xqg",
                 str(empty_folder)):
        with pytest.raises(ModelError) as info:
            load_encoder(EncoderConfig(model=name, device="cpu"))
        message = str(info.value)
        assert "\n" not in message and name in message


def test_config_validation() -> None:
    for changes in ({"kind": "onnx"}, {"pooling": "max"}, {"device": "gpu"}, {"dtype": "int8"},
                    {"query_max_length": 0}, {"batch_size": True}, {"model": " "}):
        with pytest.raises(InputError):
            replace(EncoderConfig(), **changes)
    assert EncoderConfig.from_mapping({"model": "m", "pooling": "mean"}).pooling == "mean"
    with pytest.raises(InputError, match="unknown encoder setting"):
        EncoderConfig.from_mapping({"modle": "m"})


def test_reference_defaults() -> None:
    config = EncoderConfig()
    assert config.model == "ielabgroup/bert-base-multilingual-cased-xor-tydi"
    assert (config.pooling, config.normalize) == ("cls", False)
    assert (config.query_max_length, config.passage_max_length) == (32, 128)
