"""Runs from searchers and searchers from runs: any :class:`~xqg_os.search.base.Searcher` turns
evaluation queries into a :data:`~xqg_os.data.evalfiles.Run` (plus the texts of the passages it
retrieved, which R@kt reads); :class:`RunSearcher` serves a precomputed run (a TREC run file)
as a searcher; :func:`evaluate_searchers` chains retrieval and evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xqg_os.data.evalfiles import Answer, Query, Run, rank_scores, read_run
from xqg_os.errors import InputError
from xqg_os.search.base import Hit, Searcher, VectorSearcher

if TYPE_CHECKING:
    from xqg_os.evaluate import EvalConfig, EvalReport, WordTokenizer


PROGRESS_STEP = 1000  # queries per search call, so that a progress bar moves


@dataclass
class Retrieved:
    """Runs per system and the text (no title) of every passage some system retrieved."""

    runs: dict[str, Run] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def system_name(index: str, field: str) -> str:
    """How a system is named in tables: ``index:field``."""
    return f"{index}:{field}"


def hits_to_run(query_ids: Sequence[str], hits: Sequence[Sequence[Hit]]) -> Run:
    """``{query id: {doc id: score}}`` from per-query hits; a query without hits is left out
    (evaluation scores it 0, and a run that shares no query with the queries is caught)."""
    return {qid: {hit.id: hit.score for hit in ranked}
            for qid, ranked in zip(query_ids, hits, strict=True) if ranked}


class RunSearcher:
    """A precomputed run as a :class:`Searcher`: the top ``k`` of each query's entry, in
    trec_eval order (score descending, ties by doc id descending).

    Args:
        run: ``{query id: {doc id: score}}``.
        passages: passage text by id, for the hits' ``text`` (R@kt); None leaves it empty.
    """

    def __init__(self, run: Run, passages: Mapping[str, str] | None = None) -> None:
        self.run = run
        self.passages = passages or {}

    @classmethod
    def from_file(cls, path: str | Path, passages: Mapping[str, str] | None = None
                  ) -> RunSearcher:
        """Read a TREC run file (see :func:`~xqg_os.data.evalfiles.read_run`)."""
        return cls(read_run(path), passages)

    def search_queries(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        """The run's top ``k`` for each query (empty for a query the run lacks)."""
        return [[Hit(pid, score, text=self.passages.get(pid, ""), rank=rank)
                 for rank, (pid, score) in enumerate(rank_scores(self.run.get(q.id, {}), k),
                                                     start=1)]
                for q in queries]


def retrieve(searchers: Mapping[str, Searcher], queries: Sequence[Query], k: int,
             out: Retrieved | None = None, progress: bool = False) -> Retrieved:
    """Run every searcher on ``queries``; one system per name.

    Vector searchers that share one encoder object get the query vectors encoded once (two
    fields of one index, say).

    Args:
        searchers: ``{system name: searcher}``, in table order.
        queries: the evaluation queries.
        k: depth of each ranking.
        out: accumulate into this result.
        progress: show a progress bar (stderr) over systems x queries.
    """
    from tqdm import tqdm

    if k < 1:
        raise InputError(f"k must be positive, not {k}", param="k")
    out = out or Retrieved()
    ids = [query.id for query in queries]
    encoded: dict[int, np.ndarray] = {}
    bar = tqdm(total=len(searchers) * len(queries), unit="query", disable=not progress,
               dynamic_ncols=True)
    with bar:
        for name, searcher in searchers.items():
            bar.set_description(f"retrieve {name}")
            hits: list[list[Hit]] = []
            for start in range(0, len(queries), PROGRESS_STEP):  # chunks: the bar moves
                part = queries[start:start + PROGRESS_STEP]
                if isinstance(searcher, VectorSearcher) and searcher.encoder is not None:
                    key = id(searcher.encoder)
                    if key not in encoded:
                        encoded[key] = searcher.encode([query.text for query in queries])
                    hits.extend(searcher.search_vectors(encoded[key][start:start + len(part)], k))
                else:
                    hits.extend(searcher.search_queries(part, k))
                bar.update(len(part))
            out.runs[name] = hits_to_run(ids, hits)
            out.texts.update({hit.id: hit.text for ranked in hits for hit in ranked if hit.text})
    return out


def evaluate_searchers(searchers: Mapping[str, Searcher], queries: Sequence[Query], k: int,
                       qrels: Mapping[str, Mapping[str, int]] | None = None,
                       answers: Sequence[Answer] | None = None,
                       config: EvalConfig | None = None,
                       tokenizer: WordTokenizer | None = None, progress: bool = False
                       ) -> tuple[EvalReport, Retrieved]:
    """Retrieve with every searcher and evaluate the runs side by side (the first system is the
    default baseline); see :func:`~xqg_os.evaluate.evaluate_runs` for the metrics.
    ``progress`` shows progress bars (stderr) for retrieval and evaluation.

    Returns:
        The report and what was retrieved (runs to write, passage texts).
    """
    from xqg_os.evaluate import evaluate_runs

    if not searchers:
        raise InputError("no system to evaluate: give at least one searcher")
    retrieved = retrieve(searchers, queries, k, progress=progress)
    report = evaluate_runs(retrieved.runs, queries, qrels=qrels, answers=answers,
                           passages_text=retrieved.texts if answers is not None else None,
                           config=config, tokenizer=tokenizer, progress=progress)
    return report, retrieved
