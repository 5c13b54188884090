"""How deep must k-NN search to match exact search? ANN recall@depth against exact search per
``ef_search``, on the real node; the searcher's default (``ef_search`` = multiple x depth, at
least 100: :func:`xqg_os.opensearch.knn.default_ef_search`) takes the smallest multiple that
reaches ``--target`` on the real-embedding sets.

Each set is written into a fresh one-field index (lucene HNSW, the default m and
ef_construction) and measured as written and after a force-merge to one segment (one large
graph, the hardest case):

- ``sample``: the bundled sample (``xqg_os/sample``) encoded with a real encoder
  (``--encoder``, default the shipped all-MiniLM-L6-v2), its own queries;
- ``docstrings``: ``--docs`` real text embeddings: first paragraphs of the docstrings of
  installed packages (read with ``ast``), encoded with the same encoder, and the first sentences
  of ``--queries`` other ones as queries (``--cache FILE`` keeps the vectors for reruns);
- ``embedding_like``: ``--docs`` synthetic vectors shaped like dense-retriever embeddings
  (clustered, anisotropic, a shared mean direction, unnormalised, inner product as the paper's
  BERT CLS encoder) but of a high intrinsic dimension: a stress case where the HNSW graph, not
  ``ef_search``, limits recall.

Recall@depth = |ANN top depth & exact top depth| / depth, averaged over queries. Prints JSON:
``default_*`` per multiple at the searcher's ef_search, ``recall_by_ef_*`` per ef_search.

    python benchmarks/ef_search_recall.py [--docs 20000] [--dim 768] [--queries 300]
        [--depths 10,100] [--multiples 1,1.5,2,3,4,6,8] [--cache FILE] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.opensearch.bulk import BulkConfig, BulkWriter
from xqg_os.opensearch.client import ClientConfig, make_client
from xqg_os.opensearch.index import IndexSpec, create_index
from xqg_os.opensearch.knn import (
    EF_SEARCH_FLOOR,
    default_ef_search,
    knn_msearch,
    knn_query,
)
from xqg_os.search.exact import ExactSearcher


def embedding_like(count: int, queries: int, dim: int, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Clustered vectors on a low-rank, anisotropic subspace plus a shared offset and noise."""
    rng = np.random.default_rng(seed)
    latent, clusters = 96, 200
    spectrum = 1.0 / np.sqrt(np.arange(1, latent + 1))  # decaying variance per direction
    basis = np.linalg.qr(rng.standard_normal((dim, latent)))[0].T * spectrum[:, None]
    centres = rng.standard_normal((clusters, latent)) * 1.5
    offset = rng.standard_normal(dim) * 0.08  # the common component of encoder outputs

    def draw(n: int) -> np.ndarray:
        z = centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, latent))
        x = z @ basis + offset + rng.standard_normal((n, dim)) * 0.02
        return (x * rng.normal(1.0, 0.1, (n, 1))).astype(np.float32)

    return draw(count), draw(queries)


PACKAGES = ("transformers", "scipy", "sklearn", "numpy", "torch", "matplotlib", "pandas")


def docstrings(limit: int) -> list[str]:
    """Up to ``limit`` distinct first paragraphs of docstrings of installed packages (real
    English text, read with ``ast``: nothing is imported), in a fixed order."""
    import ast
    import sysconfig

    root = Path(sysconfig.get_paths()["purelib"])
    seen: dict[str, None] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    doc = ast.get_docstring(node) or ""
                    text = " ".join(doc.split("\n\n")[0].split())
                    if 40 <= len(text) <= 600:
                        seen[text] = None
            if len(seen) >= limit:
                return list(seen)[:limit]
    return list(seen)


def docstring_set(count: int, queries: int, encoder_name: str, cache: str | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Real text embeddings: ``count`` docstring paragraphs encoded as passages, and the first
    sentences of ``queries`` other ones encoded as queries (cached in ``cache``, an .npz)."""
    if cache and Path(cache).exists():
        saved = np.load(cache)
        if len(saved["passages"]) == count and len(saved["queries"]) == queries:
            return saved["passages"], saved["queries"]
    from xqg_os.encode import EncoderConfig, load_encoder

    texts = docstrings(count + queries)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(texts))
    passages = [texts[i] for i in order[:count]]
    asked = [texts[i].split(". ")[0][:200] for i in order[count:count + queries]]
    encoder = load_encoder(EncoderConfig(model=encoder_name, device="cpu", batch_size=128,
                                         passage_max_length=96))
    matrix = np.asarray(encoder.encode_passages(passages), np.float32)
    query_vectors = np.asarray(encoder.encode_queries(asked), np.float32)
    if cache:
        np.savez(cache, passages=matrix, queries=query_vectors)
    return matrix, query_vectors


def sample_set(encoder_name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """The bundled sample's passages and queries, encoded."""
    from xqg_os.data.corpus import passage_input, read_corpus
    from xqg_os.data.evalfiles import read_queries
    from xqg_os.encode import EncoderConfig, load_encoder

    root = resources.files("xqg_os").joinpath("sample")
    encoder = load_encoder(EncoderConfig(model=encoder_name, device="cpu"))
    passages = list(read_corpus(str(root / "corpus.jsonl")))
    queries = read_queries(str(root / "queries.jsonl"))
    return (np.asarray(encoder.encode_passages([passage_input(p) for p in passages]), np.float32),
            np.asarray(encoder.encode_queries([q.text for q in queries]), np.float32),
            encoder_name)


def write_index(client: Any, name: str, matrix: np.ndarray, space: str) -> float:
    """Write the vectors into a one-field index; seconds taken."""
    create_index(client, IndexSpec(name=name, dimension=matrix.shape[1], space_type=space,
                                   vector_fields="xqg"))
    docs = [{"passage_id": str(i), "title": "", "text": "", "lang": "",
             "generated_queries": {}, "xqg_vector": row} for i, row in enumerate(matrix)]
    start = time.perf_counter()
    with BulkWriter(client, name, BulkConfig(concurrency=2)) as writer:
        for offset in range(0, len(docs), 1000):
            writer.submit(docs[offset:offset + 1000])
    if writer.result.failed:
        raise RuntimeError(f"{len(writer.result.failed)} documents failed")
    return time.perf_counter() - start


def ef_values(depth: int, multiples: list[float]) -> list[int]:
    """The ef_search values measured at ``depth``: each multiple, bare and with the floor."""
    return sorted({max(depth, round(m * depth)) for m in multiples}
                  | {default_ef_search(depth, m) for m in multiples})


def recalls(client: Any, name: str, matrix: np.ndarray, queries: np.ndarray, space: str,
            depths: list[int], multiples: list[float]) -> dict[str, dict[str, float]]:
    """``{depth: {ef_search: recall}}`` against exact search over the same vectors."""
    exact = ExactSearcher([str(i) for i in range(len(matrix))], matrix, space)
    out: dict[str, dict[str, float]] = {}
    for depth in depths:
        rows, _ = exact.top(queries, depth)
        truth = [set(map(str, r.tolist())) for r in rows]
        out[str(depth)] = {}
        for ef in ef_values(depth, multiples):
            bodies = [knn_query(q, k=depth, field="xqg_vector", source=False, ef_search=ef)
                      for q in queries]
            hits = knn_msearch(client, name, bodies)
            got = [{h["_id"] for h in ranked} for ranked in hits]
            out[str(depth)][str(ef)] = round(float(np.mean(
                [len(g & t) / len(t) for g, t in zip(got, truth)])), 4)
    return out


def by_multiple(table: dict[str, dict[str, float]], multiples: list[float]
                ) -> dict[str, dict[str, float]]:
    """``{depth: {multiple: recall}}`` at the searcher's ef_search for each multiple
    (:func:`~xqg_os.opensearch.knn.default_ef_search`: multiple x depth, at least 100)."""
    return {depth: {str(m): row[str(default_ef_search(int(depth), m))] for m in multiples}
            for depth, row in table.items()}


def measure(client: Any, label: str, matrix: np.ndarray, queries: np.ndarray, space: str,
            depths: list[int], multiples: list[float]) -> dict[str, Any]:
    """Recall as written and after a force-merge to one segment."""
    name = f"bench-ef-{label.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    try:
        seconds = write_index(client, name, matrix, space)
        segments = len(client.cat.segments(index=name, format="json"))
        written = recalls(client, name, matrix, queries, space, depths, multiples)
        client.indices.forcemerge(index=name, max_num_segments=1, request_timeout=3600)
        client.indices.refresh(index=name)
        merged = recalls(client, name, matrix, queries, space, depths, multiples)
    finally:
        client.indices.delete(index=name, ignore_unavailable=True)
    return {"docs": len(matrix), "queries": len(queries), "dim": matrix.shape[1],
            "space_type": space, "write_seconds": round(seconds, 1),
            "segments_as_written": segments,
            "default_as_written": by_multiple(written, multiples),
            "default_one_segment": by_multiple(merged, multiples),
            "recall_by_ef_as_written": written, "recall_by_ef_one_segment": merged}


def smallest_multiple(results: dict[str, Any], sets: list[str], multiples: list[float],
                      target: float) -> float | None:
    """The smallest multiple whose default ef_search reaches ``target`` for every one of
    ``sets``, depth and segment state."""
    for multiple in sorted(multiples):
        if all(row[str(multiple)] >= target for label in sets if label in results
               for key in ("default_as_written", "default_one_segment")
               for row in results[label][key].values()):
            return multiple
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--depths", default="10,100")
    parser.add_argument("--multiples", default="1,1.5,2,3,4,6,8")
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--sets", default="sample,docstrings,embedding_like")
    parser.add_argument("--cache", default=None,
                        help="an .npz keeping the encoded docstring set for reruns")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--choose-from", default="sample,docstrings",
                        help="sets whose recall chooses the multiple (real embeddings; the "
                             "synthetic set is a stress case: see the report)")
    parser.add_argument("--url", default=ClientConfig.from_env().url)
    args = parser.parse_args()
    client = make_client(ClientConfig(url=args.url))
    depths = [int(d) for d in args.depths.split(",")]
    multiples = [float(m) for m in args.multiples.split(",")]
    results: dict[str, Any] = {}
    for label in args.sets.split(","):
        if label == "sample":
            matrix, queries, encoder = sample_set(args.encoder)
            results[label] = {"encoder": encoder, **measure(
                client, label, matrix, queries, "innerproduct",
                [d for d in depths if d < len(matrix)] or [min(10, len(matrix))], multiples)}
        elif label == "docstrings":
            matrix, queries = docstring_set(args.docs, args.queries, args.encoder, args.cache)
            results[label] = {"encoder": args.encoder, **measure(
                client, label, matrix, queries, "innerproduct", depths, multiples)}
        else:
            matrix, queries = embedding_like(args.docs, args.queries, args.dim)
            results[label] = measure(client, label, matrix, queries, "innerproduct", depths,
                                     multiples)
    chosen = [s for s in args.choose_from.split(",") if s]
    print(json.dumps({"node": client.info()["version"]["number"], "target": args.target,
                      "ef_search_floor": EF_SEARCH_FLOOR, "sets": results,
                      "chosen_from": chosen, "smallest_multiple_reaching_target":
                      smallest_multiple(results, chosen, multiples, args.target)}, indent=2))


if __name__ == "__main__":
    main()
