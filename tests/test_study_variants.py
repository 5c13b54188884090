"""Filtering and multi-vector search over hand-made vectors small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from xqg_os.data.evalfiles import Query
from xqg_os.errors import InputError
from xqg_os.study.variants import (
    QueryVectors,
    filter_mask,
    filtered_matrix,
    maxsim_run,
    multivector_run,
    vectors_per_passage,
)

E = np.eye(3, dtype=np.float32)


def vectors() -> QueryVectors:
    """Two passages (e0, e1); languages de, pt; two queries each, the second missing for p1/pt."""
    passages = np.stack([E[0], E[1]])
    queries = np.zeros((2, 2, 2, 3), np.float32)
    queries[0, 0] = [E[0], E[2]]          # p0/de: on topic, off topic
    queries[0, 1] = [E[2], E[0] * 0.5]    # p0/pt
    queries[1, 0] = [E[1], E[1]]          # p1/de
    queries[1, 1, 0] = E[2]               # p1/pt: one query
    have = np.array([[2, 2], [2, 1]], np.int32)
    return QueryVectors(["p0", "p1"], passages, ["de", "pt"], queries, have)


def test_present_respects_counts_and_languages() -> None:
    v = vectors()
    assert v.present(2, ["de", "pt"]).sum() == 7
    assert v.present(1, ["pt"]).sum() == 2
    assert vectors_per_passage(v, 2, ["de", "pt"]) == 1 + 7 / 2


def test_filter_drops_the_least_similar_share() -> None:
    v = vectors()
    keep = filter_mask(v, 2, ["de", "pt"], 0.4)
    # similarities: p0 [1, 0 | 0, .5], p1 [1, 1 | 0]; the 40% quantile of the 7 is 0.2
    assert keep.tolist() == [[[True, False], [False, True]], [[True, True], [False, False]]]
    assert (filter_mask(v, 2, ["de", "pt"], 0.0) == v.present(2, ["de", "pt"])).all()
    with pytest.raises(InputError):
        filter_mask(v, 2, ["de"], 1.0)


def test_filtered_matrix_mixes_only_kept_queries() -> None:
    v = vectors()
    matrix = filtered_matrix(v, 2, 0.5, "mean", ["de", "pt"], 0.4)
    np.testing.assert_allclose(matrix[0], 0.5 * E[0] + 0.5 * (E[0] + 0.5 * E[0]) / 2)
    np.testing.assert_allclose(matrix[1], 0.5 * E[1] + 0.5 * E[1])


def test_maxsim_scores_a_passage_by_its_best_vector() -> None:
    v = vectors()
    queries = [Query("q", "x", "de")]
    run = maxsim_run(v, np.array([E[2]]), queries, 2, ["de", "pt"], depth=2)
    assert run["q"] == {"p0": 1.0, "p1": 1.0}
    only_de = maxsim_run(v, np.array([E[2]]), queries, 2, ["de"], depth=2)
    assert only_de["q"]["p0"] == 1.0 and only_de["q"]["p1"] == 0.0
    plain = maxsim_run(v, np.array([E[2]]), queries, 1, ["de"], depth=2)
    assert plain["q"] == {"p0": 0.0, "p1": 0.0}


def test_same_and_others_follow_the_query_language() -> None:
    v = vectors()
    queries = [Query("a", "x", "de"), Query("b", "y", "pt")]
    run = multivector_run(v, np.array([E[2], E[2]]), queries, 2, "same", depth=2)
    assert run["a"]["p0"] == 1.0 and run["a"]["p1"] == 0.0  # de queries: p0's off-topic one
    assert run["b"] == {"p0": 1.0, "p1": 1.0}               # pt queries: both have e2
