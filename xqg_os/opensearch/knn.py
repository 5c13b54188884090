"""k-NN query bodies and requests (single and ``_msearch``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xqg_os.errors import ClusterError, InputError
from xqg_os.opensearch.failures import translated
from xqg_os.opensearch.index import VECTOR_FIELDS

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

SOURCE_EXCLUDES = list(VECTOR_FIELDS)
# ef_search = EF_SEARCH_MULTIPLE x k (at least EF_SEARCH_FLOOR, the plugin's own default): with
# ef_search = k, lucene HNSW loses recall exactly where R@100 is measured. The multiple is the
# smallest reaching ANN recall@k >= 0.99 against exact search in benchmarks/ef_search_recall.py
# (3.4.0, 20,000 real text embeddings, one merged segment: recall@100 0.961 at 1x, 0.988 at 2x,
# 0.995 at 3x, 0.997 at 4x; the bundled sample 1.0)
EF_SEARCH_MULTIPLE = 3
EF_SEARCH_FLOOR = 100


def default_ef_search(k: int, multiple: float = EF_SEARCH_MULTIPLE) -> int:
    """The HNSW candidate list size for a top-``k`` search: ``multiple`` x ``k``, at least
    :data:`EF_SEARCH_FLOOR`."""
    return max(EF_SEARCH_FLOOR, math.ceil(multiple * k))


def knn_query(vector: Sequence[float] | np.ndarray, k: int = 10, field: str = "xqg_vector",
              filter: dict[str, Any] | None = None, ef_search: int | None = 100,
              source: bool | list[str] = True) -> dict[str, Any]:
    """The OpenSearch request body for a k-NN search, for apps that compose their own requests.

    ``size`` is set to ``k`` and ``method_parameters.ef_search`` is passed: without them the
    lucene engine uses ``k`` as its candidate list size and recall drops for small ``k``.
    """
    if k < 1:
        raise InputError(f"k must be positive, not {k}", param="k")
    clause: dict[str, Any] = {"vector": [float(x) for x in np.asarray(vector).ravel()], "k": k}
    if ef_search is not None:
        clause["method_parameters"] = {"ef_search": max(int(ef_search), k)}
    if filter:
        clause["filter"] = filter
    body: dict[str, Any] = {"size": k, "query": {"knn": {field: clause}}}
    if source is True:
        body["_source"] = {"excludes": SOURCE_EXCLUDES}
    else:
        body["_source"] = source
    return body


def search_error(exc: Exception, index: str) -> Exception:
    """The library error for a failed search on ``index`` (sync or async client): a missing
    index is an :class:`InputError`, a refused body a :class:`ClusterError`; others as they
    are."""
    from opensearchpy import exceptions

    if isinstance(exc, exceptions.NotFoundError):
        return InputError(f"index {index!r} does not exist")
    if isinstance(exc, exceptions.RequestError):
        from xqg_os.opensearch.failures import unavailable  # a closed index

        return (unavailable(str(exc.error), "", index, exc.status_code)
                or ClusterError(f"search on {index!r} refused: {exc.info}"))
    return exc


def run_search(client: OpenSearch, index: str, body: dict[str, Any]) -> dict[str, Any]:
    """Run one search body; return the whole response."""
    with translated(lambda exc: search_error(exc, index)):
        return dict(client.search(index=index, body=body))


def knn_search(client: OpenSearch, index: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one k-NN body; return the raw hits."""
    return list(run_search(client, index, body)["hits"]["hits"])


def msearch_chunks(index: str, bodies: Sequence[dict[str, Any]], max_per_request: int = 100
                   ) -> list[list[dict[str, Any]]]:
    """The ``_msearch`` request lines for ``bodies`` on ``index``, ``max_per_request`` bodies
    per request."""
    return [[line for body in bodies[start:start + max_per_request]
             for line in ({"index": index}, body)]
            for start in range(0, len(bodies), max_per_request)]


def msearch_items(response: dict[str, Any], index: str) -> list[dict[str, Any]]:
    """The per-body responses of one ``_msearch`` response, in order.

    Raises:
        ClusterError: one of the searches failed.
    """
    items = []
    for item in response["responses"]:
        if "error" in item:
            raise ClusterError(f"search on {index!r} failed: {item['error']}")
        items.append(dict(item))
    return items


def run_msearch(client: OpenSearch, index: str, bodies: Sequence[dict[str, Any]],
                max_per_request: int = 100) -> list[dict[str, Any]]:
    """Run many search bodies through ``_msearch``; return each response, in order."""
    return [item for lines in msearch_chunks(index, bodies, max_per_request)
            for item in msearch_items(client.msearch(body=lines), index)]


def knn_msearch(client: OpenSearch, index: str, bodies: list[dict[str, Any]],
                max_per_request: int = 100) -> list[list[dict[str, Any]]]:
    """Run many k-NN bodies through ``_msearch``; return the hits of each, in order."""
    return [list(item["hits"]["hits"])
            for item in run_msearch(client, index, bodies, max_per_request)]
