"""The embedding store: reuse across runs, crash safety, float16, keys and locking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xqg_os.encode import Encoder, EncoderConfig, load_encoder
from xqg_os.encode.cache import EmbeddingStore, encode_cached
from xqg_os.errors import InputError

TEXTS = {"p1": "Paris is the capital of France.", "p2": "パリはフランスの首都",
         "p3": "Кто написал роман Война и мир?", "p4": "Who?", "p5": "Mount Everest"}


class CountingEncoder:
    """A real encoder that counts the texts it is asked to encode."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.encoded: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return self.inner.encode_passages(texts)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


@pytest.fixture(scope="module")
def tiny(tiny_bert_path: Path) -> Encoder:
    return load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))


def _open(root: Path, encoder: Encoder, role: str = "passage", dtype: str = "float32",
          input_fp: str = "corpus-fp") -> EmbeddingStore:
    return EmbeddingStore.open_or_create(root, encoder.describe(), role, input_fp,
                                         encoder.dimension, dtype)


def test_counting_encoder_is_an_encoder(tiny: Encoder) -> None:
    assert isinstance(CountingEncoder(tiny), Encoder)


def test_second_run_encodes_nothing(tmp_path: Path, tiny: Encoder) -> None:
    ids, texts = list(TEXTS), list(TEXTS.values())
    counting = CountingEncoder(tiny)
    first = encode_cached(counting, _open(tmp_path, tiny), ids[:3], texts[:3], "passage",
                          chunk_size=2, progress=False)
    assert counting.encoded == texts[:3]
    np.testing.assert_allclose(first, tiny.encode_passages(texts[:3]), atol=1e-6)

    counting.encoded.clear()
    store = _open(tmp_path, tiny)  # a new run: everything comes from disk
    assert len(store) == 3 and store.missing(ids) == ["p4", "p5"]
    again = encode_cached(counting, store, ids, texts, "passage", progress=False)
    assert counting.encoded == texts[3:]  # only what was missing
    np.testing.assert_allclose(again[:3], first, atol=0)
    counting.encoded.clear()
    encode_cached(counting, _open(tmp_path, tiny), ids[::-1], texts[::-1], "passage",
                  progress=False)
    assert counting.encoded == []


def test_get_order_repeats_and_unknown_ids(tmp_path: Path) -> None:
    store = EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "query", "fp", 2)
    vectors = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    assert store.add(["a", "b", "a"], vectors) == 2  # the repeat keeps its first vector
    assert store.add(["b", "c"], vectors[1:]) == 1
    np.testing.assert_array_equal(store.get(["c", "a", "a"]), [[5, 6], [1, 2], [1, 2]])
    assert store.get([]).shape == (0, 2) and "a" in store and store.ids == ["a", "b", "c"]
    with pytest.raises(InputError, match="not in embedding store"):
        store.get(["a", "zz"])
    with pytest.raises(InputError, match="shape"):
        store.add(["d"], np.zeros((1, 3), np.float32))
    loaded = np.load(store.vectors_path, mmap_mode="r")  # a plain .npy for other tools
    np.testing.assert_array_equal(loaded, [[1, 2], [3, 4], [5, 6]])


def test_uncommitted_vectors_are_ignored_after_a_crash(tmp_path: Path) -> None:
    store = EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "passage", "fp", 2)
    store.add(["a", "b"], np.array([[1, 1], [2, 2]], dtype=np.float32))
    store.close()
    # a crash after writing vectors for c and d, and half of c's id line
    with open(store.vectors_path, "ab") as handle:
        handle.write(np.array([[9, 9], [8, 8]], dtype="<f4").tobytes())
    with open(store.ids_path, "ab") as handle:
        handle.write(b'"c')

    reopened = EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "passage", "fp", 2)
    assert len(reopened) == 2 and reopened.missing(["a", "c", "d"]) == ["c", "d"]
    reopened.add(["d"], np.array([[4, 4]], dtype=np.float32))
    np.testing.assert_array_equal(reopened.get(["a", "b", "d"]), [[1, 1], [2, 2], [4, 4]])
    lines = reopened.ids_path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == ["a", "b", "d"]
    assert np.load(reopened.vectors_path).shape == (3, 2)


def test_float16_storage(tmp_path: Path, tiny: Encoder) -> None:
    store = _open(tmp_path, tiny, dtype="float16")
    got = encode_cached(tiny, store, list(TEXTS), list(TEXTS.values()), "passage",
                        progress=False)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, tiny.encode_passages(list(TEXTS.values())), rtol=2e-3,
                               atol=2e-3)
    assert np.load(store.vectors_path).dtype == np.float16


def test_store_key_covers_encoder_role_input_and_dtype(tmp_path: Path, tiny: Encoder) -> None:
    paths = {_open(tmp_path, tiny).path, _open(tmp_path, tiny, role="query").path,
             _open(tmp_path, tiny, input_fp="other").path,
             _open(tmp_path, tiny, dtype="float16").path,
             EmbeddingStore.open_or_create(tmp_path, {**tiny.describe(), "pooling": "mean"},
                                           "passage", "corpus-fp", 32).path}
    assert len(paths) == 5
    meta = json.loads((_open(tmp_path, tiny).path / "meta.json").read_text(encoding="utf-8"))
    assert meta["role"] == "passage" and meta["dim"] == 32 and meta["encoder"]["kind"]


def test_queries_use_the_query_settings(tmp_path: Path, tiny: Encoder) -> None:
    got = encode_cached(tiny, _open(tmp_path, tiny, role="query"), ["q"], ["Who wrote it?"],
                        "query", progress=False)
    np.testing.assert_allclose(got, tiny.encode_queries(["Who wrote it?"]), atol=1e-6)


def test_refusals(tmp_path: Path, tiny: Encoder) -> None:
    store = _open(tmp_path, tiny)
    with pytest.raises(InputError, match="ids but"):
        encode_cached(tiny, store, ["a"], [], "passage", progress=False)
    with pytest.raises(InputError, match="role"):
        encode_cached(tiny, store, ["a"], ["x"], "document", progress=False)
    small = EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "passage", "fp", 4)
    with pytest.raises(InputError, match="4-d"):
        encode_cached(tiny, small, ["a"], ["x"], "passage", progress=False)
    with pytest.raises(InputError, match="holds 4-d"):
        EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "passage", "fp", 8)
    with pytest.raises(InputError, match="dtype"):
        EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "passage", "fp", 4, "int8")


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    first = EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "passage", "fp", 2)
    second = EmbeddingStore.open_or_create(tmp_path, {"model": "m"}, "passage", "fp", 2)
    with first:
        first.add(["a"], np.ones((1, 2), np.float32))
        with pytest.raises(InputError, match="another process"):
            second.add(["b"], np.ones((1, 2), np.float32))
    second.add(["b"], np.zeros((1, 2), np.float32))  # the lock is free: it sees a, adds b
    np.testing.assert_array_equal(second.get(["a", "b"]), [[1, 1], [0, 0]])
    second.close()
