"""Query-generation throughput: length-sorted batched generation vs a naive per-input loop.

Builds the tiny random T5 (``xqg_os.testing.tiny_t5``) in a temporary folder and generates the
same queries three ways on the same inputs (passages of varied length x languages, n each):

* ``naive``: one ``model.generate`` call per (passage, language), transformers' own sampling;
* ``batched_unsorted``: :class:`Seq2SeqGenerator` fed one batch at a time in corpus order;
* ``batched_sorted``: :class:`Seq2SeqGenerator` over the whole pool, sorted by length.

Prints one JSON object with queries/s of each and the speed-up of sorted batching over the
naive loop. Not part of the test pass/fail.

    python benchmarks/generation_throughput.py [--passages 48] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from xqg_os.data.corpus import Passage
from xqg_os.generate import DecodingConfig, QueryRequest, render_prompt
from xqg_os.generate.seq2seq import Seq2SeqConfig, Seq2SeqGenerator
from xqg_os.languages import XOR_TYDI_LANGUAGES
from xqg_os.testing.tiny_t5 import SAMPLE_TEXT, build_tiny_t5


def make_passages(count: int, seed: int) -> list[Passage]:
    """Passages of 5 to 150 words drawn from the tiny model's sample text."""
    rng = random.Random(seed)
    words = " ".join(SAMPLE_TEXT).split()
    return [Passage(f"b{i}", " ".join(rng.choice(words) for _ in range(rng.randint(5, 150))),
                    title=rng.choice(words)) for i in range(count)]


def timed(label: str, work: Callable[[], int]) -> dict[str, float]:
    """Run ``work`` (which returns the number of queries made) and time it."""
    start = time.perf_counter()
    queries = work()
    seconds = time.perf_counter() - start
    return {"queries": queries, "seconds": round(seconds, 3),
            "queries_per_s": round(queries / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=48)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as folder:
        build_tiny_t5(folder, d_model=args.d_model, num_layers=args.layers)
        decoding = DecodingConfig(max_new_tokens=args.max_new_tokens, seed=1)
        generator = Seq2SeqGenerator(Seq2SeqConfig(model=folder, decoding=decoding,
                                                   batch_size=args.batch_size,
                                                   device=args.device))
        model, tokenizer = generator.model, generator.tokenizer
        passages = make_passages(args.passages, seed=0)
        requests = [QueryRequest(p, lang) for p in passages for lang in XOR_TYDI_LANGUAGES]
        n = args.n

        def naive() -> int:
            made = 0
            with torch.inference_mode():
                for request in requests:
                    prompt = render_prompt(generator.config.template, request.passage,
                                           request.lang, n)
                    inputs = tokenizer(prompt, truncation=True, max_length=generator.max_length,
                                       return_tensors="pt").to(generator.device)
                    out = model.generate(**inputs, do_sample=True, top_k=10,
                                         max_new_tokens=args.max_new_tokens,
                                         num_return_sequences=n)
                    made += len(tokenizer.batch_decode(out, skip_special_tokens=True))
            return made

        def batched_sorted() -> int:
            return sum(len(r.queries) for batch in generator.stream(requests, n) for r in batch)

        def batched_unsorted() -> int:
            size = args.batch_size
            return sum(len(r.queries) for start in range(0, len(requests), size)
                       for batch in generator.stream(requests[start:start + size], n)
                       for r in batch)

        generator.generate(passages[:2], ["ar"], n)  # warm-up
        results = {"naive": timed("naive", naive),
                   "batched_unsorted": timed("batched_unsorted", batched_unsorted),
                   "batched_sorted": timed("batched_sorted", batched_sorted)}

    speedup = results["batched_sorted"]["queries_per_s"] / results["naive"]["queries_per_s"]
    print(json.dumps({
        "benchmark": "generation_throughput",
        "device": str(generator.device), "threads": args.threads,
        "cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
        "model": {"kind": "tiny random T5", "d_model": args.d_model, "layers": args.layers},
        "passages": len(passages), "languages": len(XOR_TYDI_LANGUAGES), "n": n,
        "inputs": len(requests), "max_new_tokens": args.max_new_tokens,
        "batch_size": args.batch_size, **results,
        "speedup_sorted_vs_naive": round(speedup, 2),
        "speedup_sorted_vs_unsorted": round(results["batched_sorted"]["queries_per_s"]
                                            / results["batched_unsorted"]["queries_per_s"], 2),
        "target_speedup": 3.0, "meets_target": speedup >= 3.0}, indent=2))


if __name__ == "__main__":
    main()
