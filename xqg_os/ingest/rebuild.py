"""Zero-downtime rebuilds: ingest into a new versioned index, then move the alias to it.

An application searches an alias (``docs``). A rebuild writes the whole corpus into a new index
(``docs-20261128T123000``: the alias, a dash and the UTC time of the first run; or a name the
caller gives) with the usual single-process ingest, and only once every passage is in it moves
the alias in one atomic ``_aliases`` request (:func:`~xqg_os.opensearch.alias.swap_alias`):
searches see the old index until that moment, the new one after it, never none. A run with
failed documents never moves the alias. The old indexes are kept (to move back by hand) unless
``delete_old``; they are deleted after a short grace period, so that searches that resolved the
alias just before the swap can finish on them.

A rerun of the same command resumes the unfinished index instead of starting another: the
newest versioned index of the alias that the alias does not point to, that is newer than what it
points to, and whose ``_meta`` and layout match this run (an unfinished index built differently
is left alone, with a notice). A searcher reads an index's ``_meta`` once: after a rebuild with
another encoder, make new searchers.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.ingest.config import IngestConfig, check_compatible
from xqg_os.ingest.pipeline import IngestSummary, ingest, run_meta
from xqg_os.ingest.sources import NO_QUERIES, ChosenSource
from xqg_os.opensearch.alias import alias_targets, swap_alias
from xqg_os.opensearch.index import node_major

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from xqg_os.ingest.vectorsource import PassageVectors

__all__ = ["rebuild", "versioned_name", "unfinished_index"]

STAMP = "%Y%m%dt%H%M%S"  # index names are lowercase
GRACE_SECONDS = 2.0  # between the swap and deleting the old indexes


def versioned_name(alias: str, when: datetime | None = None) -> str:
    """A new index name for ``alias``: ``ALIAS-YYYYmmddtHHMMSS`` (UTC), sortable by time."""
    return f"{alias}-{(when or datetime.now(UTC)).strftime(STAMP)}"


def _is_versioned(alias: str, name: str) -> bool:
    return re.fullmatch(rf"{re.escape(alias)}-\d{{8}}t\d{{6}}(-\d+)?", name) is not None


def _versioned(client: OpenSearch, alias: str) -> dict[str, dict[str, Any]]:
    """The versioned indexes of ``alias`` (by name pattern) and their ``_meta``."""
    mappings = client.indices.get_mapping(index=f"{alias}-*", params={"ignore": 404})
    return {name: dict(entry.get("mappings", {}).get("_meta") or {})
            for name, entry in mappings.items()
            if isinstance(entry, dict) and _is_versioned(alias, name)}


def unfinished_index(client: OpenSearch, alias: str, meta: dict[str, Any],
                     layout: dict[str, Any], current: list[str]) -> tuple[str | None, list[str]]:
    """The versioned index of ``alias`` that a rerun resumes, and the unfinished ones it leaves.

    Args:
        meta: the ``_meta`` this run builds (:func:`~xqg_os.ingest.config.build_meta`).
        layout: the layout this run records (``IndexSpec.layout()`` of the resolved spec).
        current: the indexes the alias points to now.

    Returns:
        The newest versioned index newer than the versioned ones in ``current``, built
        like this run (None when there is none), and the names of newer ones built otherwise.
    """
    newest = max((name for name in current if _is_versioned(alias, name)), default="")
    resumable: list[str] = []
    other: list[str] = []
    for name, existing in sorted(_versioned(client, alias).items()):
        if name in current or name <= newest:
            continue
        try:
            check_compatible(existing, meta, name)
        except InputError:
            other.append(name)
            continue
        (resumable if existing.get("index") == layout else other).append(name)
    return (resumable[-1] if resumable else None), other


def _new_name(client: OpenSearch, alias: str) -> str:
    base = versioned_name(alias)
    name, count = base, 1
    while client.indices.exists(index=name):  # a second rebuild within the same second
        count += 1
        name = f"{base}-{count}"
    return name


def _check(client: OpenSearch, config: IngestConfig, alias: str, index: str | None,
           delete_old: bool) -> tuple[list[str], str | None]:
    """The alias's current indexes, and the concrete index named ``alias`` to replace (if any).

    Raises:
        InputError: a combination a rebuild cannot honour.
    """
    if config.recreate:
        raise InputError("a rebuild always writes a new index: recreate does not apply "
                         "(delete an unfinished index by its own name to start afresh)",
                         param="recreate")
    if not config.shard.is_whole:
        raise InputError("a rebuild writes the whole corpus before moving the alias: shard "
                         "does not apply (ingest the shards into one index, then move the "
                         "alias yourself)", param="shard")
    current = alias_targets(client, alias)
    if index is not None and (index == alias or index in current):
        raise InputError(f"index {index!r} is what the rebuild replaces; name a new index",
                         param="index")
    if current or not client.indices.exists(index=alias):
        return current, None
    if not delete_old:
        raise InputError(f"{alias!r} is an index, so no alias can take its name; pass "
                         "delete_old to delete it in the same atomic step that creates the "
                         "alias, or choose another name", param="delete_old")
    return [], alias


def rebuild(client: OpenSearch, config: IngestConfig, encoder: Encoder,
            queries: ChosenSource = NO_QUERIES, *, alias: str, index: str | None = None,
            delete_old: bool = False, progress: Any | None = None,
            save_vectors: str | None = None, passage_vectors: PassageVectors | None = None,
            grace_seconds: float = GRACE_SECONDS) -> IngestSummary:
    """Ingest into a new versioned index and, once it is complete, point ``alias`` at it.

    Args:
        client, encoder, queries, progress, save_vectors, passage_vectors: as for
            :func:`~xqg_os.ingest.pipeline.ingest`; ``config.index`` is not used.
        alias: the alias the application searches.
        index: the new index's name; None: the unfinished one of an earlier run of this
            rebuild, else :func:`versioned_name`.
        delete_old: delete the indexes the alias pointed to (after ``grace_seconds``); a
            concrete index named ``alias`` is deleted in the swap request itself.

    Returns:
        The ingest's summary; its ``notices`` say which index was written and where the
        alias points. With failed documents the alias is not moved (rerun to resume).

    Raises:
        InputError: ``recreate`` or a shard asked of a rebuild; ``index`` names what the alias
            serves; ``alias`` is a concrete index and not ``delete_old``.
    """
    current, replace_index = _check(client, config, alias, index, delete_old)
    if index is None:
        run, _, meta = run_meta(config, encoder, queries)
        major, version = node_major(client)
        layout = run.index_spec(int(encoder.dimension)).for_node(major, version).layout()
        index, others = unfinished_index(client, alias, meta, layout, current)
        notices = [f"unfinished index {name} was built otherwise and is left as is (delete it "
                   "by its name)" for name in others]
        notices.append(f"resuming the unfinished index {index}" if index else "")
        index = index or _new_name(client, alias)
    else:
        notices = []
    summary = ingest(client, replace(config, index=index), encoder, queries, progress=progress,
                     save_vectors=save_vectors, passage_vectors=passage_vectors)
    summary.notices += [n for n in notices if n]
    if summary.failed:
        summary.notices.append(f"alias {alias!r} not moved: {len(summary.failed)} documents of "
                               f"{index} failed")
        return summary
    from xqg_os.opensearch.client import wait_for_primaries

    wait_for_primaries(client, index)
    current = alias_targets(client, alias)  # as it is now, so the swap removes exactly that
    swap_alias(client, alias, index, current, remove_index=replace_index)
    old = [name for name in current if name != index]
    if delete_old and old:
        time.sleep(grace_seconds)  # searches that resolved the alias just before the swap
        client.indices.delete(index=",".join(old))
    was = ", ".join(old or ([replace_index] if replace_index else [])) or "nothing"
    fate = "deleted" if delete_old and was != "nothing" else "kept"
    summary.notices.append(f"alias {alias!r} now points to {index} (before: {was}"
                           f"{'' if was == 'nothing' else ', ' + fate})")
    return summary
