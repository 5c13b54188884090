"""Bulk write throughput: xqg-os's BulkWriter (bulk-load settings, tuned chunks) against a naive
``helpers.bulk`` of the same documents into an index with default settings. Same node, same
documents, one run; prints JSON.

    python benchmarks/bulk_throughput.py [--docs 5000] [--dim 128] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

import numpy as np

from xqg_os.opensearch.bulk import BulkConfig, BulkWriter
from xqg_os.opensearch.client import ClientConfig, make_client
from xqg_os.opensearch.index import IndexSpec, create_index


def documents(count: int, dim: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, 2, dim)).astype(np.float32)
    return [{"passage_id": f"p{i}", "title": f"Title {i}", "text": f"passage text {i} " * 20,
             "lang": "en", "generated_queries": {"ja": [f"q{i}"]},
             "passage_vector": vectors[i, 0].tolist(), "xqg_vector": vectors[i, 1].tolist()}
            for i in range(count)]


def naive(client: Any, index: str, docs: list[dict[str, Any]]) -> float:
    from opensearchpy import helpers

    start = time.perf_counter()
    helpers.bulk(client, ({"_index": index, "_id": d["passage_id"], "_source": d} for d in docs))
    client.indices.refresh(index=index)
    return time.perf_counter() - start


def ours(client: Any, index: str, docs: list[dict[str, Any]], config: BulkConfig) -> float:
    start = time.perf_counter()
    with BulkWriter(client, index, config) as writer:
        failed = [doc_id for ok, doc_id in writer.write(docs) if not ok]
    if failed:
        raise RuntimeError(f"{len(failed)} documents failed")
    return time.perf_counter() - start


def one_run(client: Any, name: str, docs: list[dict[str, Any]], dim: int) -> dict[str, float]:
    """Write ``docs`` one way into a fresh index, then force-merge it to one segment."""
    index = f"bench-bulk-{uuid.uuid4().hex[:8]}"
    spec = IndexSpec(name=index, dimension=dim)
    try:
        if name == "naive_helpers_bulk":
            # the same mapping, with OpenSearch's default index settings (1s refresh, 1 replica)
            from xqg_os.opensearch.index import index_body

            body = index_body(spec)
            body["settings"]["index"].pop("number_of_replicas")
            client.indices.create(index=index, body=body)
            seconds = naive(client, index, docs)
        else:
            create_index(client, spec)
            refresh = "1s" if name == "xqg_bulk_writer_refresh_1s" else "-1"
            seconds = ours(client, index, docs, BulkConfig(chunk_size=500, concurrency=2,
                                                           bulk_refresh_interval=refresh))
        if client.count(index=index)["count"] != len(docs):
            raise RuntimeError(f"{name}: documents missing")
        segments = len(client.cat.segments(index=index, format="json"))
        start = time.perf_counter()  # the same end state for both: one merged segment
        client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=600)
        merge = time.perf_counter() - start
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
    return {"seconds": round(seconds, 3), "docs_per_s": round(len(docs) / seconds, 1),
            "segments_after_write": segments, "force_merge_seconds": round(merge, 3),
            "docs_per_s_incl_merge": round(len(docs) / (seconds + merge), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians reported")
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    args = parser.parse_args()
    client = make_client(ClientConfig(url=args.url))
    docs = documents(args.docs, args.dim)
    results: dict[str, Any] = {"docs": args.docs, "dim": args.dim, "repeat": args.repeat}
    samples: dict[str, list[dict[str, float]]] = {
        "naive_helpers_bulk": [], "xqg_bulk_writer": [], "xqg_bulk_writer_refresh_1s": []}
    for _ in range(args.repeat):  # interleaved, so drifting load hits both alike
        for name in samples:
            samples[name].append(one_run(client, name, docs, args.dim))
    for name, runs in samples.items():
        results[name] = {key: round(float(np.median([r[key] for r in runs])), 3)
                         for key in runs[0]}
        results[name]["runs"] = runs
    for variant in ("xqg_bulk_writer", "xqg_bulk_writer_refresh_1s"):
        for key in ("docs_per_s", "docs_per_s_incl_merge"):
            results[f"speedup_{variant}_{key}"] = round(
                results[variant][key] / results["naive_helpers_bulk"][key], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
