"""Causal-LM generation: the generator's shared-prefill decoding vs transformers' ``generate``.

Both arms draw n samples per (passage, language) prompt from the same model on the same prompts:

* ``hf_generate``: ``model.generate(num_return_sequences=n, do_sample=True)``, which runs the
  prompt n times (one row per sample) and decodes until every row of the batch has ended;
* ``shared_prefill``: :class:`CausalGenerator`, which runs each prompt once, copies its cache n
  times and lets rows leave the batch at the end of their line.

The arms alternate for ``--repeats`` rounds; the JSON holds each arm's median queries/s and the
speed-up. Default model: a tiny random Llama built locally (prompt cost is small there); pass
``--model google/gemma-3-270m`` (the PyPI GGUF) for the real ratio. Not a test.

    python benchmarks/causal_generation.py [--model M] [--prompts 8] [--n 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from xqg_os.data.corpus import Passage
from xqg_os.generate import DecodingConfig, QueryRequest
from xqg_os.generate.causal import CausalConfig, CausalGenerator
from xqg_os.testing.tiny_t5 import SAMPLE_TEXT

PASSAGES = [Passage(str(i), " ".join(SAMPLE_TEXT[i % len(SAMPLE_TEXT):][:3]), "")
            for i in range(64)]


def hf_generate(generator: CausalGenerator, requests: list[QueryRequest], n: int) -> int:
    """Queries made by transformers' own sampling, batch by batch."""
    decoding = generator.config.decoding
    stops = (generator.eos | generator.newline).nonzero().flatten().tolist()
    made = 0
    for start in range(0, len(requests), generator.config.batch_size):
        chunk = requests[start:start + generator.config.batch_size]
        ids, mask = generator._pad([generator.prompt_ids(r, n) for r in chunk])
        with torch.inference_mode():
            output = generator.model.generate(
                input_ids=ids, attention_mask=mask, do_sample=True, top_k=decoding.top_k,
                temperature=decoding.temperature, num_return_sequences=n,
                max_new_tokens=decoding.max_new_tokens, eos_token_id=stops,
                pad_token_id=generator.tokenizer.pad_token_id)
        made += int(output.shape[0])
    return made


def shared_prefill(generator: CausalGenerator, requests: list[QueryRequest], n: int) -> int:
    """Queries made by the generator (parsing included)."""
    return sum(len(r.queries) for batch in generator.stream(requests, n) for r in batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model
        if model is None:
            from xqg_os.testing.tiny_causal import build_tiny_causal

            model = str(build_tiny_causal(scratch, hidden=256, layers=4, heads=4))
        generator = CausalGenerator(CausalConfig(
            model=model, device="cpu", batch_size=16, prompt_mode="few-shot",
            decoding=DecodingConfig(max_new_tokens=24, temperature=0.7)))
        requests = [QueryRequest(p, "de") for p in PASSAGES[:args.prompts]]
        rates: dict[str, list[float]] = {"hf_generate": [], "shared_prefill": []}
        for _ in range(args.repeats):
            for name, arm in (("hf_generate", hf_generate), ("shared_prefill", shared_prefill)):
                start = time.perf_counter()
                made = arm(generator, requests, args.n)
                rates[name].append(made / (time.perf_counter() - start))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(json.dumps({"benchmark": "causal_generation", "model": generator.model_id,
                      "prompts": args.prompts, "n": args.n, "repeats": args.repeats,
                      "threads": args.threads, "python": platform.python_version(),
                      "queries_per_s": {k: round(v, 2) for k, v in medians.items()},
                      "speedup": round(medians["shared_prefill"] / medians["hf_generate"], 2)}))


if __name__ == "__main__":
    main()
