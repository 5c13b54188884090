"""Sweep cost: a grid of >= 10 xQG points over warm stores against one evaluation from scratch.

Data: the bundled sample (``xqg_os/sample``: 60 passages, 60 questions in 9 languages, 2
precomputed queries per passage in ja, ru, fr, de). Encoder: the tiny random BERT of the tests
(or ``--encoder``). Measured side by side in one run, medians of ``--repeats``:

- ``single_eval_s``: one dense evaluation from scratch: load the encoder, encode the corpus and
  the questions, search exactly, evaluate (nDCG@10, R@100, MRR@10);
- ``single_xqg_eval_s``: the same plus encoding the generated queries and one augmentation;
- ``sweep_s``: the whole grid with the stores filled once beforehand (``prefill_s``): load the
  encoder (its description keys the stores), read every vector from the stores, re-mix and
  search every point, evaluate all points with significance tests against n=0.

Prints JSON with the timings and ``ratio = sweep_s / single_eval_s``.

    python benchmarks/study_sweep.py [--repeats 3] [--encoder PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE = Path(__file__).resolve().parent.parent / "xqg_os" / "sample"


class CountingEncoder:
    """Counts the texts the model is asked to encode (the sweep must ask for none)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.texts = 0

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.encode_passages(texts)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


def query_store(folder: Path) -> Any:
    """The sample's precomputed queries as a query store (n=2)."""
    from xqg_os.generate import GeneratedQueries, QueryStore

    records = []
    for line in (SAMPLE / "precomputed_queries.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        records.append(GeneratedQueries(record["id"], record["lang"], tuple(record["queries"])))
    store = QueryStore.create(folder, {"kind": "precomputed", "model": "xqg_os/sample"},
                              min(len(r.queries) for r in records))
    with store.writer() as writer:
        writer.append(records)
    return QueryStore.open(store.path)


def single(model: str, data: Any, store: Any | None, config: Any) -> float:
    """One evaluation from scratch (no store): xQG at n=2, alpha 0.1, all languages when
    ``store`` is given, plain dense retrieval otherwise."""
    from xqg_os.augment import augment, select_queries
    from xqg_os.data.corpus import passage_input
    from xqg_os.encode import EncoderConfig, load_encoder
    from xqg_os.evaluate import evaluate_runs
    from xqg_os.study import exact_run

    start = time.perf_counter()
    encoder = load_encoder(EncoderConfig(model=model, device="cpu"))
    passages = encoder.encode_passages([passage_input(p) for p in data.passages])
    if store is not None:
        languages = store.describe()["languages"]
        found = store.get([p.id for p in data.passages], languages, 2)
        chosen = [select_queries(found.get(p.id, {}), languages, 2) for p in data.passages]
        flat = encoder.encode_queries([q for group in chosen for q in group])
        passages = augment(passages, flat, 0.1, "sum", counts=[len(g) for g in chosen])
    queries = encoder.encode_queries([q.text for q in data.queries])
    run = exact_run([p.id for p in data.passages], passages, queries,
                    [q.id for q in data.queries], config.depth)
    evaluate_runs({"single": run}, data.queries, data.qrels, config=config.eval)
    return time.perf_counter() - start


def sweep(model: str, data: Any, store: Any, grid: Any, cache: Path, config: Any
          ) -> tuple[float, int, int]:
    """The grid over warm stores; returns (seconds, texts encoded, rows)."""
    from xqg_os.encode import EncoderConfig, load_encoder
    from xqg_os.study import run_sweep

    start = time.perf_counter()
    counting = CountingEncoder(load_encoder(EncoderConfig(model=model, device="cpu")))
    result = run_sweep(counting, data, store, grid, cache, config, progress=False)
    return time.perf_counter() - start, counting.texts, len(result.rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--encoder", default=None, help="default: the tiny test BERT")
    parser.add_argument("--n", default="0,1,2")
    parser.add_argument("--alpha", default="0.01,0.1")
    parser.add_argument("--formula", default="sum,mean")
    parser.add_argument("--languages", default="all")
    args = parser.parse_args()

    import torch

    from xqg_os.evaluate import EvalConfig
    from xqg_os.study import EvalData, Grid, SweepConfig
    from xqg_os.testing.tiny_bert import build_tiny_bert

    torch.set_num_threads(1)  # a shared machine: one core, comparable runs
    with tempfile.TemporaryDirectory(prefix="xqg-bench-") as scratch:
        root = Path(scratch)
        model = args.encoder or str(build_tiny_bert(root / "tiny-bert"))
        data = EvalData.load(SAMPLE / "corpus.jsonl", SAMPLE / "queries.jsonl",
                             SAMPLE / "qrels.txt", name="sample")
        store = query_store(root / "generated")
        grid = Grid.parse(args.n, args.alpha, args.formula, args.languages)
        config = SweepConfig(eval=EvalConfig(metrics=("nDCG@10", "R@100", "MRR@10"), kt=()))
        single(model, data, None, config)  # warm-up: imports, file cache
        tick = time.perf_counter()
        _, prefill_texts, _ = sweep(model, data, store, grid, root / "cache", config)
        prefill = time.perf_counter() - tick
        plain, xqg, swept, encoded, rows = [], [], [], [], 0
        for _ in range(args.repeats):  # interleaved, so drifts of a shared machine hit all
            plain.append(single(model, data, None, config))
            xqg.append(single(model, data, store, config))
            seconds, texts, rows = sweep(model, data, store, grid, root / "cache", config)
            swept.append(seconds)
            encoded.append(texts)
        result = {
            "data": f"xqg_os/sample: {len(data.passages)} passages, {len(data.queries)} "
                    f"questions, generated queries n={store.max_n} in "
                    f"{','.join(store.describe()['languages'])}",
            "encoder": args.encoder or "tiny random BERT (2 layers, 32-d), CPU, 1 thread",
            "grid_points": len(grid), "rows": rows, "repeats": args.repeats,
            "single_eval_s": round(statistics.median(plain), 4),
            "single_xqg_eval_s": round(statistics.median(xqg), 4),
            "sweep_s": round(statistics.median(swept), 4),
            "sweep_texts_encoded": max(encoded),
            "prefill_s": round(prefill, 4), "prefill_texts_encoded": prefill_texts,
            "ratio": round(statistics.median(swept) / statistics.median(plain), 3),
            "ratio_vs_single_xqg": round(statistics.median(swept) / statistics.median(xqg), 3),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
