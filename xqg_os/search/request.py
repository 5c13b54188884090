"""Search requests and responses, shared by the sync and async searchers (they only do I/O).

:class:`SearchOptions` is what a search asks beyond the query vector (a page, ``_source``
selection, highlighting, extra bool clauses, a post filter); :func:`search_body` turns a vector
and options into one k-NN request body; :func:`parse_hits` and :func:`parse_page` turn a response
(k-NN, BM25 or any other query) into :class:`~xqg_os.search.base.Hit` records.

A k-NN query returns at most ``k`` candidates, which pages then walk: page ``from_`` of
``size`` needs ``k >= from_ + size`` (a page is cut at the ``k``-th candidate, and a ``from_`` at
``k`` or beyond is refused), with ``from``/``size`` or with ``search_after``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from xqg_os.errors import InputError
from xqg_os.opensearch.knn import SOURCE_EXCLUDES, knn_query
from xqg_os.search.base import Hit

__all__ = ["BOOL_CLAUSES", "Page", "SearchOptions", "SearchParams", "Source", "parse_hits",
           "parse_page", "search_body", "source_spec"]

# the parts of a bool query an application may add around the k-NN clause (which goes in must)
BOOL_CLAUSES = ("must", "filter", "should", "must_not")
# pages (from/size and search_after) need a total order: score, then the passage id every
# xqg-os index maps (an index without it sorts ties as the cluster returns them)
DEFAULT_SORT: tuple[dict[str, Any], ...] = (
    {"_score": "desc"}, {"passage_id": {"order": "asc", "unmapped_type": "keyword"}})

# ``_source`` as OpenSearch takes it: True/False, a list of included fields, or
# ``{"includes": [...], "excludes": [...]}``
Source = bool | Sequence[str] | Mapping[str, Sequence[str]]
Clause = Mapping[str, Any]


class SearchParams(TypedDict, total=False):
    """The keyword arguments of the searchers' calls: :class:`SearchOptions`' fields."""

    size: int | None
    from_: int
    search_after: Sequence[Any] | None
    sort: Sequence[Any] | None
    source: Source | None
    highlight: Mapping[str, Any] | None
    clauses: Mapping[str, Clause | Sequence[Clause]] | None
    post_filter: Clause | None


@dataclass(frozen=True)
class SearchOptions:
    """What a search asks beyond its query vector and ``k`` (all optional).

    Attributes:
        size: hits on the page, cut at the ``k``-th candidate; None: all ``k - from_`` left.
        from_: hits before the page (``from``), below ``k``: a k-NN query returns at most
            ``k`` candidates, so page ``from_`` of ``size`` needs ``k >= from_ + size``.
        search_after: the sort values of the previous page's last hit
            (:attr:`Page.search_after`), a cheaper way to the next page; ``from_`` then counts
            the hits already read (pass :attr:`Page.next_from`): ranks and the ``k`` bound.
        sort: the order of the hits, OpenSearch's ``sort``; None: score, then ``passage_id``
            (a total order, so pages neither repeat nor skip tied hits).
        source: ``_source`` as OpenSearch takes it; None: everything but the vector fields,
            which are left out too from includes/excludes that do not name them.
        highlight: an OpenSearch ``highlight`` object, passed through.
        clauses: bool query parts (``must``, ``filter``, ``should``, ``must_not``: a clause or
            a list) combined with the k-NN clause, which goes in ``must`` (``should`` clauses
            add their scores). They act on the candidates the k-NN clause found only (per
            shard: ``k``, or ``ef_search`` with the lucene engine), so a bool ``filter`` may
            leave fewer than ``k`` hits; the ``filter`` argument of a search is the efficient
            one, applied during the graph search.
        post_filter: an OpenSearch ``post_filter`` clause, passed through.
    """

    size: int | None = None
    from_: int = 0
    search_after: Sequence[Any] | None = None
    sort: Sequence[Any] | None = None
    source: Source | None = None
    highlight: Mapping[str, Any] | None = None
    clauses: Mapping[str, Clause | Sequence[Clause]] | None = None
    post_filter: Clause | None = None

    @classmethod
    def of(cls, params: SearchParams) -> SearchOptions:
        """The options of a searcher call's keyword arguments.

        Raises:
            InputError: an unknown option.
        """
        unknown = set(params) - set(SearchParams.__annotations__)
        if unknown:
            raise InputError(f"unknown search option(s) {sorted(unknown)}; use "
                             f"{', '.join(SearchParams.__annotations__)}", param="options")
        return cls(**params)

    def page_size(self, k: int) -> int:
        """Hits on the page for a top-``k`` search: ``size``, cut at the ``k``-th candidate.

        Raises:
            InputError: a ``from_`` below 0 or at ``k`` or beyond, a ``size`` below 1.
        """
        if self.from_ < 0:
            raise InputError(f"from_ must be 0 or more, not {self.from_}", param="from_")
        if self.size is not None and self.size < 1:
            raise InputError(f"size must be positive, not {self.size}", param="size")
        if self.from_ >= k:
            raise InputError(f"from_ = {self.from_} is not below k = {k}: a k-NN query "
                             "retrieves k candidates and its pages stay within them "
                             "(from_ + size <= k)", param=("from_", "k"))
        return k - self.from_ if self.size is None else min(self.size, k - self.from_)


def source_spec(source: Source | None) -> bool | list[str] | dict[str, list[str]]:
    """The ``_source`` of a request: vector fields excluded unless ``source`` names them."""
    if source is None or source is True:
        return {"excludes": list(SOURCE_EXCLUDES)}
    if source is False:
        return False
    if isinstance(source, str):
        source = [source]
    if isinstance(source, Mapping):
        includes = [str(f) for f in source.get("includes", [])]
        excludes = [str(f) for f in source.get("excludes", [])]
        unknown = set(source) - {"includes", "excludes"}
        if unknown:
            raise InputError(f"_source takes includes and excludes, not {sorted(unknown)}",
                             param="source")
    else:
        includes, excludes = [str(f) for f in source], []
    named = set(includes) | set(excludes)
    excludes += [f for f in SOURCE_EXCLUDES if f not in named]
    return {"includes": includes, "excludes": excludes} if includes else {"excludes": excludes}


def _bool_query(knn: dict[str, Any], clauses: Mapping[str, Clause | Sequence[Clause]]
                ) -> dict[str, Any]:
    unknown = set(clauses) - set(BOOL_CLAUSES)
    if unknown:
        raise InputError(f"unknown bool clause(s) {sorted(unknown)}; use "
                         f"{', '.join(BOOL_CLAUSES)}", param="clauses")
    parts: dict[str, list[Any]] = {"must": [knn]}
    for kind, value in clauses.items():
        items = [value] if isinstance(value, Mapping) else list(value)
        if not all(isinstance(item, Mapping) for item in items):
            raise InputError(f"bool clause {kind!r} takes query objects", param="clauses")
        parts.setdefault(kind, []).extend(dict(item) for item in items)
    return {"bool": parts}


def search_body(vector: Sequence[float] | np.ndarray, k: int, field: str, ef_search: int,
                filter: Clause | None = None, options: SearchOptions | None = None
                ) -> dict[str, Any]:
    """The k-NN request body for ``vector`` with ``options``.

    Args:
        vector: the query vector.
        k: k-NN candidates (the most hits any page can reach).
        field: the vector field searched.
        ef_search: HNSW candidate list size (raised to ``k``).
        filter: an efficient k-NN filter (applied during the graph search: ``k`` hits that
            all match it, where a bool filter would leave fewer).
        options: the page, ``_source``, highlight, clauses and post filter.

    Returns:
        The body for ``client.search``.
    """
    options = options or SearchOptions()
    size = options.page_size(k)  # with search_after, from_ only counts the hits already read
    body = knn_query(vector, k=k, field=field, filter=dict(filter) if filter else None,
                     ef_search=ef_search, source=True)
    body["size"] = size
    body["_source"] = source_spec(options.source)
    if options.from_ and options.search_after is None:
        body["from"] = options.from_
    if options.clauses:
        body["query"] = _bool_query(body["query"], options.clauses)
    if options.search_after is not None:
        body["search_after"] = list(options.search_after)
    # always a total order, so that pages neither repeat nor skip tied hits
    body["sort"] = [dict(s) if isinstance(s, Mapping) else s
                    for s in (options.sort or DEFAULT_SORT)]
    body["track_scores"] = True
    if options.highlight:
        body["highlight"] = dict(options.highlight)
    if options.post_filter:
        body["post_filter"] = dict(options.post_filter)
    return body


def _raw_hits(response_or_hits: Mapping[str, Any] | Sequence[Mapping[str, Any]]
              ) -> list[Mapping[str, Any]]:
    if isinstance(response_or_hits, Mapping):
        return list(response_or_hits["hits"]["hits"])
    return list(response_or_hits)


def parse_hits(response_or_hits: Mapping[str, Any] | Sequence[Mapping[str, Any]],
               start_rank: int = 1) -> list[Hit]:
    """:class:`Hit` records of a search response (any query: k-NN, BM25...) or of its
    ``hits.hits`` list, best first.

    Args:
        response_or_hits: a ``client.search`` response, one ``_msearch`` item, or raw hits.
        start_rank: the rank of the first hit (``from_ + 1`` on a later page).

    Returns:
        One hit per raw hit: ``lang``, ``title``, ``text`` from ``_source`` (empty when
        absent), the whole ``_source`` in ``source``, the index it came from, its highlight.
        A hit without a score (sorted by a field, no ``track_scores``) scores NaN.
    """
    hits = []
    for rank, raw in enumerate(_raw_hits(response_or_hits), start=start_rank):
        source = raw.get("_source") or {}
        score = raw.get("_score")
        hits.append(Hit(id=str(raw["_id"]), score=math.nan if score is None else float(score),
                        lang=str(source.get("lang", "")), title=str(source.get("title", "")),
                        text=str(source.get("text", "")), rank=rank,
                        index=str(raw.get("_index", "")), source=dict(source),
                        highlight={name: list(parts)
                                   for name, parts in (raw.get("highlight") or {}).items()}))
    return hits


@dataclass(frozen=True)
class Page:
    """One page of a search: its hits and how to ask for the next one.

    Attributes:
        hits: the hits, ranks continuing the previous pages' (``from_ + 1`` first).
        total: the matches the cluster counted (for k-NN, its candidates: ``k`` per shard,
            or ``ef_search`` with the lucene engine; pages still stop at ``k``).
        next_from: ``from_`` of the next page, None when no candidate is left (the ``k``
            candidates, or the matches, are used up).
        search_after: the sort values of the last hit, for the next page's ``search_after``
            (with ``from_=next_from``); None when no candidate is left.
    """

    hits: list[Hit]
    total: int
    next_from: int | None = None
    search_after: list[Any] | None = None


def parse_page(response: Mapping[str, Any], k: int, options: SearchOptions | None = None
               ) -> Page:
    """The :class:`Page` of a response to :func:`search_body` ``(..., k, options=options)``."""
    options = options or SearchOptions()
    size = options.page_size(k)
    raw = _raw_hits(response)
    total_info = response["hits"].get("total") or {}
    total = int(total_info["value"] if isinstance(total_info, Mapping) else total_info)
    end = options.from_ + len(raw)
    next_from = end if len(raw) >= size and end < min(k, total) else None
    after = list(raw[-1]["sort"]) if next_from is not None and "sort" in raw[-1] else None
    return Page(parse_hits(raw, start_rank=options.from_ + 1), total, next_from, after)
