"""k-NN query bodies and requests (single and ``_msearch``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xqg_os.errors import ClusterError, InputError
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


def knn_search(client: OpenSearch, index: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one k-NN body; return the raw hits."""
    from opensearchpy import exceptions

    try:
        response = client.search(index=index, body=body)
    except exceptions.NotFoundError:
        raise InputError(f"index {index!r} does not exist") from None
    except exceptions.RequestError as exc:
        raise ClusterError(f"search on {index!r} refused: {exc.info}") from None
    return list(response["hits"]["hits"])


def knn_msearch(client: OpenSearch, index: str, bodies: list[dict[str, Any]],
                max_per_request: int = 100) -> list[list[dict[str, Any]]]:
    """Run many k-NN bodies through ``_msearch``; return the hits of each, in order."""
    results: list[list[dict[str, Any]]] = []
    for start in range(0, len(bodies), max_per_request):
        lines: list[dict[str, Any]] = []
        for body in bodies[start:start + max_per_request]:
            lines.append({"index": index})
            lines.append(body)
        response = client.msearch(body=lines)
        for item in response["responses"]:
            if "error" in item:
                raise ClusterError(f"search on {index!r} failed: {item['error']}")
            results.append(list(item["hits"]["hits"]))
    return results
