"""What an index records, read back: its mapping, ``_meta`` (or an application index's xQG side
record), settings, count and vector fields. Reads go through the mapping where they can, which
read-only roles may ask for."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from xqg_os.errors import InputError
from xqg_os.opensearch.index import SIDE_RECORD_KEY, VECTOR_FIELDS

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["index_info", "index_settings", "get_meta", "xqg_record", "meta_read_error",
           "index_vector_fields", "meta_vector_fields", "excluded_vector_fields"]


def _get_mapping(client: OpenSearch, name: str) -> tuple[str, dict[str, Any]]:
    """The concrete index behind ``name`` and its mappings: one ``GET name/_mapping``, which
    also says whether the index exists (no ``HEAD``, which needs ``indices:admin/get``)."""
    from opensearchpy import exceptions

    try:
        mapping = client.indices.get_mapping(index=name)
    except exceptions.NotFoundError:
        raise InputError(f"index {name!r} does not exist") from None
    concrete = next(iter(mapping))
    return concrete, dict(mapping[concrete]["mappings"])


def index_info(client: OpenSearch, name: str) -> dict[str, Any]:
    """Mapping, ``_meta``, settings and document count of an index."""
    concrete, mappings = _get_mapping(client, name)
    settings = client.indices.get_settings(index=name)[concrete]["settings"]["index"]
    count = client.count(index=name)["count"]
    return {"index": concrete, "docs": count, "meta": mappings.get("_meta", {}),
            "mappings": mappings, "settings": settings}


def index_settings(client: OpenSearch, name: str) -> dict[str, Any]:
    """The flat settings of an index (``index.knn``...), its defaults included."""
    flat = client.indices.get_settings(index=name, flat_settings=True, include_defaults=True)
    entry = next(iter(flat.values()))
    return {**(entry.get("defaults") or {}), **(entry.get("settings") or {})}


def xqg_record(meta: dict[str, Any]) -> dict[str, Any]:
    """What an index's ``_meta`` records about its xQG vectors: the side record under
    :data:`SIDE_RECORD_KEY` in an application's own index (vectors added to an existing index),
    else the ``_meta`` itself (an index xqg-os created)."""
    side = meta.get(SIDE_RECORD_KEY)
    return dict(side) if isinstance(side, dict) else dict(meta)


def get_meta(client: OpenSearch, name: str) -> dict[str, Any]:
    """The xQG ``_meta`` of an index or alias (empty when it has none): the ``_meta`` it was
    created with, or the side record of an application's index (:func:`xqg_record`).

    Reads the mapping only (privilege ``indices:admin/mappings/get``): no settings, count or
    existence check, which read-only roles often may not ask for.

    Raises:
        InputError: the index does not exist.
        PrivilegeError: the user may not read the mapping (a :class:`ClusterError` that says
            to pass the encoder explicitly instead).
    """
    from xqg_os.opensearch.failures import translated

    with translated(lambda exc: meta_read_error(exc, name)):
        return xqg_record(_get_mapping(client, name)[1].get("_meta") or {})


def meta_read_error(exc: Exception, name: str) -> Exception:
    """The library error for a failed ``GET name/_mapping`` read of ``_meta`` (sync or async
    client): a missing index, a missing privilege (:func:`get_meta`); others as they are."""
    from opensearchpy import exceptions

    from xqg_os.opensearch.failures import PrivilegeError, missing_privilege

    if isinstance(exc, exceptions.NotFoundError):
        return InputError(f"index {name!r} does not exist")
    denied = missing_privilege(exc)
    if denied is None:
        return exc
    who = f"user {denied[1]!r}" if denied[1] else "this user"
    return PrivilegeError(
        f"{who} may not read the mapping of index {name!r} (privilege {denied[0]}), where "
        "xqg-os records the index's encoder: pass the encoder explicitly, or use a role that "
        f"grants {denied[0]}", privilege=denied[0], param="encoder")


def index_vector_fields(info: dict[str, Any]) -> tuple[str, ...]:
    """The xQG vector fields an index maps (from :func:`index_info`), in
    :data:`VECTOR_FIELDS` order."""
    properties = info["mappings"].get("properties") or {}
    return tuple(f for f in VECTOR_FIELDS if (properties.get(f) or {}).get("type") == "knn_vector")


def meta_vector_fields(meta: dict[str, Any]) -> tuple[str, ...]:
    """The vector fields an index's ``_meta`` records (indexes written before layouts were
    recorded hold both)."""
    recorded = (meta.get("index") or {}).get("vector_fields")
    if isinstance(recorded, list) and recorded:
        return tuple(f for f in VECTOR_FIELDS if f in recorded)
    return VECTOR_FIELDS


def excluded_vector_fields(info: dict[str, Any]) -> tuple[str, ...]:
    """The vector fields of an index (from :func:`index_info`) that its stored ``_source``
    leaves out for good (``_source.excludes`` or ``_source.enabled: false``): they cannot be
    read back. Derived source (3.x) is not such a case: vectors are rebuilt on read."""
    source = info["mappings"].get("_source") or {}
    fields = index_vector_fields(info)
    if source.get("enabled") is False:
        return fields
    patterns = [str(p) for p in source.get("excludes") or []]
    return tuple(f for f in fields if any(fnmatch.fnmatchcase(f, p) for p in patterns))
