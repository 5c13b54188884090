"""A Ray Data ``Datasink`` that writes xQG documents to OpenSearch through :class:`BulkWriter`.

Ray has no OpenSearch sink; this one adds no HTTP client of its own. Each write task sends its
rows with a :class:`BulkWriter` (streaming_bulk underneath: chunking, 429 retries, per-item
results), ids are passage ids, so a task retried by Ray, or a rerun after a killed driver,
overwrites instead of duplicating. Bulk-load settings and their restoration belong to the
driver (one ``BulkWriter`` around the whole run), never to the tasks: a task leaves the index
settings, refresh and flush alone.

Rows carry ``passage_id``, ``title``, ``text``, ``lang``, ``generated_queries`` (JSON text, so
that a passage's languages survive Arrow as they are), one float32 tensor column per vector
field, and bookkeeping columns (``n_queries`` and the stage times ``t_*``) that are summed into
the run summary and never written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from ray.data.block import Block, BlockAccessor
from ray.data.datasource.datasink import Datasink, WriteResult

from xqg_os.opensearch.bulk import BulkConfig, BulkWriter
from xqg_os.opensearch.client import ClientConfig, make_client

if TYPE_CHECKING:
    from ray.data._internal.execution.interfaces import TaskContext

TIME_PREFIX = "t_"  # columns holding seconds spent per stage, summed over workers


@dataclass
class SinkResult:
    """What the write tasks did, added up."""

    written: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    no_queries: int = 0
    stages: dict[str, float] = field(default_factory=dict)

    def add(self, other: SinkResult) -> None:
        """Add another task's result to this one."""
        self.written += other.written
        self.failed += other.failed
        self.no_queries += other.no_queries
        for name, seconds in other.stages.items():
            self.stages[name] = self.stages.get(name, 0.0) + seconds


class _TaskWriter(BulkWriter):
    """A write task's writer: the driver owns the index settings, refresh and flush."""

    def restore(self) -> None:
        """Nothing: the driver's writer restores the index once, when the run ends."""


def block_documents(batch: dict[str, Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The OpenSearch documents of a batch of rows (numpy columns), in the single-process
    pipeline's shape: the same keys, the vectors as float32 numpy rows."""
    return [{"passage_id": str(pid), "title": str(title), "text": str(text), "lang": str(lang),
             "generated_queries": json.loads(queries),
             **{name: batch[name][i] for name in fields}}
            for i, (pid, title, text, lang, queries) in enumerate(zip(
                batch["passage_id"], batch["title"], batch["text"], batch["lang"],
                batch["generated_queries"]))]


class OpenSearchDatasink(Datasink[SinkResult]):
    """Write rows of xQG documents into ``index``; :attr:`result` holds the totals once
    ``write_datasink`` returns.

    Args:
        client_config: how the write tasks reach the cluster.
        index: the target index (created by the driver beforehand).
        fields: the vector fields to write.
        bulk: chunking, retries and concurrency of each task's writer.
        rows_per_write: rows Ray gathers for one write task.
    """

    def __init__(self, client_config: ClientConfig, index: str, fields: tuple[str, ...],
                 bulk: BulkConfig | None = None, rows_per_write: int = 1000) -> None:
        self.client_config = client_config
        self.index = index
        self.fields = fields
        self.bulk = replace(bulk or BulkConfig(), fast_settings=False, force_merge=False)
        self.rows_per_write = rows_per_write
        self.result = SinkResult()

    @property
    def min_rows_per_write(self) -> int:
        """Rows per write task (bulk requests are chunked inside the task)."""
        return self.rows_per_write

    def write(self, blocks: Iterable[Block], ctx: TaskContext) -> SinkResult:
        """Send the blocks' documents and wait for OpenSearch's answer to each."""
        result = SinkResult()
        writer = _TaskWriter(make_client(self.client_config), self.index, self.bulk)
        with writer:
            for block in blocks:
                # a block with columns converts to a dict of numpy columns
                batch = cast(dict[str, Any], BlockAccessor.for_block(block).to_numpy())
                if not len(batch.get("passage_id", ())):
                    continue
                result.no_queries += int((batch["n_queries"] == 0).sum())
                for name, column in batch.items():
                    if name.startswith(TIME_PREFIX):
                        stage = name[len(TIME_PREFIX):]
                        result.stages[stage] = result.stages.get(stage, 0.0) + float(
                            column.sum())
                writer.submit(block_documents(batch, self.fields))
        result.written = writer.result.written
        result.failed = list(writer.result.failed)
        result.stages["write"] = result.stages.get("write", 0.0) + writer.result.seconds
        return result

    def on_write_complete(self, write_result: WriteResult[SinkResult]) -> None:
        """Add up the tasks' results (on the driver)."""
        for part in write_result.write_returns:
            self.result.add(part)
