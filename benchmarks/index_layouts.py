"""What a layout costs and buys, for one corpus: store size, write docs/s and ANN recall@10
against exact search, for ``--vector-fields both`` vs ``xqg``, float vs ``sq`` quantisation, and
vectors kept in the stored ``_source`` vs left out (derived on 3.x, excluded on 2.x).

The corpus is ``--docs`` embedding-like 768-d vectors (see ``ef_search_recall.py``), or real
text embeddings (``--vectors FILE``, the docstring set that ``ef_search_recall.py --cache``
keeps), with an augmented vector per passage, written through xqg-os's BulkWriter (the
ingest's writing stage; encoding is the same for every layout and left out). Layouts are
interleaved round by round, medians of ``--repeat`` rounds. Prints JSON.

    python benchmarks/index_layouts.py [--docs 6000] [--dim 768] [--repeat 3]
        [--vectors FILE] [--url URL]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
import uuid
from dataclasses import replace
from typing import Any

import numpy as np
from bulk_throughput import CpuMeter, end_state
from ef_search_recall import embedding_like

from xqg_os.opensearch.bulk import BulkConfig, BulkWriter
from xqg_os.opensearch.client import ClientConfig, make_client
from xqg_os.opensearch.index import IndexSpec, create_index, node_major
from xqg_os.opensearch.knn import default_ef_search, knn_msearch, knn_query
from xqg_os.search.exact import ExactSearcher


def corpus(count: int, queries: int, dim: int, npz: str | None = None
           ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Passage vectors, augmented vectors (the passage moved towards other vectors, as towards
    its generated queries) and query vectors: synthetic, or real ones from an .npz that
    ``ef_search_recall.py --cache`` wrote (``passages``, ``queries``)."""
    if npz:
        saved = np.load(npz)
        passages, query_vectors = saved["passages"][:count], saved["queries"][:queries]
        shifted = np.roll(saved["passages"], 1, axis=0)[:count]
    else:
        both, _ = embedding_like(count + queries, 0, dim, seed=1)
        passages, query_vectors = both[:count], both[count:]
        shifted, _ = embedding_like(count, 0, dim, seed=2)
    vectors = {"passage_vector": passages,
               "xqg_vector": (0.8 * passages + 0.2 * shifted).astype(np.float32)}
    return vectors, query_vectors


def recall_at_10(client: Any, index: str, field: str, matrix: np.ndarray,
                 queries: np.ndarray) -> float:
    """ANN recall@10 against exact search, at the searcher's default ef_search."""
    exact = ExactSearcher([str(i) for i in range(len(matrix))], matrix)
    rows, _ = exact.top(queries, 10)
    hits = knn_msearch(client, index, [knn_query(q, k=10, field=field, source=False,
                                                 ef_search=default_ef_search(10))
                                       for q in queries])
    return float(np.mean([len({h["_id"] for h in got} & set(map(str, r.tolist()))) / 10
                          for got, r in zip(hits, rows)]))


def one_run(client: Any, spec: IndexSpec, vectors: dict[str, np.ndarray],
            queries: np.ndarray) -> dict[str, float]:
    """Write the corpus in one layout; docs/s, CPU, end state and recall."""
    name = f"bench-layout-{uuid.uuid4().hex[:8]}"
    count = len(vectors["xqg_vector"])
    docs = [{"passage_id": str(i), "title": f"Title {i}", "text": f"passage text {i} " * 20,
             "lang": "en", "generated_queries": {"ja": [f"q{i} a", f"q{i} b"]},
             **{f: vectors[f][i] for f in spec.fields}} for i in range(count)]
    create_index(client, replace(spec, name=name))
    try:
        with CpuMeter(client) as cpu:
            start = time.perf_counter()
            with BulkWriter(client, name, BulkConfig(concurrency=2)) as writer:
                for offset in range(0, count, 500):
                    writer.submit(docs[offset:offset + 500])
            seconds = time.perf_counter() - start
        if writer.result.failed or client.count(index=name)["count"] != count:
            raise RuntimeError(f"{spec.layout()}: documents missing")
        result: dict[str, float] = {"docs_per_s": round(count / seconds, 1),
                                    "node_cpu_ms_per_doc": round(1000 * cpu.node / count, 3),
                                    **end_state(client, name)}
        for field in spec.fields:
            result[f"recall@10_{field}"] = round(recall_at_10(client, name, field,
                                                              vectors[field], queries), 4)
    finally:
        client.indices.delete(index=name, ignore_unavailable=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=6000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--vectors", default=None,
                        help="real vectors: an .npz from ef_search_recall.py --cache")
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    args = parser.parse_args()
    client = make_client(ClientConfig(url=args.url))
    major, version = node_major(client)
    vectors, queries = corpus(args.docs, args.queries, args.dim, args.vectors)
    lean_source = "derived" if major >= 3 else "excluded"
    quantizations = ("none", "sq") if major >= 3 else ("none",)
    dim = vectors["xqg_vector"].shape[1]
    specs = [IndexSpec(name="bench", dimension=dim, vector_fields=fields, quantization=quant,
                       source_vectors=source).for_node(major, version)
             for fields, quant, source in itertools.product(
                 ("both", "xqg"), quantizations, ("stored", lean_source))]
    samples: list[list[dict[str, float]]] = [[] for _ in specs]
    for round_no in range(args.repeat):  # interleaved; the order rotates
        order = list(range(len(specs)))
        order = order[round_no % len(order):] + order[:round_no % len(order)]
        for i in order:
            samples[i].append(one_run(client, specs[i], vectors, queries))
    table = []
    for spec, runs in zip(specs, samples):
        row: dict[str, Any] = {"vector_fields": spec.vector_fields,
                               "quantization": spec.quantization,
                               "source_vectors": spec.source_vectors}
        row.update({key: round(statistics.median(r[key] for r in runs), 4) for key in runs[0]})
        table.append(row)
    print(json.dumps({"node": version, "docs": len(vectors["xqg_vector"]),
                      "dim": vectors["xqg_vector"].shape[1], "vectors": args.vectors or "synthetic",
                      "queries": args.queries, "repeat": args.repeat,
                      "ef_search": default_ef_search(10), "layouts": table}, indent=2))


if __name__ == "__main__":
    main()
