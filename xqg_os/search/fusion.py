"""Fusion of ranked lists (keyword and vector search) into one ranking, pure Python.

Two families, as the neural-search plugin's search pipelines compute them on the server:

* **reciprocal rank fusion** (``rrf``, Cormack et al. 2009; the ``score-ranker-processor``):
  ``score(d) = SUM_i w_i / (rank_constant + rank_i(d))`` over the lists that hold ``d``, ranks
  from 1; only ranks count, never scores.
* **score normalisation + arithmetic combination** (``min_max``, ``l2``; the
  ``normalization-processor`` with ``arithmetic_mean``): each list's scores are rescaled on
  their own (min-max: ``(s - min) / (max - min)``, a 0 raised to :data:`MIN_MAX_FLOOR`, all
  equal scores 1.0; l2: ``s / sqrt(SUM s^2)``), then
  ``score(d) = SUM_i w_i * n_i(d) / SUM_i w_i`` with ``n_i(d) = 0`` where list ``i`` lacks ``d``.

A :class:`Fusion` names one such method and its weight; ``"rrf"``, ``"min_max:0.3"`` spell it
(:func:`parse_fusion`). Fused rankings are ordered as trec_eval orders a run (score
descending, ties by doc id descending), so that an evaluation sees the order returned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xqg_os.data.evalfiles import rank_scores
from xqg_os.errors import InputError

RRF_RANK_CONSTANT = 60  # Cormack et al.'s k, the score-ranker-processor's default
NORMALIZATIONS = ("min_max", "l2")
METHODS = ("rrf", *NORMALIZATIONS)
MIN_MAX_FLOOR = 0.001  # the plugin's: a list's lowest document still beats one it did not find

Ranking = Sequence[tuple[str, float]]
"""One ranked list, best first: ``(doc id, score)`` pairs."""


@dataclass(frozen=True)
class Fusion:
    """How two ranked lists, keyword (BM25) first and vector (k-NN) second, become one.

    Args:
        method: ``rrf``, ``min_max`` or ``l2`` (see the module docstring).
        weight: the keyword list's weight in [0, 1]; the vector list gets ``1 - weight``.
            None: equal weights (1 each for ``rrf``, as plain RRF and the plugin's default).
        rank_constant: RRF's constant added to every rank (at least 1).
    """

    method: str = "rrf"
    weight: float | None = None
    rank_constant: int = RRF_RANK_CONSTANT

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"hybrid: unknown fusion {self.method!r}; use one of "
                             f"{', '.join(METHODS)}", param="hybrid")
        if self.weight is not None and not 0.0 <= self.weight <= 1.0:
            raise InputError(f"hybrid: the BM25 weight of a fusion must be in [0, 1], not "
                             f"{self.weight}", param="hybrid")
        if self.rank_constant < 1:
            raise InputError(f"rank_constant must be at least 1, not {self.rank_constant}",
                             param="rank_constant")

    @property
    def name(self) -> str:
        """The spelling :func:`parse_fusion` reads back: ``rrf``, ``min_max:0.3``."""
        return self.method if self.weight is None else f"{self.method}:{self.weight:g}"

    def weights(self, lists: int = 2) -> tuple[float, ...]:
        """The weight of each list: ``(weight, 1 - weight)``, or 1.0 each without a weight."""
        if self.weight is None:
            return (1.0,) * lists
        if lists != 2:
            raise InputError(f"a keyword weight fuses two lists, not {lists}", param="hybrid")
        return (self.weight, round(1.0 - self.weight, 12))  # 1 - 0.7: 0.3, not 0.30000000000000004


def parse_fusion(spec: str | Fusion) -> Fusion:
    """A :class:`Fusion` from ``METHOD`` or ``METHOD:KEYWORD_WEIGHT`` (``rrf``, ``l2:0.3``).

    Raises:
        InputError: an unknown method or a weight that is not a number in [0, 1].
    """
    if isinstance(spec, Fusion):
        return spec
    method, sep, weight = spec.strip().partition(":")
    if not sep:
        return Fusion(method)
    try:
        value = float(weight)
    except ValueError:
        raise InputError(f"hybrid: in {spec!r}, the BM25 weight {weight!r} is not a number "
                         "(METHOD or METHOD:WEIGHT, as min_max:0.3)", param="hybrid") from None
    return Fusion(method, value)


def _check_weights(rankings: Sequence[Ranking], weights: Sequence[float] | None
                   ) -> Sequence[float]:
    if weights is None:
        return (1.0,) * len(rankings)
    if len(weights) != len(rankings) or any(w < 0 for w in weights):
        raise InputError(f"{len(rankings)} ranked lists need as many non-negative weights, "
                         f"not {list(weights)}", param="weights")
    return weights


def rrf(rankings: Sequence[Ranking], rank_constant: int = RRF_RANK_CONSTANT,
        weights: Sequence[float] | None = None) -> dict[str, float]:
    """Reciprocal rank fusion: ``{doc id: SUM_i w_i / (rank_constant + rank_i)}``.

    Args:
        rankings: ranked lists, best first (a doc repeated in one list counts at its best rank).
        rank_constant: added to each 1-based rank.
        weights: one per list; None: 1.0 each.
    """
    weights = _check_weights(rankings, weights)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        seen: set[str] = set()
        for rank, (doc, _) in enumerate(ranking, start=1):
            if doc not in seen:
                seen.add(doc)
                fused[doc] = fused.get(doc, 0.0) + weight / (rank_constant + rank)
    return fused


def normalize(scores: Sequence[float], technique: str) -> list[float]:
    """One list's scores rescaled by ``technique``: ``min_max`` (into [MIN_MAX_FLOOR, 1]; all
    equal scores give 1.0) or ``l2`` (divided by the list's Euclidean norm)."""
    if not scores:
        return []
    if technique == "min_max":
        low, high = min(scores), max(scores)
        if high == low:
            return [1.0] * len(scores)
        return [((s - low) / (high - low)) or MIN_MAX_FLOOR for s in scores]
    if technique == "l2":
        norm = math.sqrt(sum(s * s for s in scores))
        return [s / norm if norm else 0.0 for s in scores]
    raise InputError(f"unknown normalization {technique!r}; use one of "
                     f"{', '.join(NORMALIZATIONS)}", param="technique")


def combine(rankings: Sequence[Ranking], technique: str,
            weights: Sequence[float] | None = None) -> dict[str, float]:
    """Normalise each list with ``technique``, then the weighted arithmetic mean per doc (a
    list that lacks the doc gives it 0): ``{doc id: SUM_i w_i * n_i / SUM_i w_i}``."""
    weights = _check_weights(rankings, weights)
    total = sum(weights)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        best: dict[str, float] = {}
        for doc, score in ranking:
            best.setdefault(doc, float(score))
        docs = list(best)
        for doc, value in zip(docs, normalize([best[d] for d in docs], technique)):
            fused[doc] = fused.get(doc, 0.0) + (weight * value / total if total else 0.0)
    return fused


def fuse(rankings: Sequence[Ranking], fusion: Fusion | str = "rrf", depth: int | None = None
         ) -> list[tuple[str, float]]:
    """The fused ranking of ``rankings`` (keyword first, then vector), best first, at most
    ``depth`` long; ties ordered as trec_eval orders them (doc id descending)."""
    fusion = parse_fusion(fusion)
    weights = fusion.weights(len(rankings)) if fusion.weight is not None else None
    scores: Mapping[str, float]
    if fusion.method == "rrf":
        scores = rrf(rankings, fusion.rank_constant, weights)
    else:
        scores = combine(rankings, fusion.method, weights)
    return rank_scores(scores, depth)
