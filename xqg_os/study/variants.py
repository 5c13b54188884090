"""Beyond the paper: two other ways to use the generated queries, on the same stored vectors.

- **Filtering** (as doc2query-- does): score every generated query by its similarity to its
  own passage and drop the least similar share ``drop`` of all queries (one global threshold)
  before mixing them with the xQG formula.
- **Multi-vector**: instead of mixing, the passage and each of its generated queries are
  separate vectors (an OpenSearch nested k-NN field); a passage scores as its best vector
  (max-sim). The index holds ``1 + languages x n`` vectors per passage instead of one.

Both work from :func:`~xqg_os.study.bank.load_query_vectors` (no model call once the stores
are warm) and return runs that :func:`~xqg_os.study.sweep.evaluate_points` evaluates against
the same baseline as the sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from xqg_os.data.evalfiles import Query, Run
from xqg_os.errors import InputError
from xqg_os.study.bank import mix_pooled
from xqg_os.study.grid import resolve_languages
from xqg_os.study.sweep import exact_run


@dataclass
class QueryVectors:
    """Passage vectors and their individual generated-query vectors.

    Attributes:
        passage_ids: row order.
        passages: ``[N, d]``.
        languages: axis 1 of ``queries``.
        queries: ``[N, L, n, d]`` (zeros past ``have``).
        have: ``[N, L]`` queries present per (passage, language).
    """

    passage_ids: list[str]
    passages: np.ndarray
    languages: list[str]
    queries: np.ndarray
    have: np.ndarray

    def present(self, n: int, languages: Sequence[str]) -> np.ndarray:
        """``[N, L, n]`` mask of the first ``n`` queries of the chosen languages."""
        chosen = np.array([lang in languages for lang in self.languages])
        slots = np.arange(self.queries.shape[2])[None, None, :n]
        return (slots < self.have[:, :, None]) & chosen[None, :, None]

    def similarities(self) -> np.ndarray:
        """``[N, L, n]`` inner product of each query with its passage."""
        return np.einsum("nlkd,nd->nlk", self.queries, self.passages)


def filter_mask(vectors: QueryVectors, n: int, languages: Sequence[str], drop: float
                ) -> np.ndarray:
    """Which of the first ``n`` queries survive dropping the ``drop`` share least similar to
    their passage (one threshold over all present queries)."""
    if not 0.0 <= drop < 1.0:
        raise InputError(f"drop must be in [0, 1), not {drop}", param="drop")
    present = vectors.present(n, languages)
    if drop == 0.0 or not present.any():
        return present
    scores = vectors.similarities()[:, :, :n]
    threshold = np.quantile(scores[present], drop)
    return present & (scores > threshold)


def filtered_matrix(vectors: QueryVectors, n: int, alpha: float, formula: str,
                    languages: Sequence[str], drop: float) -> np.ndarray:
    """Augmented vectors from the queries that survive :func:`filter_mask`."""
    keep = filter_mask(vectors, n, languages, drop)
    pooled = np.einsum("nlk,nlkd->nd", keep.astype(np.float32), vectors.queries[:, :, :n])
    return mix_pooled(vectors.passages, pooled, keep.sum(axis=(1, 2)), alpha, formula)


def maxsim_run(vectors: QueryVectors, query_vectors: np.ndarray, queries: Sequence[Query],
               n: int, languages: Sequence[str], depth: int, chunk: int = 256) -> Run:
    """Exact max-sim search over the passage vector plus its first ``n`` queries per language.

    Scores are inner products rounded to float32, as :func:`~xqg_os.study.sweep.exact_run`.
    """
    present = vectors.present(n, languages)
    count, dim = vectors.passages.shape
    extra = vectors.queries[:, :, :n].reshape(count, -1, dim)
    mask = present.reshape(count, -1)
    run: Run = {}
    for start in range(0, len(queries), chunk):
        block = query_vectors[start:start + chunk].astype(np.float64)
        best = block @ vectors.passages.astype(np.float64).T  # [q, N]
        if extra.shape[1]:
            sims = np.einsum("qd,nvd->qnv", block, extra.astype(np.float64))
            sims[:, ~mask] = -np.inf
            best = np.maximum(best, sims.max(axis=2))
        best32 = best.astype(np.float32)
        top = np.argsort(-best32, axis=1, kind="stable")[:, :depth]
        for row, query in enumerate(queries[start:start + chunk]):
            run[query.id] = {vectors.passage_ids[i]: float(best32[row, i]) for i in top[row]}
    return run


def vectors_per_passage(vectors: QueryVectors, n: int, languages: Sequence[str]) -> float:
    """Mean vectors a multi-vector index holds per passage (1 + its queries)."""
    return 1.0 + float(vectors.present(n, languages).sum()) / max(1, len(vectors.passage_ids))


def by_language(queries: Sequence[Query], spec: str, generated: Sequence[str],
                make: Callable[[list[str], list[int]], Run]) -> Run:
    """Run ``make(languages, rows)`` once per query-language group when ``spec`` depends on
    the query language (``same``, ``others``), else once; merge the runs."""
    if spec not in ("same", "others"):
        return make(resolve_languages(spec, None, generated), list(range(len(queries))))
    groups: dict[str, list[int]] = {}
    for row, query in enumerate(queries):
        groups.setdefault(query.lang, []).append(row)
    run: Run = {}
    for lang, rows in groups.items():
        run.update(make(resolve_languages(spec, lang, generated), rows))
    return run


def filtered_run(vectors: QueryVectors, query_vectors: np.ndarray, queries: Sequence[Query],
                 n: int, alpha: float, formula: str, spec: str, drop: float, depth: int,
                 space_type: str = "innerproduct") -> Run:
    """The run of the filtered xQG vectors for one configuration (see :func:`by_language`)."""
    ids = [q.id for q in queries]

    def build(languages: list[str], rows: list[int]) -> Run:
        matrix = filtered_matrix(vectors, n, alpha, formula, languages, drop)
        return exact_run(vectors.passage_ids, matrix, query_vectors[rows],
                         [ids[r] for r in rows], depth, space_type)
    return by_language(queries, spec, vectors.languages, build)


def multivector_run(vectors: QueryVectors, query_vectors: np.ndarray,
                    queries: Sequence[Query], n: int, spec: str, depth: int) -> Run:
    """The max-sim run for one (n, language subset) (see :func:`by_language`)."""
    def build(languages: list[str], rows: list[int]) -> Run:
        return maxsim_run(vectors, query_vectors[rows], [queries[r] for r in rows], n,
                          languages, depth)
    return by_language(queries, spec, vectors.languages, build)
