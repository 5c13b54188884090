"""Reading every document of an index, without a scroll.

On OpenSearch 3.4 with k-NN derived source (the 3.x default for ``knn_vector`` fields), a scroll
whose first page holds the whole index breaks every later search on the shard once the scroll is
cleared (503, "all shards failed", until the index is closed and opened again; seen on the local
3.4.0 node, not on 2.19). ``search_after`` over a keyword field is a plain search and has no such
context, so xqg-os reads indexes that way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opensearchpy import OpenSearch


def iter_documents(client: OpenSearch, index: str, source: Sequence[str],
                   sort_field: str = "passage_id", page: int = 500,
                   query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every document of ``index`` that matches ``query`` (its ``_id`` and the ``source``
    fields), in ``sort_field`` order, ``page`` at a time through ``search_after``.

    Args:
        client: the cluster.
        index: index or alias.
        source: ``_source`` fields to return.
        sort_field: a keyword field with one value per document (xQG indexes: ``passage_id``;
            any index: ``_id``).
        page: documents per request.
        query: only the documents that match it (default: all).
    """
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": page, "query": query or {"match_all": {}},
                                "sort": [{sort_field: "asc"}], "_source": list(source)}
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=index, body=body)["hits"]["hits"]
        yield from hits
        if len(hits) < page:
            return
        after = hits[-1]["sort"]
