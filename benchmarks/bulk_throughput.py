"""Bulk write throughput against the node's ceiling. Three writers put the same documents into
fresh indexes with the same body (mapping and shards), interleaved round by round (the order
rotates) so that drifting load on a shared machine hits all alike; medians of the rounds.

- ``raw``: the ceiling. NDJSON serialised before the clock starts, chunks of ``--chunk-size``
  documents POSTed to ``_bulk`` over 2 keep-alive connections, index in the same bulk-load
  settings the writer uses (no refresh, async translog, no replicas); no client work left but
  sending.
- ``naive``: opensearch-py ``helpers.bulk`` with its defaults (one thread, stdlib json, vectors
  as Python lists), the index's own settings.
- ``writer``: xqg-os's :class:`~xqg_os.opensearch.bulk.BulkWriter` as ingest uses it (orjson
  serializer, vectors as numpy arrays, ``--concurrency`` threads, bulk-load settings restored
  at the end).

Every arm's clock ends once the data is refreshed and flushed. Besides docs/s each run reports
where the time goes: sending (``send_s``, until the last document is acknowledged) and finishing
(``finish_s``: settings restored, refresh, flush, where the HNSW graphs of the last segments are
built), client CPU (this process, all threads) and node CPU (``_nodes/stats``) per document, and
the CPU other processes took meanwhile (``/proc/stat``; the machine is shared), then the end
state (segments, their size). Ratios: ``writer/raw`` of median docs/s, ``..._per_round_median``
of the rounds' ratios, and ``..._by_cpu``: raw's client + node CPU per document over the
writer's, the docs/s ratio on a machine saturated by client and node, whatever else runs on it.
Prints JSON.

    python benchmarks/bulk_throughput.py [--docs 3000] [--dim 768] [--repeat 3] [--url URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

import numpy as np

from xqg_os.opensearch.bulk import BULK_SETTINGS, BulkConfig, BulkWriter
from xqg_os.opensearch.client import ClientConfig, make_client
from xqg_os.opensearch.index import IndexSpec, index_body, node_major

ARMS = ("raw", "naive", "writer")


def documents(count: int, dim: int, fields: tuple[str, ...], seed: int = 0
              ) -> list[dict[str, Any]]:
    """Ingest-like documents, vectors as float32 numpy rows (as the pipeline makes them)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, len(fields), dim)).astype(np.float32)
    return [{"passage_id": f"p{i}", "title": f"Title {i}", "text": f"passage text {i} " * 20,
             "lang": "en", "generated_queries": {"ja": [f"q{i}"]},
             **{field: vectors[i, j] for j, field in enumerate(fields)}}
            for i in range(count)]


def as_lists(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents as a naive application holds them: vectors as Python lists."""
    return [{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in d.items()}
            for d in docs]


def ndjson_chunks(index: str, docs: list[dict[str, Any]], size: int) -> list[bytes]:
    """``_bulk`` bodies of ``size`` documents each."""
    import orjson

    opt = orjson.OPT_SERIALIZE_NUMPY
    chunks = []
    for start in range(0, len(docs), size):
        lines = []
        for doc in docs[start:start + size]:
            lines.append(orjson.dumps({"index": {"_index": index, "_id": doc["passage_id"]}}))
            lines.append(orjson.dumps(doc, option=opt))
        chunks.append(b"\n".join(lines) + b"\n")
    return chunks


def raw_send(url: str, chunks: list[bytes], connections: int = 2) -> None:
    """POST every chunk to ``_bulk`` over ``connections`` keep-alive connections."""
    parsed = urlparse(url)
    work: queue.Queue[bytes] = queue.Queue()
    for chunk in chunks:
        work.put(chunk)
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=600)
        try:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                conn.request("POST", "/_bulk", body,
                             {"Content-Type": "application/x-ndjson"})
                response = conn.getresponse()
                data = response.read()
                if response.status != 200 or b'"errors":true' in data[:200]:
                    errors.append(f"{response.status} {data[:300]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"raw _bulk failed: {errors[0]}")


class CpuMeter:
    """CPU seconds of this process, of the node and of the whole machine over a span."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _node_ms(self) -> float:
        stats = self.client.nodes.stats(metric="process")["nodes"]
        return float(sum(n["process"]["cpu"]["total_in_millis"] for n in stats.values()))

    @staticmethod
    def _machine_busy() -> float:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> CpuMeter:
        self.client_cpu = time.process_time()
        self.node = self._node_ms()
        self.machine = self._machine_busy()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client_cpu = time.process_time() - self.client_cpu
        self.node = (self._node_ms() - self.node) / 1000
        self.machine = self._machine_busy() - self.machine


def end_state(client: Any, index: str) -> dict[str, float]:
    """Segments and their size on disk once written (summed from ``_cat/segments``: the store
    statistics can lag a flush)."""
    segments = client.cat.segments(index=index, format="json", bytes="b")
    size = sum(int(s["size"]) for s in segments)
    return {"segments": len(segments), "store_mb": round(size / 2 ** 20, 2)}


def one_run(arm: str, client: Any, plain: Any, url: str, spec: IndexSpec, major: int,
            docs: list[dict[str, Any]], listed: list[dict[str, Any]],
            config: BulkConfig) -> dict[str, float]:
    """Write the documents one way into a fresh index; timing, CPU and end state."""
    index = f"bench-bulk-{uuid.uuid4().hex[:8]}"
    body = index_body(replace(spec, name=index), major=major)
    if arm == "raw":
        body["settings"]["index"].update(BULK_SETTINGS)
    client.indices.create(index=index, body=body)
    send: Callable[[], None]
    sent: list[float] = []  # when the last document was acknowledged (before refresh + flush)
    if arm == "raw":
        chunks = ndjson_chunks(index, docs, config.chunk_size)

        def send() -> None:
            raw_send(url, chunks, connections=2)
            sent.append(time.perf_counter())
            client.indices.refresh(index=index)
            client.indices.flush(index=index)
    elif arm == "naive":
        from opensearchpy import helpers

        def send() -> None:
            helpers.bulk(plain, ({"_index": index, "_id": d["passage_id"], "_source": d}
                                 for d in listed))
            sent.append(time.perf_counter())
            plain.indices.refresh(index=index)
            plain.indices.flush(index=index)
    else:
        def send() -> None:
            with BulkWriter(client, index, config) as writer:
                writer.submit(docs)
                writer.flush()
                sent.append(time.perf_counter())
            if writer.result.failed:
                raise RuntimeError(f"{len(writer.result.failed)} documents failed")
    try:
        with CpuMeter(client) as cpu:
            start = time.perf_counter()
            send()
            seconds = time.perf_counter() - start
        if client.count(index=index)["count"] != len(docs):
            raise RuntimeError(f"{arm}: documents missing")
        state = end_state(client, index)
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
    n = len(docs)
    return {"seconds": round(seconds, 3), "docs_per_s": round(n / seconds, 1),
            "send_s": round(sent[0] - start, 3),
            "finish_s": round(seconds - (sent[0] - start), 3),
            "client_cpu_ms_per_doc": round(1000 * cpu.client_cpu / n, 3),
            "node_cpu_ms_per_doc": round(1000 * cpu.node / n, 3),
            "other_cpu_s": round(max(0.0, cpu.machine - cpu.client_cpu - cpu.node), 2),
            "wall_cpu_capacity_s": round(seconds * (os.cpu_count() or 1), 2), **state}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians reported")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2, help="the writer's threads")
    parser.add_argument("--vector-fields", choices=("xqg", "both"), default="both")
    parser.add_argument("--source-vectors", default="auto")
    parser.add_argument("--quantization", default="none")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    args = parser.parse_args()
    from opensearchpy import OpenSearch

    client = make_client(ClientConfig(url=args.url))
    plain = OpenSearch(hosts=[args.url], timeout=600)  # opensearch-py as it comes
    major, version = node_major(client)
    spec = IndexSpec(name="bench", dimension=args.dim, vector_fields=args.vector_fields,
                     source_vectors=args.source_vectors,
                     quantization=args.quantization).for_node(major, version)
    docs = documents(args.docs, args.dim, spec.fields)
    listed = as_lists(docs)
    config = BulkConfig(chunk_size=args.chunk_size, concurrency=args.concurrency)
    arms = [a for a in args.arms.split(",") if a]
    samples: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
    for arm in arms:  # warm-up, not counted: JIT, caches, connections
        one_run(arm, client, plain, args.url, spec, major, docs[:500], listed[:500], config)
    for round_no in range(args.repeat):
        order = arms[round_no % len(arms):] + arms[:round_no % len(arms)]
        for arm in order:
            samples[arm].append(one_run(arm, client, plain, args.url, spec, major, docs,
                                        listed, config))
    result: dict[str, Any] = {
        "node": version, "docs": args.docs, "dim": args.dim, "repeat": args.repeat,
        "cpus": os.cpu_count(), "layout": spec.layout(), "chunk_size": args.chunk_size,
        "writer_concurrency": args.concurrency}
    for arm, runs in samples.items():
        result[arm] = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
        result[arm]["runs"] = runs
    for arm in samples:  # CPU per document, client and node: what bounds a CPU-bound machine
        result[arm]["cpu_ms_per_doc"] = round(result[arm]["client_cpu_ms_per_doc"]
                                              + result[arm]["node_cpu_ms_per_doc"], 3)
    for other in ("raw", "naive"):
        if "writer" in samples and other in samples:
            # load-independent: the docs/s ratio a machine saturated by client + node would see
            result[f"writer/{other}_by_cpu"] = round(result[other]["cpu_ms_per_doc"]
                                                     / result["writer"]["cpu_ms_per_doc"], 3)
            result[f"writer/{other}"] = round(result["writer"]["docs_per_s"]
                                              / result[other]["docs_per_s"], 3)
            per_round = [w["docs_per_s"] / o["docs_per_s"]
                         for w, o in zip(samples["writer"], samples[other])]
            result[f"writer/{other}_per_round_median"] = round(statistics.median(per_round), 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
