"""ANN recall against exact search: how much of the exact top-k each k-NN system finds, measured
on a sample of the evaluation queries against the same vectors read back from its index. An
evaluation reports it next to its metrics, so a table measured through HNSW says how close it
is to the exact ranking (see :func:`~xqg_os.opensearch.knn.default_ef_search`)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from xqg_os.data.evalfiles import Query
from xqg_os.errors import InputError
from xqg_os.search.base import Searcher
from xqg_os.search.exact import ExactSearcher

RECALL_MAX_DOCS = 200_000  # read back at most this many documents' vectors for the check
TIE_TOLERANCE = 1e-5  # relative: the engine scores in float32, exact search in float64


@dataclass(frozen=True)
class RecallCheck:
    """ANN recall@``depth`` of one system (``recall`` None: not measured, ``note`` says why)."""

    system: str
    depth: int
    ef_search: int
    queries: int
    recall: float | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def tie_aware_recall(found: Sequence[Sequence[str]], exact: ExactSearcher, vectors: np.ndarray,
                     k: int) -> float:
    """Mean share of the exact top ``k`` that ``found`` (ids per query vector) reaches; a hit
    tied with the exact ``k``-th score counts as found, whichever of the tied ids it is."""
    rows = {pid: row for row, pid in enumerate(exact.ids)}
    k = min(k, len(rows))
    if k < 1 or len(vectors) == 0:
        return 0.0
    shares = []
    for start in range(0, len(vectors), 32):
        scores = exact.scores(vectors[start:start + 32])
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
        for i, ids in enumerate(found[start:start + 32]):
            bar = kth[i] - TIE_TOLERANCE * max(1.0, abs(float(kth[i])))
            hits = sum(1 for pid in list(ids)[:k] if pid in rows and scores[i, rows[pid]] >= bar)
            shares.append(hits / k)
    return float(np.mean(shares))


def ann_recall(searchers: Mapping[str, Searcher], queries: Sequence[Query], k: int,
               sample: int = 100, seed: int = 0, max_docs: int = RECALL_MAX_DOCS
               ) -> list[RecallCheck]:
    """ANN recall@``k`` of every k-NN system among ``searchers`` against exact search over the
    vectors of its index, on up to ``sample`` of the ``queries`` (a seeded sample).

    Systems that are not k-NN searchers are left out; an index whose vectors cannot be read
    back (left out of ``_source``) or that holds more than ``max_docs`` documents gets a note
    instead of a number.
    """
    from xqg_os.search.exact import index_searchers
    from xqg_os.search.knn import XQGSearcher

    knn = {name: s for name, s in searchers.items() if isinstance(s, XQGSearcher)}
    if not knn or sample <= 0 or not queries:
        return []
    chosen = sorted(random.Random(seed).sample(range(len(queries)), min(sample, len(queries))))
    texts = [queries[i].text for i in chosen]
    groups: dict[tuple[int, str], list[str]] = {}
    for name, searcher in knn.items():
        groups.setdefault((id(searcher.client), searcher.index), []).append(name)
    checks: list[RecallCheck] = []
    for (_, index), names in groups.items():
        first = knn[names[0]]
        fields = [knn[name].field for name in names]

        def note(text: str, names: list[str] = names) -> list[RecallCheck]:
            return [RecallCheck(name, k, _ef(knn[name], k), len(chosen), None, text)
                    for name in names]

        count = int(first.client.count(index=index)["count"])
        if count > max_docs:
            checks += note(f"not measured: {count} documents, more than {max_docs} to read "
                           "back")
            continue
        try:
            exact = index_searchers(first.client, index, fields, first.encoder,
                                    allow_encoder_mismatch=True)
        except InputError as exc:
            checks += note(f"not measured: {exc}")
            continue
        vectors = first.encode(texts)
        for name, field in zip(names, fields):
            searcher = knn[name]
            found = [[hit.id for hit in ranked] for ranked in searcher.search_vectors(vectors, k)]
            checks.append(RecallCheck(name, k, _ef(searcher, k), len(chosen), round(
                tie_aware_recall(found, exact[field], vectors, k), 4)))
    return checks


def _ef(searcher: Any, k: int) -> int:
    from xqg_os.opensearch.knn import default_ef_search

    return max(k, int(searcher.ef_search or default_ef_search(k)))


def describe(checks: Sequence[RecallCheck]) -> list[str]:
    """One line per system, for the evaluation's printed report."""
    lines = []
    for check in checks:
        head = (f"ANN recall@{check.depth} against exact search, {check.system} "
                f"(ef_search {check.ef_search}, {check.queries} queries): ")
        lines.append(head + (f"{check.recall:.4f}" if check.recall is not None
                             else check.note))
    return lines
