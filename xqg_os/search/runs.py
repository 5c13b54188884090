"""Runs for the evaluator: retrieve every query from an xQG index, by k-NN on OpenSearch or by
exact search over the stored vectors, and collect the texts of what was retrieved (for R@kt)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from xqg_os.data.evalfiles import Query
from xqg_os.errors import InputError

Run = dict[str, dict[str, float]]
BACKENDS = ("opensearch", "exact")


@dataclass
class Retrieved:
    """Runs per system (``index:field``) and passage texts by id."""

    runs: dict[str, Run] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def system_name(index: str, field: str) -> str:
    """How a system is named in tables: ``index:field``."""
    return f"{index}:{field}"


def retrieve(queries: Sequence[Query], index: str, fields: Sequence[str], k: int,
             backend: str = "opensearch", client: Any | None = None,
             vectors: str | None = None, encoder: Any | None = None,
             out: Retrieved | None = None) -> Retrieved:
    """Retrieve the top ``k`` for every query from ``index``, once per vector field.

    Args:
        queries: the queries (their text is encoded with the index's encoder).
        index: the index name (also the system-name prefix).
        fields: ``passage_vector`` and/or ``xqg_vector``.
        k: depth of each ranking.
        backend: ``opensearch`` (k-NN, ``_msearch``) or ``exact`` (brute force).
        client: needed for ``opensearch``, and for ``exact`` without ``vectors``.
        vectors: a folder from ``ingest --save-vectors`` for ``exact`` without a cluster.
        encoder: overrides the encoder recorded in the index ``_meta``.
        out: accumulate into this result (several indexes side by side).
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    out = out or Retrieved()
    texts = [query.text for query in queries]
    if backend == "opensearch":
        if client is None:
            raise InputError("the opensearch backend needs a cluster")
        from xqg_os.search.knn import XQGSearcher

        searcher = XQGSearcher(client, index, encoder=encoder, ef_search=max(100, k))
        vectors_q = searcher.encode(texts)
        for name in fields:
            ranked = searcher.search_vectors(vectors_q, k, name)
            out.runs[system_name(index, name)] = {
                query.id: {hit.id: hit.score for hit in hits}
                for query, hits in zip(queries, ranked)}
            out.texts.update({hit.id: hit.text for hits in ranked for hit in hits})
        return out

    from xqg_os.search.exact import ExactIndex

    if vectors:
        exact = ExactIndex.load(vectors)
    elif client is not None:
        exact = ExactIndex.from_opensearch(client, index)
    else:
        raise InputError("the exact backend needs --vectors DIR or a cluster to read from")
    if encoder is None:
        from xqg_os.encode import load_encoder_from_description

        if not exact.meta.get("encoder"):
            raise InputError(f"{vectors or index} records no encoder; pass one")
        encoder = load_encoder_from_description(exact.meta["encoder"])
    vectors_q = encoder.encode_queries(texts)
    for name in fields:
        results = exact.search(vectors_q, k, name)
        out.runs[system_name(index, name)] = {query.id: dict(hits)
                                             for query, hits in zip(queries, results)}
    out.texts.update({pid: record.get("text", "") for pid, record in exact.texts.items()})
    return out
