"""The run's index: created by exactly one worker, or adopted when it matches the run.

Several workers (``shard`` i/N on N machines, Ray write tasks) may start at the same moment;
an existing index must have been built the same way (its ``_meta`` and vector fields), an empty
one made by ``xqg-os index create`` is adopted when its dimension fits.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from xqg_os.errors import InputError
from xqg_os.ingest.config import IngestConfig, check_compatible
from xqg_os.opensearch.alias import refuse_alias_of_many
from xqg_os.opensearch.bulk import SAVED_KEY
from xqg_os.opensearch.index import VECTOR_LAYOUTS, IndexExistsError, IndexSpec, create_index
from xqg_os.opensearch.meta import index_info, index_vector_fields

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["prepare_index"]


def _adopt_or_check(client: OpenSearch, index: str, meta: dict[str, Any], dimension: int,
                    fields: tuple[str, ...]) -> None:
    """An existing index must match this run (its vector fields included); an empty one made by
    ``xqg-os index create`` (no encoder in its ``_meta``) is adopted when its vector dimension
    fits."""
    info = index_info(client, index)
    existing = info["meta"]
    mapped_fields = index_vector_fields(info)
    if mapped_fields != fields:
        layout = next((name for name, f in VECTOR_LAYOUTS.items() if f == mapped_fields), None)
        hint = f"pass vector_fields {layout!r} or recreate" if layout else "pass recreate"
        raise InputError(f"index {index!r} holds the vector fields {', '.join(mapped_fields)}, "
                         f"this run writes {', '.join(fields)}; {hint}",
                         param=("vector_fields", "recreate"))
    if existing.get("encoder") is None and info["docs"] == 0:
        mapped = {name: info["mappings"]["properties"].get(name, {}).get("dimension")
                  for name in fields}
        if any(dim != dimension for dim in mapped.values()):
            raise InputError(f"the encoder gives {dimension}-d vectors but index {index!r} maps "
                             f"{mapped}; create it again with dimension {dimension} or pass "
                             "recreate", param="recreate")
        client.indices.put_mapping(index=index, body={"_meta": {**existing, **meta}})
        return
    check_compatible(existing, meta, index)


def prepare_index(client: OpenSearch, config: IngestConfig, meta: dict[str, Any],
                  dimension: int) -> IndexSpec:
    """Create the run's index, or adopt the one that is there; safe when several workers
    (``shard`` i/N on N machines, Ray write tasks) start at the same moment.

    Exactly one worker creates the index; the others find it, or lose the race to create it,
    and adopt it when its ``_meta`` and vector fields match this run (an incompatible index is
    refused, see :func:`~xqg_os.ingest.config.check_compatible`). A new index records its own
    settings for the bulk writer in the same request, so that no worker can mistake another's
    bulk-load settings for the index's own.

    Returns:
        The index spec of this run.

    Raises:
        InputError: the existing index is incompatible with this run.
    """
    spec = config.index_spec(dimension)
    if config.recreate or not client.indices.exists(index=config.index):
        created = dict(meta)
        if config.bulk.fast_settings:  # what BulkWriter restores when the load ends
            created[SAVED_KEY] = {"refresh_interval": None, "translog.durability": None,
                                  "number_of_replicas": spec.replicas}
        try:
            create_index(client, spec, created, recreate=config.recreate)
            return spec
        except IndexExistsError:  # another worker created it a moment ago
            pass
    refuse_alias_of_many(client, config.index)
    _wait_for_primaries(client, config.index)
    _adopt_or_check(client, config.index, meta, dimension, spec.fields)
    return spec


def _wait_for_primaries(client: OpenSearch, index: str) -> None:
    """Wait until the index's primary shards are active (an index another worker has just
    created may still be starting them, and counts and reads would fail until then); a red
    index is a ClusterError (see :func:`~xqg_os.opensearch.client.wait_for_primaries`)."""
    from xqg_os.opensearch.client import wait_for_primaries

    wait_for_primaries(client, index)
    # a primary reported active may still refuse searches for a moment (post-recovery)
    for _ in range(150):
        if client.count(index=index, params={"ignore": 503}).get("count") is not None:
            return
        time.sleep(0.2)
