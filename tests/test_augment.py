"""The augmentation formula on vectors small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from xqg_os.augment import FORMULAS, augment, augment_uniform, select_queries
from xqg_os.errors import InputError

P = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
Q0 = np.array([[1.0, 1.0], [3.0, 1.0]], dtype=np.float32)  # sum [4, 2], mean [2, 1]
NONE = np.zeros((0, 2), dtype=np.float32)


def test_formulas_are_the_three_documented_ones() -> None:
    assert FORMULAS == ("none", "sum", "mean")


def test_sum_by_hand_and_passage_without_queries_kept() -> None:
    out = augment(P, [Q0, NONE], alpha=0.5, formula="sum")
    np.testing.assert_array_equal(out, [[2.5, 1.0], [0.0, 2.0]])
    assert out.dtype == np.float32


def test_mean_by_hand() -> None:
    out = augment(P, [Q0, NONE], alpha=0.5, formula="mean")
    np.testing.assert_array_equal(out, [[1.5, 0.5], [0.0, 2.0]])


def test_default_alpha_is_the_papers() -> None:
    out = augment(P, [Q0, Q0])
    expected = 0.99 * P + 0.01 * Q0.sum(axis=0)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_none_is_the_passage_vector() -> None:
    out = augment(P, [Q0, Q0], alpha=0.7, formula="none")
    np.testing.assert_array_equal(out, P)
    assert out is not P


def test_alpha_bounds() -> None:
    np.testing.assert_array_equal(augment(P, [Q0, Q0], alpha=0.0), P)
    np.testing.assert_array_equal(augment(P, [Q0, Q0], alpha=1.0), [[4.0, 2.0], [4.0, 2.0]])
    np.testing.assert_array_equal(augment(P, [Q0, Q0], alpha=1, formula="mean"),
                                  [[2.0, 1.0], [2.0, 1.0]])


@pytest.mark.parametrize("alpha", [-0.01, 1.01, float("nan"), float("inf"), True, "0.5"])
def test_alpha_outside_unit_interval_refused(alpha: object) -> None:
    with pytest.raises(InputError, match="alpha"):
        augment(P, [Q0, NONE], alpha=alpha)  # type: ignore[arg-type]


def test_unknown_formula_refused() -> None:
    with pytest.raises(InputError, match="formula"):
        augment(P, [Q0, NONE], formula="max")


def test_dimension_mismatches_refused() -> None:
    with pytest.raises(InputError, match="passage 1"):
        augment(P, [Q0, np.ones((1, 3), np.float32)])
    with pytest.raises(InputError, match="dimension"):
        augment(P, np.ones((2, 1, 3), np.float32))
    with pytest.raises(InputError, match="shape"):
        augment(P, np.ones((3, 3), np.float32), counts=[1, 2])
    with pytest.raises(InputError, match="counts sum"):
        augment(P, np.ones((3, 2), np.float32), counts=[1, 1])
    with pytest.raises(InputError, match="needs counts"):
        augment(P, np.ones((3, 2), np.float32))
    with pytest.raises(InputError, match="2 passage vectors"):
        augment(P, [Q0])
    with pytest.raises(InputError, match="passage vectors must be"):
        augment(P[0], [Q0])


def test_flat_uniform_and_list_forms_agree_with_a_loop() -> None:
    rng = np.random.default_rng(0)
    counts = [3, 0, 1, 5, 0, 2]
    passages = rng.normal(size=(len(counts), 8)).astype(np.float32)
    per = [rng.normal(size=(c, 8)).astype(np.float32) for c in counts]
    flat = np.concatenate(per)
    for formula in ("sum", "mean"):
        expected = np.stack([
            p if len(q) == 0 else 0.8 * p + 0.2 * (q.sum(0) if formula == "sum" else q.mean(0))
            for p, q in zip(passages, per)])
        np.testing.assert_allclose(augment(passages, per, 0.2, formula), expected, rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(augment(passages, flat, 0.2, formula, counts=counts),
                                   expected, rtol=1e-5, atol=1e-6)
    cube = rng.normal(size=(len(counts), 4, 8)).astype(np.float32)
    for formula in ("sum", "mean"):
        np.testing.assert_allclose(augment(passages, cube, 0.2, formula),
                                   augment(passages, list(cube), 0.2, formula), rtol=1e-6)
        np.testing.assert_allclose(augment_uniform(passages, cube, 0.2, formula),
                                   augment(passages, cube.reshape(-1, 8), 0.2, formula,
                                           counts=[4] * len(counts)), rtol=1e-6)


def test_zero_queries_everywhere_is_the_baseline() -> None:
    cube = np.zeros((2, 0, 2), np.float32)
    np.testing.assert_array_equal(augment(P, cube, 0.3, "sum"), P)
    np.testing.assert_array_equal(augment(P, [NONE, NONE], 0.3, "mean"), P)
    np.testing.assert_array_equal(augment(P, [[], []], 0.3, "mean"), P)  # type: ignore[list-item]


def test_inputs_are_not_modified() -> None:
    passages, queries = P.copy(), Q0.copy()
    augment(passages, [queries, queries], 0.5)
    np.testing.assert_array_equal(passages, P)
    np.testing.assert_array_equal(queries, Q0)


QUERIES = {"ja": ["j1", "j2", "j3"], "ar": ["a1"], "fi": ["f1", "f2"]}


def test_select_first_n_per_language_in_given_order() -> None:
    assert select_queries(QUERIES, ["fi", "ja"], 2) == ["f1", "f2", "j1", "j2"]
    assert select_queries(QUERIES, ["ja", "ar", "fi"], 1) == ["j1", "a1", "f1"]


def test_select_all_none_and_missing_languages() -> None:
    assert select_queries(QUERIES, ["ar", "ja"], None) == ["a1", "j1", "j2", "j3"]
    assert select_queries(QUERIES, ["ja", "ko"], 0) == []
    assert select_queries(QUERIES, ["ko"], 5) == []
    assert select_queries({}, ["ja"], 5) == []


@pytest.mark.parametrize("n", [-1, 1.5, True])
def test_select_refuses_bad_n(n: object) -> None:
    with pytest.raises(InputError, match="non-negative"):
        select_queries(QUERIES, ["ja"], n)  # type: ignore[arg-type]
