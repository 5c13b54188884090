"""Which searchers a set of systems names: k-NN or exact search over indexes, exact search over
a saved vector folder, precomputed run files; one :class:`~xqg_os.search.base.Searcher` per
system, named as the evaluation tables show them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xqg_os.errors import InputError
from xqg_os.opensearch.index import VECTOR_FIELDS
from xqg_os.search.base import Searcher
from xqg_os.search.runs import RunSearcher, system_name

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from xqg_os.opensearch.client import ClientConfig


def choose_searchers(indexes: Sequence[str] = (), fields: Sequence[str] | None = None,
                     exact: bool = False, vectors: str | Path | None = None,
                     run_files: Sequence[str] = (), corpus: str | Path | None = None,
                     client_config: ClientConfig | None = None, ef_search: int | None = None,
                     hybrid: Sequence[str] = (), notices: list[str] | None = None
                     ) -> dict[str, Searcher]:
    """The searchers of the systems to evaluate, by system name, in table order.

    Args:
        indexes: xQG indexes; one system per field of each (``index:field``).
        fields: the vector fields to search; None: every vector field each index (or the
            vector folder) holds (a lean index holds only xqg_vector).
        exact: search the indexes' vectors exactly (read once) instead of by k-NN.
        vectors: a saved vector folder, searched exactly without a cluster; ``indexes`` (at
            most one) then only names its systems.
        run_files: TREC run files, ``NAME=PATH`` or ``PATH`` (named after the file).
        corpus: passage texts for the run files' hits (R@kt needs them).
        client_config: how to reach the cluster (``indexes`` without ``vectors``).
        ef_search: the k-NN searchers' HNSW candidate list size; None: their default, a
            multiple of the depth (:func:`~xqg_os.opensearch.knn.default_ef_search`).
        hybrid: fusions of BM25 with each k-NN system (``rrf``, ``min_max:0.3``; see
            :func:`~xqg_os.search.fusion.parse_fusion`): one more system per k-NN system and
            fusion, named ``index:field+bm25:FUSION``, after the k-NN ones.
        notices: when given, a line is appended for each system left out: the xqg_vector of
            an index (or folder) whose ``_meta`` says it equals its passage_vector (formula
            ``none``, built without generated queries) is not evaluated a second time.

    Raises:
        InputError: for no system at all, an unknown field, ``exact`` without indexes, or
            several indexes with one vector folder, or ``hybrid`` without k-NN search.
    """
    from xqg_os.search.fusion import parse_fusion

    fusions = [parse_fusion(spec) for spec in hybrid]
    if fusions and (exact or vectors or not indexes):
        raise InputError("hybrid fuses BM25 with k-NN search on an index: give indexes, "
                         "without exact or vectors", param=("hybrid", "indexes", "exact",
                                                             "vectors"))
    if exact and not indexes and not vectors:
        raise InputError("exact search reads the vectors of indexes; give at least one",
                         param=("exact", "indexes"))
    if not indexes and not vectors and not run_files:
        raise InputError("no system to evaluate: give indexes, vectors or run_files",
                         param=("indexes", "vectors", "run_files"))
    unknown = [f for f in fields or () if f not in VECTOR_FIELDS]
    if unknown:
        raise InputError(f"unknown field(s) {unknown} in fields; use {', '.join(VECTOR_FIELDS)}",
                         param="fields")
    systems: dict[str, Searcher] = {}
    if vectors:
        from xqg_os.data.vectors import folder_index_meta
        from xqg_os.search.exact import folder_searchers

        if len(indexes) > 1:
            raise InputError("one saved folder holds the vectors of one index; give at most "
                             "one of indexes (it names the systems)", param="indexes")
        saved = folder_searchers(vectors, fields)
        first = next(iter(saved.values()))
        name = indexes[0] if indexes else (first.index or Path(vectors).name)
        for field in set(saved) - set(distinct_fields(folder_index_meta(vectors), list(saved),
                                                      name, notices)):
            del saved[field]
        systems.update({system_name(name, f): s for f, s in saved.items()})
    elif indexes:
        from xqg_os.opensearch.client import make_client
        from xqg_os.opensearch.meta import index_info, index_vector_fields
        from xqg_os.search.exact import check_fields, index_searchers
        from xqg_os.search.knn import knn_searchers

        client = make_client(client_config)
        for index in indexes:
            info = index_info(client, index)
            wanted = list(fields or index_vector_fields(info))
            check_fields(info, wanted)
            wanted = distinct_fields(info["meta"], wanted, index, notices)
            if exact:
                found: Mapping[str, Searcher] = index_searchers(client, index, wanted,
                                                                  info=info)
            else:
                knn = knn_searchers(client, index, wanted)
                for searcher in knn.values():
                    searcher.ef_search = ef_search
                found = knn
            systems.update({system_name(index, f): s for f, s in found.items()})
            if fusions:
                from xqg_os.search.hybrid import HybridSearcher, QueryVectorCache, hybrid_name

                cache = QueryVectorCache()  # each query encoded once for all fusions
                systems.update({hybrid_name(system_name(index, f), fusion):
                                HybridSearcher(s, fusion, query_cache=cache)
                                for fusion in fusions for f, s in knn.items()})
    texts = None
    if corpus:
        from xqg_os.data.evalfiles import read_passage_texts

        texts = read_passage_texts(corpus)
    for spec in run_files:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem, spec
        if not name.strip() or not path.strip():
            raise InputError(f"run file {spec!r}: give NAME=PATH or PATH", param="run_files")
        systems[name] = RunSearcher.from_file(path, texts)
    return systems


def distinct_fields(meta: Mapping[str, object], fields: Sequence[str], name: str,
                    notices: list[str] | None = None) -> list[str]:
    """``fields`` without xqg_vector when the index ``_meta`` says it equals passage_vector
    (formula ``none``: built without generated queries) and passage_vector is searched too;
    a line saying so is appended to ``notices``."""
    wanted = list(fields)
    if meta.get("formula") == "none" and {"passage_vector", "xqg_vector"} <= set(wanted):
        wanted.remove("xqg_vector")
        if notices is not None:
            notices.append(f"{name}: xqg_vector equals passage_vector (its _meta records "
                           "formula none), so it is evaluated once, as "
                           f"{system_name(name, 'passage_vector')}")
    return wanted


def judged_absent_warnings(systems: Mapping[str, Searcher],
                           qrels: Mapping[str, Mapping[str, int]],
                           query_ids: Sequence[str]) -> list[str]:
    """One line per searched collection (index or vector folder) that lacks relevant judged
    documents of ``query_ids``: no system searching it can retrieve them (see
    :func:`~xqg_os.evaluate.coverage.absent_warning`). Run files have no collection to ask.

    An index is asked with ``mget`` (ids only), a vector folder's ids are in memory.
    """
    from xqg_os.evaluate.coverage import absent_warning, relevant_judged
    from xqg_os.search.exact import ExactSearcher
    from xqg_os.search.knn import KNNSearcherBase

    relevant = relevant_judged(qrels, query_ids)
    if not relevant:
        return []
    held: dict[str, set[str]] = {}
    for name, searcher in systems.items():
        if isinstance(searcher, ExactSearcher):
            where = f"vector folder of {searcher.index or name}"
            if where not in held:
                held[where] = set(relevant).intersection(searcher.ids)
        elif isinstance(searcher, KNNSearcherBase):
            where = f"index {searcher.index!r}"
            if where not in held:
                held[where] = _held_ids(searcher.client, searcher.index, relevant)
    return [line for where, found in held.items()
            if (line := absent_warning(where, relevant, found)) is not None]


def _held_ids(client: OpenSearch, index: str, ids: Sequence[str], chunk: int = 1000
              ) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), chunk):
        response = client.mget(index=index, body={"ids": list(ids[start:start + chunk])},
                               _source=False)
        found.update(doc["_id"] for doc in response["docs"] if doc.get("found"))
    return found
