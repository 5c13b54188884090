"""A failed ingest takes back the index it created and wrote nothing into.

An index records in its ``_meta`` how it was built, and an ingest refuses an index built
differently; so an empty index left by a run that failed (a bad query store, a folder that
cannot be written, a model that fails on the first batch) would block the corrected rerun.
The index is removed when it is not the one that was there before the run (another index
uuid) and holds no document; an index that holds documents stays, and a rerun of the same
command resumes it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from xqg_os.errors import XQGError

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from xqg_os.ingest.config import IngestConfig

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def index_uuids(client: OpenSearch, index: str) -> set[str]:
    """The uuids of the indexes ``index`` names now (none when it does not exist)."""
    settings = client.indices.get_settings(index=index, name="index.uuid",
                                           params={"ignore_unavailable": "true"})
    return {str(s["settings"]["index"]["uuid"]) for s in settings.values()}


def remove_if_created_empty(client: OpenSearch, index: str, before: set[str]) -> bool:
    """Delete ``index`` when it is not one of the indexes ``before`` named and holds no
    document; returns whether it was deleted. Never raises: a failure here must not hide the
    run's own error."""
    try:
        if not client.indices.exists(index=index) or index_uuids(client, index) & before:
            return False
        client.indices.refresh(index=index)
        if int(client.count(index=index)["count"]):
            return False
        client.indices.delete(index=index)
        return True
    except Exception as exc:  # the run's error is what the user must see
        logger.warning("could not check or remove the index %s after a failed ingest: %s",
                       index, exc)
        return False


def _uuids_or_none(client: OpenSearch, index: str) -> set[str] | None:
    """:func:`index_uuids`, or None (no removal) when the cluster does not answer: a role that
    may not read index settings still ingests, and the run reports its own errors."""
    try:
        return index_uuids(client, index)
    except Exception:
        return None


def removes_created_index(run: Callable[Concatenate[OpenSearch, IngestConfig, P], R]
                          ) -> Callable[Concatenate[OpenSearch, IngestConfig, P], R]:
    """Decorate an ingest ``run(client, config, ...)``: when it fails, the index it created
    and wrote nothing into is removed, and an :class:`~xqg_os.errors.XQGError` says so.

    Only for a run over the whole corpus: a shard's worker must never remove an index the
    other workers may be about to write into.
    """

    @functools.wraps(run)
    def guarded(client: OpenSearch, config: IngestConfig, *args: P.args,
                **kwargs: P.kwargs) -> R:
        before = _uuids_or_none(client, config.index) if config.shard.is_whole else None
        try:
            return run(client, config, *args, **kwargs)
        except BaseException as exc:
            from xqg_os.opensearch.failures import connection_failed

            removed = (before is not None and not connection_failed(exc)  # cluster gone
                       and remove_if_created_empty(client, config.index, before))
            if removed and isinstance(exc, XQGError) and exc.args:
                exc.args = (f"{exc.args[0]} (the empty index {config.index!r} this run "
                            "created was removed)", *exc.args[1:])
            raise

    return guarded
