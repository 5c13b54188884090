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
    from xqg_os.opensearch.client import ClientConfig


def choose_searchers(indexes: Sequence[str] = (), fields: Sequence[str] | None = None,
                     exact: bool = False, vectors: str | Path | None = None,
                     run_files: Sequence[str] = (), corpus: str | Path | None = None,
                     client_config: ClientConfig | None = None, ef_search: int | None = None
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

    Raises:
        InputError: for no system at all, an unknown field, ``exact`` without indexes, or
            several indexes with one vector folder.
    """
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
        from xqg_os.search.exact import folder_searchers

        if len(indexes) > 1:
            raise InputError("one saved folder holds the vectors of one index; give at most "
                             "one of indexes (it names the systems)", param="indexes")
        saved = folder_searchers(vectors, fields)
        first = next(iter(saved.values()))
        name = indexes[0] if indexes else (first.index or Path(vectors).name)
        systems.update({system_name(name, f): s for f, s in saved.items()})
    elif indexes:
        from xqg_os.opensearch.client import make_client
        from xqg_os.opensearch.index import index_info, index_vector_fields
        from xqg_os.search.exact import check_fields, index_searchers
        from xqg_os.search.knn import knn_searchers

        client = make_client(client_config)
        for index in indexes:
            info = index_info(client, index)
            wanted = list(fields or index_vector_fields(info))
            check_fields(info, wanted)
            if exact:
                found: Mapping[str, Searcher] = index_searchers(client, index, wanted)
            else:
                knn = knn_searchers(client, index, wanted)
                for searcher in knn.values():
                    searcher.ef_search = ef_search
                found = knn
            systems.update({system_name(index, f): s for f, s in found.items()})
    texts = None
    if corpus:
        from xqg_os.data.evalfiles import read_passage_texts

        texts = read_passage_texts(corpus)
    for spec in run_files:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem, spec
        systems[name] = RunSearcher.from_file(path, texts)
    return systems
