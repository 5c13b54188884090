"""Peak memory of ``xqg-os ingest`` on the fixture corpus and on 10x of it: it must not grow
with corpus size (the pipeline streams in batches). Each run is a fresh subprocess; its peak RSS
comes from getrusage. Prints JSON.

    python benchmarks/ingest_memory.py [--base 300] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from xqg_os.generate.base import GeneratedQueries
from xqg_os.generate.store import QueryStore
from xqg_os.opensearch.client import ClientConfig, make_client
from xqg_os.testing.tiny_bert import build_tiny_bert

LANGS = ("ja", "ru")


def write_inputs(folder: Path, count: int) -> tuple[Path, Path]:
    corpus = folder / f"corpus-{count}.jsonl"
    with open(corpus, "w", encoding="utf-8") as handle:
        for i in range(count):
            text = f"Passage {i} " + " ".join(f"word{(i * 31 + j) % 997}" for j in range(60))
            handle.write(json.dumps({"id": f"p{i}", "title": f"Title {i}", "text": text}) + "\n")
    store = QueryStore.create(folder / f"queries-{count}", {"name": "bench"}, 5)
    with store.writer() as writer:
        for start in range(0, count, 1000):
            writer.append([GeneratedQueries(f"p{i}", lang, tuple(f"{lang} q{k} {i}"
                                                                  for k in range(5)))
                           for i in range(start, min(count, start + 1000)) for lang in LANGS])
    return corpus, folder / f"queries-{count}"


def peak_rss_mb(args: list[str]) -> float:
    code = ("import resource, sys\n"
            "from xqg_os.cli import main\n"
            "try:\n    main(sys.argv[1:], standalone_mode=False)\n"
            "finally:\n"
            "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    peak_kb = [line for line in done.stderr.splitlines() if line.startswith("PEAK")][-1]
    return round(int(peak_kb.split()[1]) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=int, default=300, help="passages of the 1x corpus")
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    args = parser.parse_args()
    client = make_client(ClientConfig(url=args.url))
    results: dict[str, object] = {"batch_size": 64}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_bert(folder / "tiny-bert")
        for label, count in (("1x", args.base), ("10x", args.base * 10)):
            corpus, queries = write_inputs(folder, count)
            index = f"bench-mem-{uuid.uuid4().hex[:8]}"
            try:
                peak = peak_rss_mb([
                    "ingest", "--corpus", str(corpus), "--index", index, "--generated",
                    str(queries), "--languages", ",".join(LANGS), "--n", "5",
                    "--encoder", str(model), "--device", "cpu", "--batch-size", "64",
                    "--url", args.url])
                docs = client.count(index=index)["count"]
            finally:
                client.indices.delete(index=index, ignore_unavailable=True)
            results[label] = {"passages": count, "indexed": docs, "peak_rss_mb": peak}
    one, ten = results["1x"], results["10x"]
    results["growth_ratio"] = round(ten["peak_rss_mb"] / one["peak_rss_mb"], 3)  # type: ignore
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
