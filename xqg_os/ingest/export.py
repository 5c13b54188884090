"""The vector folder an ingest writes next to its index (``save_vectors``), kept whole.

Exact search over the folder stands for search over the index, so the folder must hold every
document the index holds, not only those this run writes: a rerun on an index that is already
complete, or a resumed run with another folder, exports the documents the index already holds
(read back from it) as well. Each id is exported once: a resumed export skips the rows the
folder has committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xqg_os.data.vectors import VectorFolderWriter
from xqg_os.errors import InputError

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from xqg_os.opensearch.index import IndexSpec

TEXT_FIELDS = ("passage_id", "title", "text", "lang")


class IndexExport:
    """Append a run's documents, and those the index already holds, to a vector folder.

    Args:
        client: the cluster.
        folder: the vector folder (created when absent; see
            :class:`~xqg_os.data.vectors.VectorFolderWriter`).
        meta: the index ``_meta``.
        spec: the run's index spec (name, dimension, vector fields, space type).

    Raises:
        InputError: the index already holds documents the folder lacks and leaves their
            vectors out of its stored ``_source``, so they cannot be exported.
    """

    def __init__(self, client: OpenSearch, folder: str | Path, meta: Mapping[str, object],
                 spec: IndexSpec) -> None:
        from xqg_os.opensearch.meta import excluded_vector_fields, index_info

        self.client, self.index, self.fields = client, spec.name, list(spec.fields)
        self.writer = VectorFolderWriter(folder, meta, spec.dimension, spec.fields,
                                         spec.space_type, spec.name)
        client.indices.refresh(index=spec.name)
        held = int(client.count(index=spec.name)["count"])
        gone = excluded_vector_fields(index_info(client, spec.name))
        if gone and held > len(self.writer.ids):
            raise InputError(f"index {spec.name!r} already holds {held} documents and leaves "
                             f"{', '.join(gone)} out of its stored _source, so save_vectors "
                             f"cannot export them to {folder} (it has {len(self.writer.ids)}); "
                             "pass recreate to rebuild the index and the folder together",
                             param=("save_vectors", "recreate"))

    @property
    def rows(self) -> int:
        """Documents the folder holds."""
        return len(self.writer.ids)

    def add_built(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Export documents this run built (before they are written to the index)."""
        self.writer.add(d for d in docs if str(d["passage_id"]) not in self.writer.ids)

    def add_indexed(self, ids: Iterable[str]) -> int:
        """Export the documents of ``ids`` that the index holds and the folder lacks, read
        back from the index (a realtime ``mget``); returns how many."""
        wanted = [pid for pid in ids if pid not in self.writer.ids]
        if not wanted:
            return 0
        response = self.client.mget(index=self.index, body={"ids": wanted}, realtime=True,
                                    _source_includes=[*TEXT_FIELDS, *self.fields])
        return self._add_sources((doc["_id"], doc["_source"]) for doc in response["docs"]
                                 if doc.get("found"))

    def catch_up(self) -> int:
        """Export every document of the index the folder still lacks (documents of other
        corpora or runs), read page by page; returns how many."""
        from xqg_os.opensearch.read import iter_documents

        self.client.indices.refresh(index=self.index)
        if int(self.client.count(index=self.index)["count"]) <= self.rows:
            return 0
        added = 0
        batch: list[tuple[str, Mapping[str, Any]]] = []
        for hit in iter_documents(self.client, self.index, [*TEXT_FIELDS, *self.fields]):
            if str(hit["_id"]) not in self.writer.ids:
                batch.append((str(hit["_id"]), hit["_source"]))
            if len(batch) >= 500:
                added += self._add_sources(batch)
                batch = []
        return added + self._add_sources(batch)

    def _add_sources(self, sources: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        docs = []
        for pid, source in sources:
            absent = [f for f in self.fields if f not in source]
            if absent:
                raise InputError(f"document {pid!r} of index {self.index!r} has no "
                                 f"{', '.join(absent)} in its _source, so save_vectors cannot "
                                 "export it; pass recreate to rebuild the index and the folder",
                                 param=("save_vectors", "recreate"))
            docs.append({"passage_id": pid, **{k: source.get(k, "") for k in TEXT_FIELDS[1:]},
                         **{f: np.asarray(source[f], dtype=np.float32) for f in self.fields}})
        self.writer.add(docs)
        return len(docs)
