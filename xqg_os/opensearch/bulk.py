"""Bulk writing on top of ``opensearchpy.helpers.streaming_bulk``.

:class:`BulkWriter` is a context manager: on entry it switches the index to bulk-load settings
(``refresh_interval: -1``, ``number_of_replicas: 0``), on exit it restores what the index had,
also after an error (without raising over it: with the cluster gone, the settings stay saved in
``_meta`` and the rerun restores them), refreshes, and optionally force-merges. Chunking (by
count and bytes) and 429 retries with exponential backoff are streaming_bulk's; every failed
item is kept with its id, and a failed request (connection lost, 401/403, 503) raises.

Chunks are sent by ``concurrency`` threads (default 2): a node has one write thread per core and
a single client leaves them idle while it serialises the next chunk. :meth:`BulkWriter.submit`
returns as soon as the chunks are queued (at most ``2 * concurrency`` in flight, so memory stays
bounded), which lets the caller encode the next batch while the node indexes this one.

Documents may hold their vectors as numpy arrays: the client's serializer writes them (clients
from :func:`~xqg_os.opensearch.client.make_client` use orjson, see
:mod:`xqg_os.opensearch.serializer`, about 15x faster than ``json.dumps`` of lists; an
application's own client falls back to opensearch-py's ``tolist()``). With it the writer runs at
the node's ceiling: ``benchmarks/bulk_throughput.py`` compares it with raw ``_bulk`` requests
serialised in advance.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

# bulk-load mode: no periodic refresh, no replicas, translog fsync'd in the background (the
# writer flushes at the end, so the data is durable once it returns)
BULK_SETTINGS = {"refresh_interval": "-1", "number_of_replicas": 0,
                 "translog.durability": "async"}
_FALLBACK = {"refresh_interval": "1s", "number_of_replicas": 1, "translog.durability": "request"}
# _meta key holding the settings to restore while bulk-load settings are in force, so that a
# run killed mid-way and started again still restores the index's own settings, not "-1"
SAVED_KEY = "xqg_bulk_saved_settings"


@dataclass(frozen=True)
class BulkConfig:
    """How documents are sent."""

    chunk_size: int = 500
    max_chunk_bytes: int = 20 * 1024 * 1024
    max_retries: int = 8
    initial_backoff: int = 1
    max_backoff: int = 60
    fast_settings: bool = True
    # refresh interval while loading: -1 (none) gives few large segments; on small nodes a short
    # interval writes faster because HNSW graphs of small segments are cheaper to build, and
    # defers that work to merges (see benchmarks/bulk_throughput.py)
    bulk_refresh_interval: str = "-1"
    force_merge: bool = False
    request_timeout: float = 120.0
    concurrency: int = 2
    # "index" writes whole documents; "update" adds a document's fields (all but passage_id)
    # to the existing document of that id, and fails for an id the index lacks (no upsert)
    op_type: str = "index"


@dataclass
class BulkResult:
    """What a writer did."""

    written: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (doc id, reason)
    seconds: float = 0.0


def _index_settings(client: OpenSearch, index: str) -> dict[str, Any]:
    from xqg_os.opensearch.meta import index_settings

    merged = index_settings(client, index)
    return {key: merged.get(f"index.{key}") for key in BULK_SETTINGS}


class BulkWriter:
    """Write documents to one index; use as ``with BulkWriter(client, index) as writer:``."""

    def __init__(self, client: OpenSearch, index: str, config: BulkConfig | None = None) -> None:
        self.client = client
        self.index = index
        self.config = config or BulkConfig()
        self.result = BulkResult()
        self._saved: dict[str, Any] | None = None
        self._pool = ThreadPoolExecutor(max(1, self.config.concurrency),
                                        thread_name_prefix="xqg-bulk")
        self._pending: deque[Future[list[tuple[bool, str, str]]]] = deque()
        # per-document results, kept only while write() waits for them: ingest submits millions
        self._sink: list[tuple[bool, str, str]] | None = None

    def _meta(self) -> dict[str, Any]:
        mapping = self.client.indices.get_mapping(index=self.index)
        return dict(next(iter(mapping.values()))["mappings"].get("_meta", {}))

    def _put_meta(self, meta: dict[str, Any]) -> None:
        self.client.indices.put_mapping(index=self.index, body={"_meta": meta})

    def __enter__(self) -> BulkWriter:
        if self.config.fast_settings:
            meta = self._meta()
            if SAVED_KEY in meta:  # an earlier run was killed in bulk-load mode
                self._saved = dict(meta[SAVED_KEY])
            else:
                self._saved = _index_settings(self.client, self.index)
                self._put_meta({**meta, SAVED_KEY: self._saved})
            self.client.indices.put_settings(index=self.index, body={"index": {
                **BULK_SETTINGS, "refresh_interval": self.config.bulk_refresh_interval}})
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.flush()
            else:  # drop queued chunks, let those in flight finish, keep the original error
                for future in self._pending:
                    future.cancel()
                for future in self._pending:
                    if not future.cancelled():
                        future.exception()
                self._pending.clear()
        finally:
            self._pool.shutdown(wait=True)
            if exc is None:
                self.restore()
            else:
                self._restore_after_error(exc)

    def _restore_after_error(self, error: BaseException) -> None:
        """:meth:`restore` on the way out of a failed load, never raising over ``error``, and
        not tried when ``error`` is a lost or timed-out connection (each request would wait for
        its timeout again): the settings stay saved in ``_meta``, and the rerun that resumes
        the load restores them."""
        from xqg_os.opensearch.failures import connection_failed

        if connection_failed(error):
            return
        with contextlib.suppress(Exception):  # the original error is the one to report
            self.restore()

    def restore(self) -> None:
        """Put back the index's own settings, refresh, and force-merge if asked. Idempotent."""
        if self._saved is not None:
            restore = {key: _FALLBACK[key] if value is None else value
                       for key, value in self._saved.items()}
            self.client.indices.put_settings(index=self.index, body={"index": restore})
            meta = self._meta()
            meta.pop(SAVED_KEY, None)
            self._put_meta(meta)
            self._saved = None
        self.client.indices.refresh(index=self.index)
        self.client.indices.flush(index=self.index)
        if self.config.force_merge:
            self.client.indices.forcemerge(index=self.index, max_num_segments=1,
                                           request_timeout=3600)

    def _send(self, docs: list[dict[str, Any]]) -> list[tuple[bool, str, str]]:
        """One chunk through streaming_bulk (which splits by bytes and retries 429s).

        A failed document is a result; a failed request (connection lost, timeout, 401/403 for
        the whole request, 503) raises, and the load stops with that error."""
        from opensearchpy import helpers

        cfg = self.config
        actions = (_action(self.index, doc, cfg.op_type) for doc in docs)
        results = []
        for ok, info in helpers.streaming_bulk(
                self.client, actions, chunk_size=cfg.chunk_size,
                max_chunk_bytes=cfg.max_chunk_bytes, raise_on_error=False,
                raise_on_exception=True, max_retries=cfg.max_retries,
                initial_backoff=cfg.initial_backoff, max_backoff=cfg.max_backoff,
                request_timeout=cfg.request_timeout):
            item = next(iter(info.values()))
            results.append((bool(ok), str(item.get("_id")), "" if ok else _failure_reason(item)))
        return results

    def _collect(self, future: Future[list[tuple[bool, str, str]]]) -> None:
        for ok, doc_id, reason in future.result():
            if ok:
                self.result.written += 1
            else:
                self.result.failed.append((doc_id, reason))
            if self._sink is not None:
                self._sink.append((ok, doc_id, reason))

    def submit(self, docs: Iterable[dict[str, Any]]) -> None:
        """Queue documents for writing and return; results land in :attr:`result`.

        A document's ``_id`` is its ``passage_id``, so writing it again overwrites it.
        """
        start = time.perf_counter()
        docs = list(docs)
        size = self.config.chunk_size
        for offset in range(0, len(docs), size):
            while len(self._pending) >= 2 * max(1, self.config.concurrency):
                self._collect(self._pending.popleft())
            self._pending.append(self._pool.submit(self._send, docs[offset:offset + size]))
        self.result.seconds += time.perf_counter() - start

    def flush(self) -> None:
        """Wait until everything submitted is written."""
        start = time.perf_counter()
        while self._pending:
            self._collect(self._pending.popleft())
        self.result.seconds += time.perf_counter() - start

    def write(self, docs: Iterable[dict[str, Any]]) -> Iterator[tuple[bool, str]]:
        """Write documents and wait; yield ``(ok, doc_id)`` per document of this call."""
        self._sink = []
        try:
            self.submit(docs)
            self.flush()
            done = self._sink
        finally:
            self._sink = None
        for ok, doc_id, _reason in done:
            yield ok, doc_id


def _action(index: str, doc: dict[str, Any], op_type: str) -> dict[str, Any]:
    """The bulk action writing ``doc`` (see :attr:`BulkConfig.op_type`)."""
    if op_type == "update":  # a partial update: the document's other fields stay as they are
        return {"_op_type": "update", "_index": index, "_id": doc["passage_id"],
                "doc": {key: value for key, value in doc.items() if key != "passage_id"}}
    return {"_op_type": "index", "_index": index, "_id": doc["passage_id"], "_source": doc}


def _failure_reason(item: dict[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"
    return str(error or item.get("status", "unknown"))
