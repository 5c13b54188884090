"""Bring your own passage vectors: reading and checking them (.npy + ids, vector folders) and
describing their encoder without loading it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xqg_os.data.corpus import Passage
from xqg_os.data.vectors import VectorFolderWriter
from xqg_os.encode import EncoderConfig, identity, load_encoder
from xqg_os.errors import InputError
from xqg_os.ingest.declared import DeclaredEncoder, declared_description, encoder_for_vectors
from xqg_os.ingest.vectorsource import check_coverage, open_passage_vectors, read_ids
from xqg_os.shard import Shard


def _npy(tmp_path: Path, matrix: np.ndarray, ids: list[str] | None = None) -> tuple[Path, Path]:
    np.save(tmp_path / "vectors.npy", matrix)
    ids = ids if ids is not None else [f"p{i}" for i in range(len(matrix))]
    (tmp_path / "ids.txt").write_text("".join(f"{pid}\n" for pid in ids), encoding="utf-8")
    return tmp_path / "vectors.npy", tmp_path / "ids.txt"


def _matrix(rows: int = 5, dim: int = 4) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((rows, dim)).astype(np.float32)


def test_npy_rows_are_looked_up_by_id_in_any_order(tmp_path: Path) -> None:
    matrix = _matrix()
    vectors = open_passage_vectors(*_npy(tmp_path, matrix))
    assert isinstance(vectors.matrix, np.memmap) and vectors.dimension == 4
    got = vectors.vectors(["p3", "p0", "p4"])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, matrix[[3, 0, 4]])
    with pytest.raises(InputError, match="no vector for passage 'p9'"):
        vectors.vectors(["p9"])


def test_float16_is_accepted_and_read_as_float32(tmp_path: Path) -> None:
    matrix = _matrix().astype(np.float16)
    vectors = open_passage_vectors(*_npy(tmp_path, matrix))
    assert vectors.dtype == "float16"
    np.testing.assert_array_equal(vectors.vectors(["p1"])[0], matrix[1].astype(np.float32))


@pytest.mark.parametrize(("matrix", "message"), [
    (np.zeros(4, dtype=np.float32), "shape \\(4,\\); passage vectors are a 2-D matrix"),
    (np.zeros((2, 2, 2), dtype=np.float32), "shape \\(2, 2, 2\\)"),
    (np.zeros((5, 4), dtype=np.int64), "holds int64; give float32 or float16"),
    (np.zeros((5, 4), dtype=np.float64), "holds float64"),
])
def test_wrong_shape_or_dtype_is_refused(tmp_path: Path, matrix: np.ndarray,
                                         message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_passage_vectors(*_npy(tmp_path, matrix, ["p0"] * len(matrix)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_are_refused_naming_the_first_row(tmp_path: Path, bad: float) -> None:
    matrix = _matrix()
    matrix[2, 1] = matrix[4, 0] = bad
    with pytest.raises(InputError, match="2 row\\(s\\) hold NaN or infinity \\(first: row 2, "
                                         "passage 'p2'\\)"):
        open_passage_vectors(*_npy(tmp_path, matrix))


def test_ids_must_match_the_rows_one_to_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="has 4 ids but .* has 5 rows"):
        open_passage_vectors(*_npy(tmp_path, _matrix(), ["a", "b", "c", "d"]))
    with pytest.raises(InputError, match="repeats 1 id\\(s\\) \\(e.g. b\\)"):
        open_passage_vectors(*_npy(tmp_path, _matrix(), ["a", "b", "c", "b", "e"]))
    with pytest.raises(InputError, match="needs passage_vector_ids"):
        open_passage_vectors(_npy(tmp_path, _matrix())[0])
    with pytest.raises(InputError, match="not found"):
        open_passage_vectors(tmp_path / "absent.npy", tmp_path / "ids.txt")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="is not a .npy matrix"):
        open_passage_vectors(tmp_path / "junk.npy", tmp_path / "ids.txt")


def test_ids_files_are_plain_text_or_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    path.write_text('"a"\n{"id": "b"}\nc\n', encoding="utf-8")
    assert read_ids(path) == ["a", "b", "c"]
    path.write_text("a\n\nc\n", encoding="utf-8")
    with pytest.raises(InputError, match="ids.jsonl:2: empty id"):
        read_ids(path)


def _folder(tmp_path: Path, fields: tuple[str, ...], formula: str = "sum") -> Path:
    meta = {"encoder": {"model": "m", "dimension": 4}, "formula": formula}
    writer = VectorFolderWriter(tmp_path / "saved", meta, 4, fields)
    matrix = _matrix()
    writer.add([{"passage_id": f"p{i}", "title": "", "text": "t", "lang": "",
                 **{f: matrix[i] * (2 if f == "xqg_vector" else 1) for f in fields}}
                for i in range(5)])
    return tmp_path / "saved"


def test_a_vector_folder_gives_its_passage_vectors_and_recorded_encoder(tmp_path: Path) -> None:
    vectors = open_passage_vectors(_folder(tmp_path, ("passage_vector", "xqg_vector")))
    np.testing.assert_array_equal(vectors.vectors(["p1", "p0"]), _matrix()[[1, 0]])
    assert vectors.recorded_encoder == {"model": "m", "dimension": 4}
    with pytest.raises(InputError, match="holds its own ids"):
        open_passage_vectors(tmp_path / "saved", tmp_path / "ids.txt")


def test_a_folder_of_mixed_vectors_only_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds no passage_vector"):
        open_passage_vectors(_folder(tmp_path, ("xqg_vector",)))
    unmixed = open_passage_vectors(_folder(tmp_path / "b", ("xqg_vector",), formula="none"))
    np.testing.assert_array_equal(unmixed.vectors(["p2"])[0], _matrix()[2] * 2)


def _passages(ids: list[str], empty: tuple[str, ...] = ()) -> list[Passage]:
    return [Passage(id=pid, title="", text="" if pid in empty else "text") for pid in ids]


def test_coverage_refuses_missing_passages_and_counts_extra_vectors(tmp_path: Path) -> None:
    vectors = open_passage_vectors(*_npy(tmp_path, _matrix()))  # p0..p4
    assert check_coverage(vectors, _passages([f"p{i}" for i in range(5)])) is None
    notice = check_coverage(vectors, _passages(["p0", "p1", "p2"]))
    assert notice is not None and notice.startswith("2 of the 5 passage vectors")
    with pytest.raises(InputError, match="lacks vectors for 2 of the 7 passages to ingest "
                                         "\\(e.g. q0, q1\\)"):
        check_coverage(vectors, _passages([*(f"p{i}" for i in range(5)), "q0", "q1"]))
    # empty passages and other shards' passages need no vector
    assert check_coverage(vectors, _passages(["p0", "q0", "p1"], empty=("q0",))) is not None
    assert check_coverage(vectors, _passages(["p0", "q0", "p1"]), Shard(0, 2)) is not None


def test_declared_description_is_what_the_loaded_encoder_describes(
        tmp_path: Path, tiny_bert_path: Path) -> None:
    config = EncoderConfig(model=str(tiny_bert_path), device="cpu", pooling="mean")
    loaded = load_encoder(config)
    declared = declared_description(config, loaded.dimension, "float32")
    assert identity(declared) == identity(loaded.describe())
    vectors = open_passage_vectors(*_npy(tmp_path, _matrix(dim=loaded.dimension)))
    encoder = encoder_for_vectors(config, vectors, encode_queries=False)
    assert isinstance(encoder, DeclaredEncoder) and encoder.describe() == declared
    with pytest.raises(InputError, match="passage vectors are given"):
        encoder.encode_passages(["x"])
    assert encoder_for_vectors(config, vectors, encode_queries=True).describe() \
        == loaded.describe()


def test_the_named_encoder_must_fit_the_vectors(tmp_path: Path, tiny_bert_path: Path) -> None:
    config = EncoderConfig(model=str(tiny_bert_path), device="cpu")
    vectors = open_passage_vectors(*_npy(tmp_path, _matrix(dim=16)))
    for encode_queries in (False, True):
        with pytest.raises(InputError, match="gives 32-d vectors but the passage vectors are "
                                             "16-d"):
            encoder_for_vectors(config, vectors, encode_queries)


def test_a_folder_refuses_another_encoder_than_it_records(tmp_path: Path,
                                                          tiny_bert_path: Path) -> None:
    config = EncoderConfig(model=str(tiny_bert_path), device="cpu")
    described = declared_description(config, 32, "float32")
    writer = VectorFolderWriter(tmp_path / "saved", {"encoder": described}, 32,
                                ["passage_vector"])
    writer.add([{"passage_id": "p0", "passage_vector": _matrix(1, 32)[0]}])
    vectors = open_passage_vectors(tmp_path / "saved")
    assert encoder_for_vectors(config, vectors, False).describe() == json.loads(
        json.dumps(described))
    with pytest.raises(InputError, match="was encoded with .*name that encoder"):
        encoder_for_vectors(EncoderConfig(model=str(tiny_bert_path), pooling="mean"),
                            vectors, False)


def test_a_sentence_transformers_model_is_loaded_to_describe_its_pooling(
        tmp_path: Path, tiny_st_path: Path) -> None:
    config = EncoderConfig(model=str(tiny_st_path), device="cpu")
    vectors = open_passage_vectors(*_npy(tmp_path, _matrix(dim=32)))
    encoder = encoder_for_vectors(config, vectors, encode_queries=False)
    assert encoder.describe()["kind"] == "sentence-transformers"
    assert encoder.describe()["pooling"] == "mean"


def test_build_documents_takes_the_given_vectors_instead_of_encoding(tmp_path: Path) -> None:
    from xqg_os.ingest.config import IngestConfig
    from xqg_os.ingest.pipeline import IngestSummary, build_documents

    matrix = _matrix()
    vectors = open_passage_vectors(*_npy(tmp_path, matrix))
    encoder = DeclaredEncoder({"model": "elsewhere", "dimension": 4})
    config = IngestConfig(corpus="c.jsonl", index="x", languages=("ja",), formula="none")
    docs = build_documents(_passages(["p4", "p1"]), {}, encoder, config, IngestSummary(),
                           ("passage_vector", "xqg_vector"), vectors)
    assert [d["passage_id"] for d in docs] == ["p4", "p1"]
    np.testing.assert_array_equal(docs[0]["passage_vector"], matrix[4])
    np.testing.assert_array_equal(docs[1]["xqg_vector"], matrix[1])


def test_the_finite_scan_reads_every_chunk_of_npy_files_and_folders(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xqg_os.ingest.vectorsource._CHECK_ROWS", 2)
    matrix = _matrix()
    matrix[3, 0] = matrix[4, 3] = np.nan
    with pytest.raises(InputError, match="2 row\\(s\\) .* \\(first: row 3, passage 'p3'\\)"):
        open_passage_vectors(*_npy(tmp_path, matrix))
    writer = VectorFolderWriter(tmp_path / "saved", {}, 4, ["passage_vector"])
    writer.add([{"passage_id": f"p{i}", "passage_vector": row} for i, row in enumerate(matrix)])
    with pytest.raises(InputError, match="2 row\\(s\\) .* \\(first: row 3, passage 'p3'\\)"):
        open_passage_vectors(tmp_path / "saved")
    matrix[3, 0] = matrix[4, 3] = 1.0
    clean = open_passage_vectors(*_npy(tmp_path / ".", matrix))
    np.testing.assert_array_equal(clean.vectors(["p4"])[0], matrix[4])
