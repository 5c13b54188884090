"""xQG vectors in an application's existing index, beside the application's own fields.

:func:`ingest_into_existing` adds the vector fields (``knn_vector``, the method of the run's
layout) and ``generated_queries`` to the index's mapping, then writes each passage's vectors
and generated queries with a partial update of the document whose id is the passage id
(``update`` bulk actions, no upsert): the application's fields stay as they are, and a passage
whose id the index lacks is reported as failed, never created. How the vectors were made goes
into the side record ``_meta["xqg"]``, merged with the application's own ``_meta``; the searcher
reads it there (:func:`~xqg_os.opensearch.meta.xqg_record`).

The passages come from the corpus file as for any ingest (their ids must be the application's
document ids), or from the index itself: ``config.text_fields`` names the application's text
fields, read from the documents that lack the vector (:mod:`xqg_os.ingest.indexsource`). The
side record says which (``passages``), and a rerun from another source is refused.

The index must have been created with ``index.knn: true``, a setting OpenSearch fixes at
creation: without it no k-NN graph is built and a ``knn`` query is refused.

A rerun resumes: documents that have the vector already are skipped (an ``exists`` query), and
partial updates are idempotent; read from the index, a document added since the last run is
picked up.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from xqg_os.encode.base import Encoder
from xqg_os.errors import ClusterError, InputError
from xqg_os.ingest.config import IngestConfig, check_compatible
from xqg_os.ingest.indexsource import IndexPassages, check_same_passages, passages_record
from xqg_os.ingest.pipeline import (
    IngestSummary,
    _batches,
    begin_run,
    build_documents,
    missing_after_load,
)
from xqg_os.ingest.sources import NO_QUERIES, ChosenSource
from xqg_os.opensearch.alias import refuse_alias_of_many
from xqg_os.opensearch.bulk import BulkWriter
from xqg_os.opensearch.index import (
    DERIVED_SETTING,
    SIDE_RECORD_KEY,
    IndexSpec,
    index_body,
    node_major,
)
from xqg_os.opensearch.meta import index_info, index_settings

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from xqg_os.ingest.vectorsource import PassageVectors

__all__ = ["prepare_existing", "ingest_into_existing", "with_vectors"]

QUERIES_FIELD = "generated_queries"


UNWRITTEN = ("still without the vector after the load: added while this run went on, or lost "
             "by a failing node")


def _check_fields(index: str, mapped: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` the mapping lacks; refuses one mapped otherwise."""
    missing = {}
    for name, field in wanted.items():
        have = mapped.get(name)
        if have is None:
            missing[name] = field
        elif (have.get("type", "object") != field.get("type", "object")  # objects: no type
              or have.get("dimension") != field.get("dimension")):
            found = have.get("type", "object")
            if have.get("dimension") is not None:
                found += f", dimension {have['dimension']}"
            want = field["type"] + (f", dimension {field['dimension']}"
                                    if "dimension" in field else "")
            raise InputError(f"index {index!r} maps {name} as {found}, xQG needs {want}: "
                             "rename the application's field, or write xQG into an index of "
                             "its own")
    return missing


def prepare_existing(client: OpenSearch, config: IngestConfig, meta: dict[str, Any],
                     dimension: int) -> tuple[str, IndexSpec]:
    """Add the run's vector fields to the application's index and record the side record.

    Args:
        config: the run; ``config.index`` names the application's index (or an alias of one).
        meta: the ``_meta`` this run records (:func:`~xqg_os.ingest.config.build_meta`,
            with where the passages come from: ``passages``, see
            :func:`~xqg_os.ingest.indexsource.passages_record`).
        dimension: the encoder's vector dimension.

    Returns:
        The concrete index and the run's index spec (its vector fields, the k-NN method).

    Raises:
        InputError: the index does not exist, is an alias of several, was created by xqg-os,
            lacks ``index.knn``, maps a field of ours otherwise, or holds vectors made
            differently or from other passages; a layout choice that only a new index can
            take.
    """
    if config.source_vectors != "auto":
        raise InputError("source_vectors applies to a new index; the application's index keeps "
                         "its own _source", param="source_vectors")
    refuse_alias_of_many(client, config.index)
    info = index_info(client, config.index)
    index, app_meta = str(info["index"]), dict(info["meta"])
    if "encoder" in app_meta:
        raise InputError(f"index {index!r} was created by xqg-os: ingest into it as usual, "
                         "without into_existing", param="into_existing")
    settings = {key: str(value) for key, value in index_settings(client, index).items()}
    if settings.get("index.knn", "false").lower() != "true":
        raise InputError(f"index {index!r} was created without index.knn: true, which "
                         "OpenSearch fixes at creation (no k-NN graph, knn queries refused): "
                         "reindex the application's documents into an index created with "
                         "\"index.knn\": true, then add xQG to that one")
    major, version = node_major(client)
    spec = replace(config.index_spec(dimension), name=index).for_node(major, version)
    properties = index_body(spec, {}, major)["mappings"]["properties"]
    wanted = {name: properties[name] for name in (*spec.fields, QUERIES_FIELD)}
    missing = _check_fields(index, info["mappings"].get("properties") or {}, wanted)
    side = app_meta.get(SIDE_RECORD_KEY)
    if isinstance(side, dict):
        check_compatible(side, meta, index)
        check_same_passages(side, meta["passages"], index)
    elif len(missing) < len(wanted):
        raise InputError(f"index {index!r} maps {', '.join(sorted(set(wanted) - set(missing)))}"
                         " but records no xQG side record: rename those fields, or write xQG "
                         "into an index of its own")
    derived = major >= 3 and settings.get(f"index.{DERIVED_SETTING}", "").lower() == "true"
    layout = {**spec.layout(), "source_vectors": "derived" if derived else "stored",
              "shards": int(settings.get("index.number_of_shards", 1)),
              "replicas": int(settings.get("index.number_of_replicas", 0))}
    from opensearchpy import exceptions

    try:
        client.indices.put_mapping(index=index, body={
            "properties": missing,
            "_meta": {**app_meta, SIDE_RECORD_KEY: {**meta, "index": layout}}})
    except exceptions.RequestError as exc:
        raise ClusterError(f"OpenSearch refused the xQG fields in {index!r}: {exc.error} "
                           f"{exc.info}") from None
    return index, spec


def with_vectors(client: OpenSearch, index: str, ids: list[str],
                 field: str = "xqg_vector") -> set[str]:
    """The ids of ``ids`` whose document holds ``field`` (searchable since the last refresh)."""
    found: set[str] = set()
    for start in range(0, len(ids), 1000):
        part = ids[start:start + 1000]
        response = client.search(index=index, body={
            "size": len(part), "_source": False, "query": {"bool": {"filter": [
                {"ids": {"values": part}}, {"exists": {"field": field}}]}}})
        found.update(str(hit["_id"]) for hit in response["hits"]["hits"])
    return found


def _update(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The part of a built document that goes into the application's document."""
    return {"passage_id": doc["passage_id"], QUERIES_FIELD: doc[QUERIES_FIELD],
            **{name: doc[name] for name in fields}}


def ingest_into_existing(client: OpenSearch, config: IngestConfig, encoder: Encoder,
                         queries: ChosenSource = NO_QUERIES, progress: Any | None = None,
                         passage_vectors: PassageVectors | None = None) -> IngestSummary:
    """Add xQG vectors to the documents of an application's index; see the module docstring.

    Args:
        client, encoder, queries, progress, passage_vectors: as for
            :func:`~xqg_os.ingest.pipeline.ingest`.
        config: the run; ``config.index`` is the application's index. Its bulk-load settings
            are not used: the index is live, so its refresh interval and replicas stay. With
            ``text_fields`` (and no corpus) the passages are the index's documents that lack
            the vector, ``progress`` counting those.

    Returns:
        The summary: ``written`` documents updated, ``already_indexed`` ones that had the
        vectors, ``failed`` ids the index lacks (``document_missing_exception``) or could not
        update.
    """
    if config.recreate:
        raise InputError("into_existing adds vectors to the application's documents: recreate "
                         "does not apply", param=("recreate", "into_existing"))
    if config.text_fields and not config.shard.is_whole:
        raise InputError("shard splits a corpus file by position; the index's documents are "
                         "read whole (text_fields)", param=("shard", "text_fields"))
    started = time.perf_counter()
    config, summary, _, meta = begin_run(config, encoder, queries, progress)
    meta = {**meta, "passages": passages_record(config.text_fields)}
    if config.text_fields:
        client.indices.refresh(index=config.index)  # an earlier run's vectors are counted
        source: IndexPassages | None = IndexPassages(client, config.index, config.text_fields)
    else:
        source = None
    index, spec = prepare_existing(client, config, meta, int(encoder.dimension))
    if source is None:  # vectors written by an earlier run become visible (refreshed above else)
        client.indices.refresh(index=index)
    else:
        summary.already_indexed = source.done
        if progress is not None:
            progress.reset(total=source.pending)
    bulk = replace(config.bulk, fast_settings=False, op_type="update")
    with BulkWriter(client, index, bulk) as writer:
        for batch in _batches(config, summary, source):
            # the index source reads only documents without the vector
            done = with_vectors(client, index, [p.id for p in batch]) if source is None else set()
            todo = [p for p in batch if p.id not in done]
            summary.already_indexed += len(batch) - len(todo)
            if todo:
                docs = build_documents(todo, queries.source(todo), encoder, config, summary,
                                       spec.fields, passage_vectors)
                writer.submit([_update(doc, spec.fields) for doc in docs])
            if progress is not None:
                progress.update(len(batch))
        writer.flush()
        summary.written = writer.result.written
        summary.failed = list(writer.result.failed)
    if source is not None and source.without_text:
        summary.notices.append(f"{source.without_text} documents hold none of the text fields "
                               f"{', '.join(config.text_fields)} in their _source: skipped as "
                               "empty")
    known = {pid for pid, _ in summary.failed}  # the writer refreshed the index on exit
    if source is None:
        summary.failed += missing_after_load(
            client, config, None, known, present=lambda ids: with_vectors(client, index, ids))
    else:  # every document still read lacks the vector: added while this run went on, or lost
        summary.failed += missing_after_load(client, config, None, known, passages=source,
                                             present=lambda ids: set(), reason=UNWRITTEN)
    summary.seconds = time.perf_counter() - started
    return summary
