"""Request bodies for hybrid (keyword + vector) search.

* :func:`keyword_query`: the BM25 request (``multi_match`` over the passage text fields), which
  client-side fusion (:class:`~xqg_os.search.hybrid.HybridSearcher`) sends beside the k-NN
  request, on any cluster.
* The neural-search plugin's server-side path, built from the plugin's documented request
  format (``hybrid`` query, 2.10+; ``normalization-processor``, 2.10+;
  ``score-ranker-processor`` for RRF, 2.19+): :func:`hybrid_query`, :func:`pipeline_body`,
  :func:`put_pipeline` and :func:`hybrid_search` (the ``search_pipeline`` request parameter).
  The local node has no neural-search plugin, so this path is untested against a node here;
  :func:`require_neural_search` says so in one line on such a cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xqg_os.errors import ClusterError, InputError
from xqg_os.opensearch.knn import SOURCE_EXCLUDES

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from xqg_os.search.fusion import Fusion

TEXT_FIELDS = ("title", "text")  # the text fields of mappings/*.json (standard analyzer)
NEURAL_SEARCH = "opensearch-neural-search"  # the plugin's component name in _cat/plugins
DEFAULT_PIPELINE = "xqg-hybrid"


def keyword_clause(text: str, fields: Sequence[str] = TEXT_FIELDS,
                   filter: dict[str, Any] | None = None) -> dict[str, Any]:
    """The BM25 query clause: ``multi_match`` of ``text`` over ``fields`` (``best_fields``),
    inside a ``bool`` with ``filter`` when one is given."""
    if not str(text).strip():
        raise InputError("empty query text", param="text")
    if not fields:
        raise InputError("no text field to match", param="text_fields")
    match = {"multi_match": {"query": text, "fields": list(fields)}}
    return {"bool": {"must": [match], "filter": [filter]}} if filter else match


def keyword_query(text: str, size: int = 10, fields: Sequence[str] = TEXT_FIELDS,
                  filter: dict[str, Any] | None = None) -> dict[str, Any]:
    """The BM25 request body: the top ``size`` by :func:`keyword_clause`, vectors left out of
    ``_source``."""
    if size < 1:
        raise InputError(f"size must be positive, not {size}", param="k")
    return {"size": size, "query": keyword_clause(text, fields, filter),
            "_source": {"excludes": SOURCE_EXCLUDES}}


def hybrid_query(keyword: dict[str, Any], knn: dict[str, Any], size: int = 10
                 ) -> dict[str, Any]:
    """The neural-search ``hybrid`` request body: ``queries: [keyword clause, knn clause]``.

    Args:
        keyword: a query clause (:func:`keyword_clause`).
        knn: a k-NN request body (:func:`~xqg_os.opensearch.knn.knn_query`, its ``k`` the
            candidate depth); its ``query`` becomes the second sub-query and its ``_source``
            the request's.
        size: hits returned after the pipeline fuses the two.
    """
    if size < 1:
        raise InputError(f"size must be positive, not {size}", param="k")
    body = {"size": size, "query": {"hybrid": {"queries": [copy.deepcopy(keyword),
                                                          copy.deepcopy(knn["query"])]}}}
    if "_source" in knn:
        body["_source"] = copy.deepcopy(knn["_source"])
    return body


def pipeline_body(fusion: Fusion | str) -> dict[str, Any]:
    """The search pipeline that fuses a two-query ``hybrid`` request as ``fusion`` does
    client-side: ``score-ranker-processor`` (rrf, with ``rank_constant``) or
    ``normalization-processor`` (``min_max``/``l2`` + ``arithmetic_mean``); the weights
    ``[keyword, 1 - keyword]`` when the fusion names one (the plugin wants them to sum to 1)."""
    from xqg_os.search.fusion import parse_fusion

    fusion = parse_fusion(fusion)
    combination: dict[str, Any] = {}
    if fusion.weight is not None:
        combination["parameters"] = {"weights": list(fusion.weights(2))}
    if fusion.method == "rrf":
        processor = {"score-ranker-processor": {"combination": {
            "technique": "rrf", "rank_constant": fusion.rank_constant, **combination}}}
    else:
        processor = {"normalization-processor": {
            "normalization": {"technique": fusion.method},
            "combination": {"technique": "arithmetic_mean", **combination}}}
    return {"description": f"xqg-os hybrid search: {fusion.name}",
            "phase_results_processors": [processor]}


def has_neural_search(client: OpenSearch) -> bool:
    """Whether every node of the cluster lists the neural-search plugin (``_cat/plugins``)."""
    rows = client.cat.plugins(format="json")
    nodes = {row.get("name") for row in rows}
    with_plugin = {row.get("name") for row in rows if row.get("component") == NEURAL_SEARCH}
    return bool(nodes) and with_plugin == nodes


def require_neural_search(client: OpenSearch) -> None:
    """Raise one clear line where the cluster lacks the neural-search plugin.

    Raises:
        ClusterError: the plugin is missing (on some node).
    """
    if not has_neural_search(client):
        raise ClusterError(f"this cluster lacks the neural-search plugin ({NEURAL_SEARCH}), "
                           "which the hybrid query and its search pipeline need; fuse "
                           "client-side instead (HybridSearcher, xqg-os search --hybrid)")


def put_pipeline(client: OpenSearch, fusion: Fusion | str, name: str = DEFAULT_PIPELINE
                 ) -> dict[str, Any]:
    """Create (or replace) the search pipeline ``name`` for ``fusion``; returns its body."""
    require_neural_search(client)
    body = pipeline_body(fusion)
    client.transport.perform_request("PUT", f"/_search/pipeline/{name}", body=body)
    return body


def hybrid_search(client: OpenSearch, index: str, body: dict[str, Any],
                  pipeline: str = DEFAULT_PIPELINE) -> list[dict[str, Any]]:
    """Run a ``hybrid`` body through the search pipeline ``pipeline``; the raw hits.

    Raises:
        ClusterError: the cluster refused the request (without the plugin: one line saying so).
        InputError: the index does not exist.
    """
    from opensearchpy import exceptions

    try:
        response = client.search(index=index, body=body, params={"search_pipeline": pipeline})
    except exceptions.NotFoundError as exc:
        if "pipeline" in str(exc.info).lower():
            raise ClusterError(f"search pipeline {pipeline!r} does not exist; create it "
                               "with put_pipeline") from None
        raise InputError(f"index {index!r} does not exist") from None
    except exceptions.RequestError as exc:
        if "hybrid" in str(exc.info):  # one line when the cluster lacks the plugin
            require_neural_search(client)
        raise ClusterError(f"hybrid search on {index!r} refused: {exc.info}") from None
    return list(response["hits"]["hits"])
