"""Hybrid search vs k-NN alone (and BM25 alone) on the bundled sample, side by side. Prints JSON:
per system the macro averages of nDCG@10, R@10, MRR@10 and R@kt, and nDCG@10 per language.

    python benchmarks/hybrid_sample.py [--index NAME] [--fusions rrf,min_max:0.3] [--url URL]

Without ``--index`` it builds the sample index as ``scripts/demo`` does (precomputed queries
ja, ru, fr, de; n=2; the shipped USE multilingual encoder; formula mean, alpha 0.3) into a
temporary index, deleted afterwards. The sample's passages are English and most queries are
not: BM25 alone only matches names and cognates, so it is weak cross-lingually. Quality only,
no timing (every number is deterministic for a given index).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from collections.abc import Sequence
from importlib import resources
from typing import Any

from xqg_os.data.evalfiles import Query, qrels_to_dict, read_answers, read_qrels, read_queries
from xqg_os.evaluate import EvalConfig
from xqg_os.opensearch.client import ClientConfig, make_client
from xqg_os.search.base import Hit, Searcher
from xqg_os.search.hybrid import HybridSearcher, hybrid_name
from xqg_os.search.knn import knn_searchers
from xqg_os.search.runs import evaluate_searchers, system_name

FIELDS = ("passage_vector", "xqg_vector")
DEFAULT_FUSIONS = "rrf,rrf:0.3,min_max,min_max:0.3,l2:0.3"


class BM25Searcher:
    """BM25 alone, through the hybrid searcher's keyword request (the :class:`Searcher`
    protocol)."""

    def __init__(self, hybrid: HybridSearcher) -> None:
        self.hybrid = hybrid

    def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """The BM25 top ``k`` of each query."""
        return self.hybrid.keyword_search([q.text for q in queries], k)


def build_index(url: str) -> str:
    """The sample, ingested as scripts/demo ingests it, into a new index; its name."""
    from click.testing import CliRunner

    from xqg_os.cli import main

    sample = resources.files("xqg_os").joinpath("sample")
    name = f"bench-hybrid-{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder:
        steps = [
            ["generate", "--corpus", str(sample / "corpus.jsonl"), "--generator", "precomputed",
             "--precomputed", str(sample / "precomputed_queries.jsonl"), "--languages",
             "ja,ru,fr,de", "--n", "2", "--out", folder, "--quiet"],
            ["ingest", "--corpus", str(sample / "corpus.jsonl"), "--index", name, "--generated",
             folder, "--languages", "ja,ru,fr,de", "--n", "2", "--alpha", "0.3", "--formula",
             "mean", "--encoder", "usem", "--url", url]]
        for step in steps:
            result = runner.invoke(main, step)
            if result.exit_code != 0:
                raise RuntimeError(result.output)
    return name


def systems(client: Any, index: str, fusions: Sequence[str]) -> dict[str, Searcher]:
    """k-NN per field, BM25 alone, and every fusion of BM25 with each field."""
    knn = knn_searchers(client, index, list(FIELDS))
    found: dict[str, Searcher] = {system_name(index, f): s for f, s in knn.items()}
    found["bm25"] = BM25Searcher(HybridSearcher(knn["xqg_vector"]))
    for fusion in fusions:
        for field, searcher in knn.items():
            found[hybrid_name(system_name(index, field), fusion)] = HybridSearcher(searcher,
                                                                                   fusion)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=None, help="an index of the sample (default: build)")
    parser.add_argument("--fusions", default=DEFAULT_FUSIONS, help="comma-separated")
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    args = parser.parse_args()
    sample = resources.files("xqg_os").joinpath("sample")
    client = make_client(ClientConfig(url=args.url))
    index = args.index or build_index(args.url)
    try:
        queries = read_queries(str(sample / "queries.jsonl"))
        config = EvalConfig(metrics=("nDCG@10", "R@10", "MRR@10"), kt=(100, 200))
        report, _ = evaluate_searchers(
            systems(client, index, args.fusions.split(",")), queries, args.depth,
            qrels=qrels_to_dict(read_qrels(str(sample / "qrels.txt"))),
            answers=read_answers(str(sample / "answers.jsonl")), config=config)
        out = {"index": index, "queries": len(queries), "depth": args.depth,
               "baseline": report.baseline, "systems": {}}
        for system in report.systems:
            out["systems"][system] = {
                "macro": {m: _round(report.score(system, m)) for m in report.metrics},
                "nDCG@10_by_lang": {lang: _round(report.score(system, "nDCG@10", lang))
                                    for lang in report.languages}}
        print(json.dumps(out, indent=1, ensure_ascii=False))
    finally:
        if not args.index:
            client.indices.delete(index=index, ignore_unavailable=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


if __name__ == "__main__":
    main()
