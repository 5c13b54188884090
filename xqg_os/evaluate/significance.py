"""Paired significance tests between two systems' per-query values, and multiple-testing
corrections.

- ``t``: the paired t-test (``scipy.stats.ttest_rel``), two-sided;
- ``permutation``: the paired randomisation (sign-flip) test on the mean difference, two-sided,
  seeded; exact (all sign patterns) when there are no more patterns than permutations asked.

Identical inputs give p = 1. Corrections: ``holm`` (step-down, uniformly more powerful than
Bonferroni), ``bonferroni`` and ``none``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from xqg_os.errors import InputError

TESTS = ("t", "permutation")
CORRECTIONS = ("holm", "bonferroni", "none")

_CHUNK = 2048  # permutations per vectorised block: bounds memory at _CHUNK x queries


def paired_t_pvalue(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided paired t-test p-value; 1.0 when it is undefined (no differences, one query).

    The closed form of ``scipy.stats.ttest_rel`` (t on the mean difference, Student's t tail),
    without its per-call overhead: sweeps run thousands of these.
    """
    from scipy import special

    diffs = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diffs.size < 2 or not np.any(diffs):
        return 1.0
    if np.all(diffs == diffs[0]):
        return 0.0  # a constant non-zero difference: t is infinite
    dof = diffs.size - 1
    t = diffs.mean() / (diffs.std(ddof=1) / math.sqrt(diffs.size))
    p = float(2.0 * special.stdtr(dof, -abs(t)))
    return 1.0 if math.isnan(p) else min(p, 1.0)


def permutation_pvalue(a: Sequence[float], b: Sequence[float], permutations: int = 10_000,
                       seed: int = 0) -> float:
    """Two-sided paired permutation (sign-flip) test on the mean difference.

    Under the null hypothesis each query's difference is equally likely to have either sign.
    With ``2**n <= permutations`` every sign pattern is enumerated (exact p-value); otherwise
    ``permutations`` random patterns are drawn with ``seed`` and p = (1 + #extreme) / (1 + N).
    """
    if permutations < 1:
        raise InputError("the permutation test needs at least 1 permutation")
    diffs = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = diffs.size
    if n == 0 or not np.any(diffs):
        return 1.0
    observed = abs(diffs.sum())
    tolerance = 1e-9 * max(1.0, float(np.abs(diffs).sum()))  # float noise must not decide ties
    if n <= 20 and 2 ** n <= permutations:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        extreme = int(np.count_nonzero(np.abs(signs @ diffs) >= observed - tolerance))
        return extreme / len(signs)
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, permutations, _CHUNK):
        size = min(_CHUNK, permutations - start)
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8) * 2 - 1
        extreme += int(np.count_nonzero(np.abs(signs @ diffs) >= observed - tolerance))
    return (extreme + 1) / (permutations + 1)


def paired_pvalue(a: Sequence[float], b: Sequence[float], test: str = "t",
                  permutations: int = 10_000, seed: int = 0) -> float:
    """p-value of a paired test between per-query values ``a`` and ``b`` (same query order).

    Raises:
        InputError: for an unknown test or inputs of different lengths.
    """
    if len(a) != len(b):
        raise InputError(f"paired test needs equal lengths, got {len(a)} and {len(b)}")
    if test == "t":
        return paired_t_pvalue(a, b)
    if test == "permutation":
        return permutation_pvalue(a, b, permutations, seed)
    raise InputError(f"unknown significance test {test!r}; use one of {', '.join(TESTS)}")


def adjust_pvalues(pvalues: Sequence[float], method: str = "holm") -> list[float]:
    """Adjust a family of p-values for multiple testing, in the input order.

    ``bonferroni``: min(1, m p). ``holm``: sort ascending, the i-th (from 0) becomes
    min(1, max over j <= i of (m - j) p_(j)); never larger than Bonferroni's. ``none``: as is.

    Raises:
        InputError: for an unknown method.
    """
    m = len(pvalues)
    if method == "none":
        return [float(p) for p in pvalues]
    if method == "bonferroni":
        return [min(1.0, m * float(p)) for p in pvalues]
    if method != "holm":
        raise InputError(f"unknown correction {method!r}; use one of {', '.join(CORRECTIONS)}")
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (m - position) * float(pvalues[index])))
        adjusted[index] = running
    return adjusted
