"""Search throughput and latency: ``XQGSearcher.batch_search`` (one batched encoder call,
``_msearch``) against a loop of single ``search`` calls, same queries, same index, one run.
Prints JSON.

    python benchmarks/search_throughput.py [--index NAME] [--repeat 5] [--url URL]

Without ``--index`` it ingests the bundled sample with the shipped all-MiniLM-L6-v2 encoder
into a temporary index first.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from importlib import resources
from typing import Any

import numpy as np

from xqg_os.data.evalfiles import read_queries
from xqg_os.opensearch.client import ClientConfig, make_client
from xqg_os.search.knn import XQGSearcher


def build_index(client: Any, url: str) -> str:
    from click.testing import CliRunner

    from xqg_os.cli import main

    sample = resources.files("xqg_os").joinpath("sample")
    name = f"bench-search-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(main, ["ingest", "--corpus", str(sample / "corpus.jsonl"),
                                       "--index", name, "--encoder", "all-MiniLM-L6-v2",
                                       "--url", url])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return name


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=None)
    parser.add_argument("--repeat", type=int, default=5, help="copies of the sample queries")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64, help="queries per batch_search call")
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    args = parser.parse_args()
    client = make_client(ClientConfig(url=args.url))
    index = args.index or build_index(client, args.url)
    try:
        sample = resources.files("xqg_os").joinpath("sample", "queries.jsonl")
        texts = [q.text for q in read_queries(str(sample))] * args.repeat
        searcher = XQGSearcher(client, index)
        searcher.batch_search(texts[:8], k=args.k)  # warm-up: model, caches, graph loading
        single_latency = []
        start = time.perf_counter()
        for text in texts:
            t0 = time.perf_counter()
            searcher.search(text, k=args.k)
            single_latency.append(time.perf_counter() - t0)
        single = time.perf_counter() - start
        batch_latency = []
        start = time.perf_counter()
        for offset in range(0, len(texts), args.batch):
            t0 = time.perf_counter()
            chunk = texts[offset:offset + args.batch]
            searcher.batch_search(chunk, k=args.k)
            # per-query latency inside a batch: the batch's time, as each waits for all
            batch_latency.extend([time.perf_counter() - t0] * len(chunk))
        batched = time.perf_counter() - start
        result = {
            "index": index, "encoder": searcher.meta.get("encoder", {}).get("model"),
            "queries": len(texts), "k": args.k, "batch": args.batch,
            "single_search_loop": {"qps": round(len(texts) / single, 1),
                                   **percentiles(single_latency)},
            "batch_search": {"qps": round(len(texts) / batched, 1),
                             **percentiles(batch_latency)},
            "speedup": round(single / batched, 2),
        }
        print(json.dumps(result, indent=2))
    finally:
        if args.index is None:
            client.indices.delete(index=index, ignore_unavailable=True)


if __name__ == "__main__":
    main()
