"""Standard IR metrics through ir-measures (pytrec_eval and its other providers).

Nothing here computes a metric: names are parsed by ir-measures and values come from its
providers. This module only fixes the ranking every provider sees. ir-measures' providers break
score ties differently (pytrec_eval by doc id descending, its MS MARCO RR provider by doc id
ascending), so runs are handed over with scores replaced by ``depth - rank`` under trec_eval's
order (score descending as 32-bit floats, ties by doc id descending). Values then equal
trec_eval's on the original run, and R@kt reads the same ranking.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from xqg_os.data.evalfiles import rank_scores
from xqg_os.errors import InputError

if TYPE_CHECKING:
    from ir_measures.measures import Measure

# Common spellings ir-measures does not know by that name.
_ALIASES = {"MRR": "RR", "RECALL": "R", "NDCG": "nDCG", "MAP": "AP"}


def parse_metric(name: str) -> Measure:
    """Parse a metric name such as ``nDCG@10``, ``R@100`` or ``MRR@10`` into an ir-measures
    measure. ``MRR`` is read as ``RR`` (reciprocal rank; its mean over queries is MRR).

    Raises:
        InputError: for a name ir-measures does not know.
    """
    import ir_measures

    text = name.strip()
    head, sep, tail = text.partition("@")
    canonical = _ALIASES.get(head.upper(), head) + sep + tail
    try:
        return ir_measures.parse_measure(canonical)
    except (NameError, ValueError, SyntaxError, TypeError, AttributeError) as exc:
        raise InputError(f"unknown metric {name!r} ({exc}); use ir-measures names such as "
                         "nDCG@10, R@100, RR@10 (MRR@10), P@10, AP") from None


def parse_metrics(names: Iterable[str]) -> dict[str, Measure]:
    """Parse metric names into ``{name as given: measure}``, refusing duplicates.

    Raises:
        InputError: for an unknown metric or two names of one measure.
    """
    parsed: dict[str, Measure] = {}
    for name in names:
        measure = parse_metric(name)
        for other, known in parsed.items():
            if known == measure:
                raise InputError(f"metrics {other!r} and {name.strip()!r} are the same measure")
        parsed[name.strip()] = measure
    return parsed


def canonical_run(run: Mapping[str, Mapping[str, float]],
                  query_ids: Collection[str]) -> dict[str, dict[str, float]]:
    """The run restricted to ``query_ids``, scores replaced by ``len - rank`` in trec_eval order
    so that every ir-measures provider ranks documents identically."""
    result: dict[str, dict[str, float]] = {}
    for qid in query_ids:
        scores = run.get(qid)
        if not scores:
            continue
        ranked = rank_scores(scores)
        result[qid] = {docid: float(len(ranked) - rank) for rank, (docid, _) in enumerate(ranked)}
    return result


def per_query_metrics(run: Mapping[str, Mapping[str, float]],
                      qrels: Mapping[str, Mapping[str, int]],
                      measures: Mapping[str, Measure],
                      query_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per-query values of each measure for the queries in ``query_ids``.

    Args:
        run: ``{qid: {docid: score}}``.
        qrels: ``{qid: {docid: relevance}}``; every id in ``query_ids`` should be judged.
        measures: ``{name: ir-measures measure}`` (see :func:`parse_metrics`).
        query_ids: the queries to report; a query the run lacks scores 0, as with
            ``trec_eval -c``.

    Returns:
        ``{metric name: {qid: value}}`` with one value for every id in ``query_ids``.
    """
    import ir_measures

    wanted = set(query_ids)
    judged = {qid: dict(docs) for qid, docs in qrels.items() if qid in wanted}
    ranked = canonical_run(run, query_ids)
    by_measure = {measure: name for name, measure in measures.items()}
    values: dict[str, dict[str, float]] = {name: {} for name in measures}
    if ranked and judged and measures:
        for metric in ir_measures.iter_calc(list(measures.values()), judged, ranked):
            name = by_measure.get(metric.measure)
            if name is not None and metric.query_id in wanted:
                values[name][metric.query_id] = float(metric.value)
    for name in measures:
        for qid in query_ids:
            values[name].setdefault(qid, 0.0)
    return values
