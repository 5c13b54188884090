"""Integration: a real k-NN index on the real node answers like exact numpy search."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from xqg_os.opensearch.bulk import BulkWriter
from xqg_os.opensearch.index import IndexSpec, create_index
from xqg_os.opensearch.knn import knn_msearch, knn_query
from xqg_os.opensearch.meta import index_info

pytestmark = pytest.mark.integration


def _docs(vectors: np.ndarray) -> list[dict[str, Any]]:
    return [{"passage_id": str(i), "title": "", "text": f"doc {i}", "lang": "en",
             "generated_queries": {}, "passage_vector": vec.tolist(), "xqg_vector": vec.tolist()}
            for i, vec in enumerate(vectors)]


def test_knn_recall_against_exact_numpy(os_client: Any, index_name: str) -> None:
    rng = np.random.default_rng(7)
    corpus = rng.standard_normal((2000, 64)).astype(np.float32)
    queries = rng.standard_normal((50, 64)).astype(np.float32)
    create_index(os_client, IndexSpec(name=index_name, dimension=64, space_type="innerproduct"))
    with BulkWriter(os_client, index_name) as writer:
        failures = [doc_id for ok, doc_id in writer.write(_docs(corpus)) if not ok]
    assert failures == []
    assert index_info(os_client, index_name)["docs"] == 2000

    hits = knn_msearch(os_client, index_name,
                       [knn_query(q, k=10, field="xqg_vector", ef_search=100) for q in queries])
    exact = np.argsort(-(queries @ corpus.T), axis=1)[:, :10]
    recalls = [len({int(h["_id"]) for h in got} & set(truth.tolist())) / 10
               for got, truth in zip(hits, exact)]
    assert all(len(got) == 10 for got in hits)
    print(f"k-NN mean recall@10 vs exact numpy: {np.mean(recalls):.4f} (50 queries, 2000 docs)")
    assert float(np.mean(recalls)) >= 0.95
    # scores are inner products (OpenSearch maps negative ones below 1): the best hit matches numpy
    best = queries[0] @ corpus[exact[0][0]]
    top = hits[0][0]["_score"]
    assert top == pytest.approx(best + 1 if best >= 0 else 1 / (1 - best), rel=1e-4)


def test_bulk_writer_restores_settings(os_client: Any, index_name: str) -> None:
    create_index(os_client, IndexSpec(name=index_name, dimension=4))
    os_client.indices.put_settings(index=index_name, body={"index": {"refresh_interval": "7s"}})
    with pytest.raises(RuntimeError), BulkWriter(os_client, index_name) as writer:
        list(writer.write(_docs(np.ones((3, 4), dtype=np.float32))))
        during = os_client.indices.get_settings(index=index_name)[index_name]
        assert during["settings"]["index"]["refresh_interval"] == "-1"
        raise RuntimeError("boom")
    after = os_client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert after["refresh_interval"] == "7s"
    assert os_client.count(index=index_name)["count"] == 3


def test_rewriting_same_ids_does_not_duplicate(os_client: Any, index_name: str) -> None:
    create_index(os_client, IndexSpec(name=index_name, dimension=4))
    docs = _docs(np.eye(4, dtype=np.float32))
    for _ in range(2):
        with BulkWriter(os_client, index_name) as writer:
            assert all(ok for ok, _ in writer.write(docs))
    assert os_client.count(index=index_name)["count"] == 4


def test_settings_survive_a_killed_bulk_run(os_client: Any, index_name: str) -> None:
    from xqg_os.opensearch.bulk import SAVED_KEY

    create_index(os_client, IndexSpec(name=index_name, dimension=4), meta={"keep": 1})
    os_client.indices.put_settings(index=index_name, body={"index": {"refresh_interval": "5s"}})
    killed = BulkWriter(os_client, index_name)
    killed.__enter__()  # a run that dies without restoring: the index stays in bulk mode
    with BulkWriter(os_client, index_name):  # the rerun must restore 5s, not the -1 it finds
        pass
    settings = os_client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert settings["refresh_interval"] == "5s"
    meta = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    assert SAVED_KEY not in meta and meta["keep"] == 1


@pytest.mark.parametrize("count,page", [(20, 500), (45, 10), (30, 30)])
def test_reading_an_index_leaves_it_searchable(os_client: Any, index_name: str, count: int,
                                               page: int) -> None:
    """Every document comes back once, in any paging, and searches keep working afterwards (a
    scroll read all at once breaks the shard on 3.4 with derived vector source)."""
    from xqg_os.opensearch.read import iter_documents

    vectors = np.random.default_rng(3).standard_normal((count, 8)).astype(np.float32)
    create_index(os_client, IndexSpec(name=index_name, dimension=8))
    with BulkWriter(os_client, index_name) as writer:
        assert all(ok for ok, _ in writer.write(_docs(vectors)))
    for _ in range(2):
        docs = list(iter_documents(os_client, index_name, ["xqg_vector"], page=page))
        assert sorted(int(d["_id"]) for d in docs) == list(range(count))
        ordered = sorted(docs, key=lambda d: int(d["_id"]))
        got = np.array([d["_source"]["xqg_vector"] for d in ordered])
        np.testing.assert_allclose(got, vectors, rtol=1e-6)
    hits = knn_msearch(os_client, index_name, [knn_query(vectors[0], k=3)])[0]
    assert hits[0]["_id"] == "0"
