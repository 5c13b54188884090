"""The application's searches, over its own index once xQG vectors are in it.

:func:`search_pages` walks pages of the xQG k-NN ranking through ``AsyncOpenSearch`` and
:class:`~xqg_os.search.aio.AsyncXQGSearcher` (the encoder runs in a worker thread, the event
loop stays free); :func:`hybrid_search` fuses BM25 over the application's own text fields with
the k-NN ranking (:class:`~xqg_os.search.aiohybrid.AsyncHybridSearcher`, over the same async
searcher). Both take the same filter clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opensearchpy import AsyncOpenSearch

from xqg_os.search.aio import AsyncXQGSearcher
from xqg_os.search.aiohybrid import AsyncHybridSearcher
from xqg_os.search.base import Hit
from xqg_os.search.request import Page

__all__ = ["FUSION", "TEXT_FIELDS", "Results", "article_filter", "hybrid_search", "serve",
           "search_pages", "show"]

TEXT_FIELDS = ("headline", "body")  # what BM25 matches: the application's own text fields
FUSION = "min_max:0.3"  # 0.3 BM25, 0.7 k-NN: the fusion that does not lose on the sample
SOURCE = ["headline", "category", "year", "url"]  # what a results page shows
# pages need a total order; xQG breaks score ties on passage_id, which this index does not
# map (into_existing adds only vectors), so the application breaks them on its own url
SORT = [{"_score": "desc"}, {"url": "asc"}]


def article_filter(category: str | None = None, since: int | None = None
                   ) -> dict[str, Any] | None:
    """The filter clause for a category and/or articles from year ``since`` on (None: none)."""
    clauses: list[dict[str, Any]] = []
    if category:
        clauses.append({"term": {"category": category}})
    if since is not None:
        clauses.append({"range": {"year": {"gte": since}}})
    if len(clauses) < 2:
        return clauses[0] if clauses else None
    return {"bool": {"filter": clauses}}


async def search_pages(searcher: AsyncXQGSearcher, text: str, size: int = 5, pages: int = 2,
                       filter: dict[str, Any] | None = None) -> list[Page]:
    """The first ``pages`` pages of ``size`` k-NN hits for ``text`` (fewer when the matches
    run out), each page asked with ``search_after`` the previous one's last hit.

    The filter is the efficient k-NN filter: every page is full while enough articles match.
    """
    k = size * pages  # the k-NN candidates the pages walk
    page = await searcher.search_page(text, k=k, size=size, filter=filter, sort=SORT,
                                      source=SOURCE)
    found = [page]
    while len(found) < pages and page.next_from is not None:
        page = await searcher.search_page(text, k=k, size=size, filter=filter, sort=SORT,
                                          source=SOURCE, from_=page.next_from,
                                          search_after=page.search_after)
        found.append(page)
    return found


async def hybrid_search(searcher: AsyncXQGSearcher, text: str, k: int = 5,
                        filter: dict[str, Any] | None = None) -> list[Hit]:
    """The fused top ``k`` of BM25 (over :data:`TEXT_FIELDS`) and xQG k-NN for ``text``
    (``searcher``'s client, index and encoder), with the fields a results page shows."""
    hybrid = AsyncHybridSearcher(searcher, FUSION, text_fields=TEXT_FIELDS)
    return await hybrid.search(text, k, filter, source=SOURCE)


@dataclass(frozen=True)
class Results:
    """What one search request of the application answers."""

    pages: list[Page]
    hybrid: list[Hit]


async def serve(url: str, index: str, text: str, size: int = 5,
                filter: dict[str, Any] | None = None) -> Results:
    """One search request as an async web handler would serve it: two k-NN pages, then the
    hybrid top ``size``, with the same filter."""
    async with AsyncOpenSearch(url) as aclient:
        searcher = await AsyncXQGSearcher.create(aclient, index)  # reads _meta, loads encoder
        pages = await search_pages(searcher, text, size, 2, filter)
        hybrid = await hybrid_search(searcher, text, size, filter)
    return Results(pages, hybrid)


def _line(hit: Hit) -> str:
    src = hit.source
    return (f"{hit.rank:>4}  {hit.score:6.3f}  {hit.id:<4} [{src.get('category')} "
            f"{src.get('year')}] {src.get('headline')}  {src.get('url')}")


def show(results: Results, described: str) -> str:
    """The results as the application prints them (``described``: the filter, in words)."""
    lines = []
    for number, page in enumerate(results.pages, start=1):
        lines.append(f"k-NN (xQG), {described}: page {number} of {len(results.pages)}")
        lines += [_line(hit) for hit in page.hits]
    lines.append(f"hybrid (BM25 over {', '.join(TEXT_FIELDS)} + k-NN, {FUSION}), {described}")
    lines += [_line(hit) for hit in results.hybrid]
    return "\n".join(lines)
