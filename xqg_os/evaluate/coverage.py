"""Checks that catch an evaluation that can only print zeros: qrels whose documents no run ever
retrieves or the searched index does not even hold (doc ids of another corpus, say), or answers
found in no retrieved passage. Metrics of 0.000 everywhere look like a bad system; these counts
say when they are a bad input instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass


@dataclass(frozen=True)
class Coverage:
    """How much of the judged material one system's run reached.

    Attributes:
        relevant: relevant judgements (relevance > 0) of the evaluated queries.
        retrieved: those the run retrieved (at any depth it holds).
        queries: evaluated queries that have a relevant judgement.
        queries_without: those of them for which the run retrieved no relevant document.
    """

    relevant: int
    retrieved: int
    queries: int
    queries_without: int


def qrels_coverage(run: Mapping[str, Mapping[str, float]],
                   qrels: Mapping[str, Mapping[str, int]],
                   query_ids: Sequence[str]) -> Coverage:
    """Count the relevant judged documents of ``query_ids`` that ``run`` retrieved."""
    relevant = retrieved = queries = without = 0
    for qid in query_ids:
        wanted = {docid for docid, rel in qrels.get(qid, {}).items() if rel > 0}
        if not wanted:
            continue
        found = len(wanted.intersection(run.get(qid, {})))
        relevant += len(wanted)
        retrieved += found
        queries += 1
        without += found == 0
    return Coverage(relevant, retrieved, queries, without)


def _example(ids: Sequence[str]) -> str:
    return repr(ids[0]) if ids else "none"


def coverage_warnings(runs: Mapping[str, Mapping[str, Mapping[str, float]]],
                      qrels: Mapping[str, Mapping[str, int]] | None,
                      query_ids: Sequence[str], coverage: Mapping[str, Coverage],
                      kt_values: Mapping[str, Mapping[str, Mapping[str, float]]],
                      max_kt: int | None) -> list[str]:
    """One line per system whose numbers can only be zero, with the counts that show it.

    Args:
        runs: ``{system: run}``.
        qrels: the judgements (for example ids in the message).
        query_ids: the queries evaluated on qrels metrics.
        coverage: :func:`qrels_coverage` per system.
        kt_values: ``{system: {R@kt name: {qid: value}}}``.
        max_kt: the largest R@kt budget (None without R@kt).
    """
    warnings: list[str] = []
    for system, cover in coverage.items():
        if cover.relevant and not cover.retrieved:
            judged = relevant_judged(qrels or {}, query_ids)[:1]
            run = runs[system]
            seen = [d for q in query_ids for d in run.get(q, {})][:1]
            warnings.append(
                f"{system} retrieved none of the {cover.relevant} relevant judged documents "
                f"(0 of {cover.relevant}; {cover.queries_without} of {cover.queries} judged "
                f"queries retrieved none), so its qrels metrics are all 0: do the qrels name "
                f"the documents of this corpus/index? (qrels: e.g. {_example(judged)}; "
                f"retrieved: e.g. {_example(seen)})")
    for system, metrics in kt_values.items():
        counted = max((len(values) for values in metrics.values()), default=0)
        if counted and not any(v for values in metrics.values() for v in values.values()):
            warnings.append(f"{system}: no answer occurs in the top {max_kt} retrieved tokens "
                            f"of any of its {counted} questions, so R@kt is 0: do the answers "
                            "belong to these queries and the passage texts to this corpus?")
    return warnings


def relevant_judged(qrels: Mapping[str, Mapping[str, int]], query_ids: Sequence[str]
                    ) -> list[str]:
    """The distinct documents judged relevant (relevance > 0) for ``query_ids``, in order."""
    return list(dict.fromkeys(docid for qid in query_ids
                              for docid, rel in qrels.get(qid, {}).items() if rel > 0))


def absent_warning(collection: str, relevant: Sequence[str], held: Set[str]) -> str | None:
    """A line when ``collection`` (an index, a vector folder) lacks some of the ``relevant``
    judged documents (``held``: those it has), with the counts; None when it has them all."""
    missing = [docid for docid in relevant if docid not in held]
    if not missing:
        return None
    share = "none" if len(missing) == len(relevant) else f"only {len(relevant) - len(missing)}"
    return (f"{collection} holds {share} of the {len(relevant)} relevant judged documents "
            f"({len(missing)} absent, e.g. {missing[0]!r}): no system searching it can retrieve "
            "them, so its qrels metrics are bounded by what it holds; do the qrels name the "
            "documents of this corpus/index?")
