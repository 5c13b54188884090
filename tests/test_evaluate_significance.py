"""Paired significance tests and multiple-testing corrections."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from xqg_os.errors import InputError
from xqg_os.evaluate import adjust_pvalues, paired_pvalue, permutation_pvalue


def _pair(seed: int, n: int = 40, shift: float = 0.0) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    base = rng.random(n)
    other = np.clip(base + shift + rng.normal(0, 0.05, n), 0, 1)
    return base.tolist(), other.tolist()


@pytest.mark.parametrize("test", ["t", "permutation"])
def test_identical_systems_give_p_one(test: str) -> None:
    a, _ = _pair(0)
    assert paired_pvalue(a, a, test=test) == 1.0


@pytest.mark.parametrize("test", ["t", "permutation"])
def test_clearly_different_systems_are_significant(test: str) -> None:
    a, b = _pair(1, shift=0.3)
    assert paired_pvalue(a, b, test=test, permutations=2000) < 0.001


def test_t_test_equals_scipy() -> None:
    a, b = _pair(2, shift=0.02)
    assert paired_pvalue(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_t_test_edge_cases() -> None:
    assert paired_pvalue([0.5], [0.1]) == 1.0  # one query: undefined, never significant
    assert paired_pvalue([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]) == 0.0  # constant gain


def test_exact_permutation_test_by_hand() -> None:
    # Differences (1, 1, 1): of the 8 sign patterns, only +++ and --- reach |sum| >= 3.
    assert permutation_pvalue([1, 1, 1], [0, 0, 0], permutations=8) == 0.25
    # Differences (1, 1, 0, -1): observed |sum| = 1, and every pattern's |±1 ±1 ±1| is 1 or 3.
    assert permutation_pvalue([1, 1, 0, 0], [0, 0, 0, 1], permutations=16) == 1.0


def test_sampled_permutation_test_is_seeded_and_close_to_t() -> None:
    a, b = _pair(3, n=60, shift=0.015)
    first = permutation_pvalue(a, b, permutations=5000, seed=7)
    assert permutation_pvalue(a, b, permutations=5000, seed=7) == first
    assert 1 / 5001 <= first <= 1.0
    assert first == pytest.approx(paired_pvalue(a, b), abs=0.05)


def test_holm_and_bonferroni_by_hand() -> None:
    p = [0.01, 0.04, 0.03]
    assert adjust_pvalues(p, "bonferroni") == pytest.approx([0.03, 0.12, 0.09])
    # Holm: sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    assert adjust_pvalues(p, "holm") == pytest.approx([0.03, 0.06, 0.06])
    assert adjust_pvalues(p, "none") == p
    assert adjust_pvalues([0.6, 0.5], "bonferroni") == [1.0, 1.0]


@pytest.mark.parametrize("seed", range(10))
def test_holm_never_exceeds_bonferroni_and_keeps_order(seed: int) -> None:
    p = np.random.default_rng(seed).random(7).tolist()
    holm, bonferroni = adjust_pvalues(p, "holm"), adjust_pvalues(p, "bonferroni")
    assert all(h <= b + 1e-15 for h, b in zip(holm, bonferroni, strict=True))
    assert all(h >= raw for h, raw in zip(holm, p, strict=True))
    order = np.argsort(p)
    assert all(holm[i] <= holm[j] for i, j in zip(order, order[1:], strict=False))


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="unknown significance test 'wilcoxon'"):
        paired_pvalue([1.0], [0.0], test="wilcoxon")
    with pytest.raises(InputError, match="equal lengths"):
        paired_pvalue([1.0, 2.0], [0.0])
    with pytest.raises(InputError, match="unknown correction 'fdr'"):
        adjust_pvalues([0.1], "fdr")
