"""Fusion of ranked lists, on lists small enough to check by hand."""

from __future__ import annotations

import math

import pytest

from xqg_os.errors import InputError
from xqg_os.search.fusion import MIN_MAX_FLOOR, Fusion, combine, fuse, normalize, parse_fusion, rrf

KEYWORD = [("a", 10.0), ("b", 6.0), ("c", 2.0)]  # BM25 scores
VECTOR = [("b", 0.9), ("d", 0.8), ("a", 0.5)]  # k-NN scores


def same(found: list[tuple[str, float]], expected: list[tuple[str, float]]) -> bool:
    """The same docs in the same order, scores equal up to rounding."""
    return ([doc for doc, _ in found] == [doc for doc, _ in expected]
            and [s for _, s in found] == pytest.approx([s for _, s in expected]))


def test_rrf_sums_reciprocal_ranks() -> None:
    # rank constant 1: a = 1/(1+1) + 1/(1+3), b = 1/(1+2) + 1/(1+1), c = 1/(1+3), d = 1/(1+2)
    assert rrf([KEYWORD, VECTOR], rank_constant=1) == pytest.approx(
        {"a": 0.75, "b": 5 / 6, "c": 0.25, "d": 1 / 3})
    assert rrf([KEYWORD, VECTOR]) == pytest.approx(
        {"a": 1 / 61 + 1 / 63, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62})
    assert same(fuse([KEYWORD, VECTOR], "rrf"),
        [("b", 1 / 62 + 1 / 61), ("a", 1 / 61 + 1 / 63), ("d", 1 / 62), ("c", 1 / 63)])


def test_rrf_weights_scores_never_count_and_repeats_count_once() -> None:
    weighted = rrf([KEYWORD, VECTOR], rank_constant=1, weights=[0.2, 0.8])
    assert weighted == pytest.approx({"a": 0.2 / 2 + 0.8 / 4, "b": 0.2 / 3 + 0.8 / 2,
                                      "c": 0.2 / 4, "d": 0.8 / 3})
    rescaled = [[(doc, score * 1000) for doc, score in KEYWORD], VECTOR]
    assert rrf(rescaled) == rrf([KEYWORD, VECTOR])
    assert rrf([[("a", 3.0), ("a", 2.0), ("b", 1.0)]], rank_constant=1) == pytest.approx(
        {"a": 0.5, "b": 1 / 4})


def test_min_max_and_l2_normalisation() -> None:
    assert normalize([10.0, 6.0, 2.0], "min_max") == pytest.approx([1.0, 0.5, MIN_MAX_FLOOR])
    assert normalize([5.0], "min_max") == [1.0]  # one score, or all equal: 1.0
    assert normalize([4.0, 3.0], "l2") == pytest.approx([0.8, 0.6])
    assert normalize([], "l2") == []
    with pytest.raises(InputError, match="unknown normalization"):
        normalize([1.0], "z")


def test_min_max_combination_is_a_weighted_mean_with_missing_as_zero() -> None:
    # keyword: a 1, b 0.5, c 0.001; vector: b 1, d 0.75, a 0.001
    assert combine([KEYWORD, VECTOR], "min_max") == pytest.approx(
        {"a": 1.001 / 2, "b": 1.5 / 2, "c": 0.001 / 2, "d": 0.75 / 2})
    assert [doc for doc, _ in fuse([KEYWORD, VECTOR], "min_max")] == ["b", "a", "d", "c"]
    # 0.2 BM25, 0.8 k-NN: a = 0.2 + 0.8 * 0.001, b = 0.1 + 0.8, c = 0.2 * 0.001, d = 0.6
    assert same(fuse([KEYWORD, VECTOR], "min_max:0.2"),
        [("b", 0.9), ("d", 0.6), ("a", 0.2008), ("c", 0.0002)])


def test_l2_combination() -> None:
    assert same(fuse([[("b", 4.0), ("a", 3.0)], [("a", 1.0)]], "l2"),
        [("a", (0.6 + 1.0) / 2), ("b", 0.8 / 2)])
    assert same(fuse([[("b", 4.0), ("a", 3.0)], [("a", 1.0)]], "l2:1"),
        [("b", 0.8), ("a", 0.6)])


def test_fused_order_breaks_ties_as_trec_eval_and_cuts_at_depth() -> None:
    assert same(fuse([[("x", 1.0)], [("y", 5.0)]], "rrf"),
        [("y", 1 / 61), ("x", 1 / 61)])
    assert [doc for doc, _ in fuse([KEYWORD, VECTOR], "rrf", depth=2)] == ["b", "a"]
    assert fuse([[], []], "min_max") == []


def test_parse_fusion_and_names() -> None:
    assert parse_fusion("rrf") == Fusion("rrf")
    assert parse_fusion(" min_max:0.3") == Fusion("min_max", 0.3)
    assert parse_fusion("min_max:0.3").name == "min_max:0.3"
    assert Fusion("l2").name == "l2"
    assert Fusion("rrf", 0.7).weights() == (0.7, 0.3)
    assert math.fsum(Fusion("rrf", 0.7).weights()) == 1.0
    assert Fusion("rrf").weights() == (1.0, 1.0)
    for bad, message in [("bm25", "unknown fusion 'bm25'"), ("min_max:x", "is not a number"),
                         ("l2:1.5", r"must be in \[0, 1\]")]:
        with pytest.raises(InputError, match=message) as caught:
            parse_fusion(bad)
        assert caught.value.params == ("hybrid",)
    with pytest.raises(InputError, match="rank_constant"):
        Fusion("rrf", rank_constant=0)
    with pytest.raises(InputError, match="as many non-negative weights"):
        rrf([KEYWORD, VECTOR], weights=[1.0])
