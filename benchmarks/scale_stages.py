"""The per-stage throughputs that docs/scaling.md projects the paper's run from. Prints JSON.

- generation: queries per second per CPU core of a seq2seq model shaped like the paper's
  generator (mT5-base: 12+12 layers, d_model 768, 250k vocabulary), random weights (speed does
  not depend on them; no hub is reachable here), 5 sampled queries of 16 new tokens per input,
  inputs of 128 tokens, one thread;
- encoding: passages (128 tokens) and queries (32 tokens) per second per core of an encoder
  shaped like the paper's retriever (mBERT-base: 12 layers, 768, 119k vocabulary), one thread;
- bulk: documents per second that :class:`~xqg_os.opensearch.bulk.BulkWriter` writes into one
  node (two 768-d vectors per document, as ``--vector-fields both`` writes);
- size: bytes per document on disk after a force merge, per index layout (``_stats`` store size
  of a ``docs``-document index), for 768-d vectors.

    python benchmarks/scale_stages.py [--docs 20000] [--url URL] [--skip-models]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from typing import Any

import numpy as np

from xqg_os.opensearch.client import ClientConfig, make_client

DIM = 768


def generation_per_core(inputs: int = 8, n: int = 5, new_tokens: int = 16) -> dict[str, float]:
    import torch
    from transformers import MT5Config, MT5ForConditionalGeneration

    torch.manual_seed(0)
    config = MT5Config(vocab_size=250112, d_model=768, d_kv=64, d_ff=2048, num_layers=12,
                       num_decoder_layers=12, num_heads=12, decoder_start_token_id=0)
    model = MT5ForConditionalGeneration(config).eval()
    ids = torch.randint(5, 250000, (inputs, 128))
    with torch.inference_mode():
        model.generate(input_ids=ids[:2], do_sample=True, top_k=10, max_new_tokens=4,
                       min_new_tokens=4)  # warm-up
        start = time.perf_counter()
        model.generate(input_ids=ids, do_sample=True, top_k=10, num_return_sequences=n,
                       max_new_tokens=new_tokens, min_new_tokens=new_tokens)
        seconds = time.perf_counter() - start
    return {"queries_per_s_per_core": round(inputs * n / seconds, 2),
            "inputs": inputs, "queries_per_input": n, "new_tokens": new_tokens}


def encoding_per_core(count: int = 64) -> dict[str, float]:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=119547, hidden_size=768, num_hidden_layers=12,
                                 num_attention_heads=12, intermediate_size=3072)).eval()
    rates = {}
    with torch.inference_mode():
        for name, length in (("passages", 128), ("queries", 32)):
            ids = torch.randint(1000, 119000, (count, length))
            model(input_ids=ids[:4])  # warm-up
            start = time.perf_counter()
            model(input_ids=ids)
            rates[f"{name}_per_s_per_core"] = round(count / (time.perf_counter() - start), 1)
    return rates


def _docs(start: int, count: int, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((count, DIM), dtype=np.float32)
    return [{"passage_id": f"p{start + i}", "title": f"Title {start + i}",
             "text": f"Passage {start + i} " + " ".join(["word"] * 90), "lang": "en",
             "generated_queries": {"ja": ["question"] * 5, "ko": ["question"] * 5},
             **{name: vectors[i] for name in fields}} for i in range(count)]


def write_and_measure(client: Any, docs: int, layout: dict[str, Any]) -> dict[str, float]:
    """Create an index of ``layout``, bulk-write ``docs`` documents, force-merge, measure."""
    from xqg_os.opensearch.bulk import BulkConfig, BulkWriter
    from xqg_os.opensearch.index import IndexSpec, create_index

    spec = IndexSpec(name=f"bench-scale-{uuid.uuid4().hex[:8]}", dimension=DIM, **layout)
    create_index(client, spec, {"created_by": "benchmarks/scale_stages.py"})
    try:
        start = time.perf_counter()
        with BulkWriter(client, spec.name, BulkConfig(force_merge=True)) as writer:
            for offset in range(0, docs, 1000):
                writer.submit(_docs(offset, min(1000, docs - offset), spec.fields))
        seconds = time.perf_counter() - start
        stats = client.indices.stats(index=spec.name, metric="store")
        size = stats["_all"]["primaries"]["store"]["size_in_bytes"]
        return {"docs_per_s_incl_merge": round(docs / seconds, 1),
                "bytes_per_doc": round(size / docs, 1),
                "gb_per_million_passages": round(size / docs * 1e6 / 1e9, 2)}
    finally:
        client.indices.delete(index=spec.name, ignore_unavailable=True)


LAYOUTS = {
    "both, derived source (default on 3.x)": {"vector_fields": "both",
                                              "source_vectors": "derived"},
    "xqg only, derived source": {"vector_fields": "xqg", "source_vectors": "derived"},
    "both, vectors stored in _source": {"vector_fields": "both", "source_vectors": "stored"},
    "xqg only, sq quantisation": {"vector_fields": "xqg", "source_vectors": "derived",
                                  "quantization": "sq"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    parser.add_argument("--skip-models", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "scale_stages", "cpus": os.cpu_count()}
    if not args.skip_models:
        import torch

        torch.set_num_threads(1)
        result["generation_mt5_base_shape"] = generation_per_core()
        result["encoding_mbert_base_shape"] = encoding_per_core()
    client = make_client(ClientConfig(url=args.url))
    result["node"] = {"url": args.url, "version": client.info()["version"]["number"]}
    result["layouts"] = {name: write_and_measure(client, args.docs, layout)
                         for name, layout in LAYOUTS.items()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
