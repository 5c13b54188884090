"""Single process vs the Ray Data pipeline (``ingest --ray --ray-workers W``) on the same corpus,
query store and encoder: docs/s and peak memory. Prints JSON.

Each run is a fresh ``xqg-os ingest`` subprocess into a fresh index (the Ray arm starts its own
local Ray instance, as a user's first run does); the arms alternate, and the medians are
reported. Peak memory is the largest sum of RSS over the run's whole process tree, sampled every
0.2 s: for Ray that includes the raylet, the GCS and every worker, for the single process just
itself. docs/s counts the command's wall time, start-up included, and the summary's own rate.

    python benchmarks/ray_ingest.py [--passages 2000] [--repeats 3] [--workers 2]
        [--encoder all-MiniLM-L6-v2] [--url URL] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from xqg_os.generate.base import GeneratedQueries
from xqg_os.generate.store import QueryStore
from xqg_os.opensearch.client import ClientConfig, make_client

LANGS = ("ja", "ru")
WORDS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest", "planet",
         "language", "bridge", "castle", "harbour", "railway", "library", "museum", "garden",
         "desert", "island", "valley"]


def write_inputs(folder: Path, count: int) -> tuple[Path, Path]:
    """A corpus of ``count`` ~80-word passages and a store of 2 queries in 2 languages each."""
    corpus = folder / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as handle:
        for i in range(count):
            text = " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(80))
            handle.write(json.dumps({"id": f"p{i}", "title": f"Title {i}",
                                     "text": f"Passage {i}: {text}."}) + "\n")
    store = QueryStore.create(folder / "queries", {"name": "bench"}, 2)
    with store.writer() as writer:
        writer.append([GeneratedQueries(f"p{i}", lang, tuple(
            f"{lang} question {k} about {WORDS[(i + k) % len(WORDS)]} {i}" for k in range(2)))
            for i in range(count) for lang in LANGS])
    return corpus, folder / "queries"


def _tree_rss(root: Any) -> int:
    import psutil

    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def run(args: list[str]) -> dict[str, float]:
    """One ingest: wall seconds, peak tree RSS (MB) and the summary's docs/s."""
    import psutil

    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "xqg_os.cli", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    peak = 0
    root = psutil.Process(child.pid)

    def sample() -> None:
        nonlocal peak
        while child.poll() is None:
            peak = max(peak, _tree_rss(root))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = child.communicate()[0]
    sampler.join()
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise RuntimeError(output[-2000:])
    found = re.search(r"(\d+) written.*\(([\d.]+) docs/s\)", output)
    if not found:
        raise RuntimeError(output[-2000:])
    written = int(found[1])
    return {"wall_s": round(wall, 2), "docs_per_s_wall": round(written / wall, 1),
            "docs_per_s_summary": float(found[2]), "peak_tree_rss_mb": round(peak / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args()
    client = make_client(ClientConfig(url=args.url))
    arms = {"single_process": [], f"ray_{args.workers}_workers": ["--ray", "--ray-workers",
                                                                  str(args.workers)]}
    runs: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
    with tempfile.TemporaryDirectory() as tmp:
        corpus, store = write_inputs(Path(tmp), args.passages)
        for _ in range(args.repeats):
            for arm, extra in arms.items():  # interleaved: the arms share the machine's drift
                index = f"bench-ray-{uuid.uuid4().hex[:8]}"
                try:
                    runs[arm].append(run([
                        "ingest", "--corpus", str(corpus), "--index", index, "--url", args.url,
                        "--generated", str(store), "--languages", ",".join(LANGS), "--n", "2",
                        "--alpha", "0.01", "--formula", "sum", "--encoder", args.encoder,
                        "--device", "cpu", *extra]))
                finally:
                    client.indices.delete(index=index, ignore_unavailable=True)
    result = {
        "benchmark": "ray_ingest", "passages": args.passages, "queries_per_passage": 4,
        "encoder": args.encoder, "repeats": args.repeats, "cpus": os.cpu_count(),
        "machine": platform.machine(), "node": args.url,
        "median": {arm: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
                   for arm, rows in runs.items()},
        "runs": runs,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
