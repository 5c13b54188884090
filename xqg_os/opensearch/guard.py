"""The native-library guard: refuse, before anything is created, an index whose mapping needs the
k-NN plugin's native libraries on a node that has none.

The k-NN plugin zip on Maven Central ships no native libraries (faiss, nmslib), and such a node
accepts a mapping that needs them, then dies (the whole JVM) on the first bulk write. A
``knn_vector`` field needs them when its engine is faiss or nmslib, when it names no engine or
no method at all (3.x defaults to faiss, 2.x to nmslib or faiss), when it uses a trained model,
``mode: on_disk`` or a ``compression_level`` (both are faiss features).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from xqg_os.errors import InputError

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

NATIVE_ENGINES = ("faiss", "nmslib")


def native_engines_available(client: OpenSearch) -> bool:
    """False when a node says its k-NN plugin has no native (faiss) libraries.

    The local node started by ``opensearch-local`` records that as the node attribute
    ``xqg_knn_native``; other clusters are assumed to have them (the official images do).
    """
    nodes = client.nodes.info(metric="settings", filter_path="nodes.*.attributes")
    for node in (nodes.get("nodes") or {}).values():
        if str((node.get("attributes") or {}).get("xqg_knn_native", "true")).lower() == "false":
            return False
    return True


def _vector_fields(properties: Mapping[str, Any], prefix: str = ""
                   ) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every ``knn_vector`` field of a mapping, with its dotted path (objects and multi-fields
    included)."""
    for name, spec in properties.items():
        if not isinstance(spec, Mapping):
            continue
        path = f"{prefix}{name}"
        if spec.get("type") == "knn_vector":
            yield path, spec
        for key in ("properties", "fields"):
            if isinstance(spec.get(key), Mapping):
                yield from _vector_fields(spec[key], f"{path}.")


def native_needs(field: Mapping[str, Any]) -> list[str]:
    """Why a ``knn_vector`` field definition needs native libraries (empty: it does not)."""
    reasons = []
    method = field.get("method")
    if field.get("model_id"):
        reasons.append("a trained model (faiss)")
    elif not isinstance(method, Mapping):
        reasons.append("no method (the default engine is native)")
    elif method.get("engine") in NATIVE_ENGINES:
        reasons.append(f"engine {method['engine']}")
    elif not method.get("engine"):
        reasons.append("no engine in its method (the default engine is native)")
    if field.get("mode") == "on_disk":
        reasons.append("mode on_disk")
    if field.get("compression_level") not in (None, "1x"):
        reasons.append(f"compression_level {field['compression_level']}")
    return reasons


def native_requirements(body: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{field path: reasons}`` for every vector field of a create-index body that needs the
    native libraries."""
    properties = (body.get("mappings") or {}).get("properties") or {}
    found = {path: native_needs(spec) for path, spec in _vector_fields(properties)}
    return {path: reasons for path, reasons in found.items() if reasons}


def check_native(client: OpenSearch, name: str, body: Mapping[str, Any]) -> None:
    """Refuse ``body`` for index ``name`` when it needs native libraries the node lacks.

    Raises:
        InputError: one line naming each field and why it needs them.
    """
    needs = native_requirements(body)
    if not needs or native_engines_available(client):
        return
    details = "; ".join(f"{path}: {', '.join(reasons)}" for path, reasons in needs.items())
    raise InputError(f"index {name!r} needs the k-NN plugin's native libraries (faiss), which "
                     f"this node lacks (the Maven Central plugin zip ships none) [{details}]; "
                     "use engine 'lucene' here, or 'faiss' on a cluster from the official "
                     "distribution or Docker image", param="engine")
