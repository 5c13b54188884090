"""The orjson serializer: numpy arrays written directly and exactly, everything else as
opensearch-py's own serializer writes it, and bulk chunking unchanged."""

from __future__ import annotations

import datetime
import decimal
import json

import numpy as np
import pytest
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

from xqg_os.opensearch.serializer import OrjsonSerializer


def test_float32_arrays_round_trip_exactly_and_shorter() -> None:
    vectors = np.random.default_rng(0).standard_normal((3, 768)).astype(np.float32)
    doc = {"passage_id": "p1", "xqg_vector": vectors[1], "passage_vector": vectors[2]}
    text = OrjsonSerializer().dumps(doc)
    assert isinstance(text, str)
    back = json.loads(text)
    np.testing.assert_array_equal(np.asarray(back["xqg_vector"], np.float32), vectors[1])
    np.testing.assert_array_equal(np.asarray(back["passage_vector"], np.float32), vectors[2])
    as_lists = JSONSerializer().dumps({k: v.tolist() if isinstance(v, np.ndarray) else v
                                       for k, v in doc.items()})
    assert len(text) < 0.7 * len(as_lists)  # float32 written as float32, not as float64


def test_other_values_as_opensearch_py_writes_them() -> None:
    ours, theirs = OrjsonSerializer(), JSONSerializer()
    data = {"date": datetime.date(2024, 5, 6), "dec": decimal.Decimal("1.5"),
            "n": np.int64(3), "f": np.float64(0.25), "b": np.bool_(True), 7: "int key",
            "text": "東京タワー", "nested": [{"a": None}], "strided": np.arange(6.0)[::2]}
    assert json.loads(ours.dumps(data)) == json.loads(theirs.dumps(data))
    assert "東京タワー" in ours.dumps(data)  # UTF-8, not \\u escapes, as opensearch-py sends
    assert ours.dumps("already text") == "already text"
    assert ours.dumps(b"bytes") == b"bytes"
    assert ours.loads('{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    assert ours.mimetype == "application/json"


def test_unserializable_and_malformed_raise_serialization_error() -> None:
    with pytest.raises(SerializationError):
        OrjsonSerializer().dumps({"x": object()})
    with pytest.raises(SerializationError):
        OrjsonSerializer().loads("{not json")


def test_streaming_bulk_chunks_numpy_documents_by_bytes() -> None:
    from opensearchpy.helpers.actions import _chunk_actions, expand_action

    vectors = np.ones((10, 64), dtype=np.float32)
    actions = [expand_action({"_index": "i", "_id": str(i), "_source": {"v": vectors[i]}})
               for i in range(10)]
    one = len(OrjsonSerializer().dumps(actions[0][0])) + len(
        OrjsonSerializer().dumps(actions[0][1])) + 2
    chunks = list(_chunk_actions(iter(actions), 500, 3 * one, OrjsonSerializer()))
    assert [len(data) for data, _ in chunks] == [3, 3, 3, 1]
    body = "\n".join(chunks[0][1])
    assert json.loads(body.splitlines()[1])["v"] == [1.0] * 64


def test_clients_made_by_xqg_os_use_it() -> None:
    from xqg_os.opensearch.client import ClientConfig, make_client

    client = make_client(ClientConfig(url="http://127.0.0.1:1"), check=False)
    assert isinstance(client.transport.serializer, OrjsonSerializer)
