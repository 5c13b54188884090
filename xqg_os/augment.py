"""The xQG augmentation formula: pure numpy, no I/O.

For a passage p with generated queries q_1..q_m (all chosen languages together)::

    sum:   p' = (1 - alpha) * E(p) + alpha * SUM_i E(q_i)     (the paper's public code)
    mean:  p' = (1 - alpha) * E(p) + alpha * MEAN_i E(q_i)
    none:  p' = E(p)                                          (the baseline)

A passage with no queries keeps E(p) exactly under every formula (it is *not* scaled by
1 - alpha): scaling it would only shrink its inner-product scores against the augmented
passages and make an ``n=0`` point of a sweep differ from the ``none`` baseline. Callers count
such passages from their query counts (``select_queries`` returning ``[]``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from xqg_os.errors import InputError

FORMULAS = ("none", "sum", "mean")
FORMULA_VERSION = 1  # bump when what a formula computes changes; recorded in the index _meta


def select_queries(queries_by_lang: Mapping[str, Sequence[str]], languages: Sequence[str],
                   n: int | None) -> list[str]:
    """The queries that augment one passage: the first ``n`` of each language, in the order of
    ``languages``.

    Args:
        queries_by_lang: generated queries of one passage, per language code.
        languages: the languages to use, in order; a language this passage has no queries for
            contributes none.
        n: queries per language; ``None`` takes all, ``0`` none.

    Raises:
        InputError: for a negative ``n``.
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise InputError(f"n (queries per language) must be a non-negative integer, not {n!r}",
                         param="n")
    selected: list[str] = []
    for lang in languages:
        queries = list(queries_by_lang.get(lang, ()))
        selected.extend(queries if n is None else queries[:n])
    return selected


def _check(alpha: float, formula: str, passages: np.ndarray) -> None:
    if formula not in FORMULAS:
        raise InputError(f"unknown augmentation formula {formula!r}; "
                         f"use one of {', '.join(FORMULAS)}", param="formula")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
            or not math.isfinite(alpha) or not 0.0 <= alpha <= 1.0:
        raise InputError(f"alpha must be a number in [0, 1], not {alpha!r}", param="alpha")
    if passages.ndim != 2:
        raise InputError(f"passage vectors must be a [passages, dim] array, "
                         f"not shape {passages.shape}")


def _mix(passages: np.ndarray, pooled: np.ndarray, counts: np.ndarray, alpha: float
         ) -> np.ndarray:
    """(1 - alpha) * p + alpha * pooled for rows with queries; p itself for rows without."""
    out = (1.0 - alpha) * passages + alpha * pooled
    empty = counts == 0
    if empty.any():
        out[empty] = passages[empty]
    return out.astype(np.float32, copy=False)


def augment_uniform(passage_vectors: np.ndarray, query_vectors: np.ndarray,
                    alpha: float = 0.01, formula: str = "sum") -> np.ndarray:
    """Vectorised :func:`augment` for passages that all have ``m`` queries: ``[B, m, d]``.

    ``m = 0`` returns the passage vectors unchanged (as float32).
    """
    passages = np.asarray(passage_vectors, dtype=np.float32)
    queries = np.asarray(query_vectors, dtype=np.float32)
    _check(alpha, formula, passages)
    if queries.ndim != 3 or queries.shape[0] != passages.shape[0]:
        raise InputError(f"uniform query vectors must be [passages={passages.shape[0]}, m, dim], "
                         f"not shape {queries.shape}")
    if queries.shape[2] != passages.shape[1] and queries.shape[1] > 0:
        raise InputError(f"query vectors have dimension {queries.shape[2]}, passage vectors "
                         f"{passages.shape[1]}")
    m = queries.shape[1]
    if formula == "none" or m == 0:
        return passages.copy()
    pooled = queries.sum(axis=1) if formula == "sum" else queries.mean(axis=1)
    return _mix(passages, pooled, np.full(passages.shape[0], m), alpha)


def augment(passage_vectors: np.ndarray,
            query_vectors: Sequence[np.ndarray] | np.ndarray,
            alpha: float = 0.01, formula: str = "sum",
            counts: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Mix each passage vector with its generated queries' vectors.

    Args:
        passage_vectors: ``[B, d]``, E(p) for each passage.
        query_vectors: either a list of ``B`` arrays ``[m_i, d]`` (``m_i`` may be 0), a flat
            ``[M, d]`` array together with ``counts`` (``B`` numbers summing to ``M``, the
            queries of passage 0 first), or a ``[B, m, d]`` array (same ``m`` for all; the
            fast path that sweeps use).
        alpha: weight of the queries, in [0, 1]; 0 gives E(p) back.
        formula: ``sum``, ``mean`` or ``none`` (see the module docstring).
        counts: queries per passage, for the flat form only.

    Returns:
        ``[B, d]`` float32 augmented vectors (a new array).

    Raises:
        InputError: for alpha outside [0, 1], an unknown formula, or shapes that do not agree.
    """
    passages = np.asarray(passage_vectors, dtype=np.float32)
    _check(alpha, formula, passages)
    batch, dim = passages.shape
    if isinstance(query_vectors, np.ndarray) and query_vectors.ndim == 3:
        if counts is not None:
            raise InputError("counts apply to a flat [M, dim] array, not a [B, m, dim] one")
        return augment_uniform(passages, query_vectors, alpha, formula)
    if isinstance(query_vectors, np.ndarray):
        if counts is None:
            raise InputError("a flat [M, dim] array of query vectors needs counts per passage")
        flat = np.asarray(query_vectors, dtype=np.float32)
        sizes = np.asarray(counts, dtype=np.int64).reshape(-1)
    else:
        if counts is not None:
            raise InputError("counts apply to a flat [M, dim] array, not to a list of arrays")
        if len(query_vectors) != batch:
            raise InputError(f"{batch} passage vectors but query vectors for "
                             f"{len(query_vectors)} passages")
        parts = [np.asarray(q, dtype=np.float32).reshape(-1, dim) if np.size(q) == 0
                 else np.asarray(q, dtype=np.float32) for q in query_vectors]
        for i, part in enumerate(parts):
            if part.ndim != 2 or part.shape[1] != dim:
                raise InputError(f"query vectors of passage {i} have shape {part.shape}; "
                                 f"expected [m, {dim}]")
        sizes = np.array([part.shape[0] for part in parts], dtype=np.int64)
        flat = np.concatenate(parts, axis=0) if parts else np.zeros((0, dim), np.float32)
    return _augment_flat(passages, flat, sizes, alpha, formula)


def _augment_flat(passages: np.ndarray, flat: np.ndarray, sizes: np.ndarray, alpha: float,
                  formula: str) -> np.ndarray:
    batch, dim = passages.shape
    if sizes.shape[0] != batch or (sizes < 0).any():
        raise InputError(f"counts must be {batch} non-negative numbers, one per passage")
    if flat.ndim != 2 or (flat.shape[0] and flat.shape[1] != dim):
        raise InputError(f"query vectors have shape {flat.shape}; expected [M, {dim}]")
    if int(sizes.sum()) != flat.shape[0]:
        raise InputError(f"counts sum to {int(sizes.sum())} but there are {flat.shape[0]} "
                         "query vectors")
    if formula == "none" or flat.shape[0] == 0:
        return passages.copy()
    if (sizes == sizes[0]).all():  # uniform: one reshape instead of a segmented sum
        return augment_uniform(passages, flat.reshape(batch, int(sizes[0]), dim), alpha, formula)
    pooled = np.zeros((batch, dim), dtype=np.float32)
    present = sizes > 0
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))[present]
    # reduceat over the non-empty segments only: consecutive starts then bound each segment
    pooled[present] = np.add.reduceat(flat, starts, axis=0)
    if formula == "mean":
        pooled[present] /= sizes[present, None].astype(np.float32)
    return _mix(passages, pooled, sizes, alpha)
