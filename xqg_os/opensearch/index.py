"""Index lifecycle: bodies from ``mappings/``, create / delete / info, the ``_meta`` record."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from xqg_os.errors import ClusterError, InputError

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

ENGINES = ("lucene", "faiss")
SPACE_TYPES = ("innerproduct", "cosinesimil", "l2")
MAX_DIMENSION = 16000  # the k-NN plugin's limit for knn_vector fields
VECTOR_FIELDS = ("passage_vector", "xqg_vector")


@dataclass(frozen=True)
class IndexSpec:
    """How a k-NN index is built. Validated on construction."""

    name: str
    dimension: int
    engine: str = "lucene"
    space_type: str = "innerproduct"
    m: int = 16
    ef_construction: int = 128
    ef_search: int = 100
    shards: int = 1

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower() or self.name.startswith(("_", "-")):
            raise InputError(f"invalid index name {self.name!r}: "
                             "lowercase, not starting with _ or -")
        if not 1 <= self.dimension <= MAX_DIMENSION:
            raise InputError(f"dimension {self.dimension} is out of range: "
                             f"k-NN vectors take 1 to {MAX_DIMENSION} dimensions",
                             param="dimension")
        if self.engine not in ENGINES:
            raise InputError(f"unknown engine {self.engine!r}; use one of {', '.join(ENGINES)}",
                             param="engine")
        if self.space_type not in SPACE_TYPES:
            raise InputError(f"unknown space_type {self.space_type!r}; "
                             f"use one of {', '.join(SPACE_TYPES)}", param="space_type")
        for key in ("m", "ef_construction", "ef_search", "shards"):
            if getattr(self, key) < 1:
                raise InputError(f"{key} must be positive, not {getattr(self, key)}",
                                 param=key)


def _template(engine: str) -> dict[str, Any]:
    text = resources.files("xqg_os").joinpath("mappings", f"{engine}.json").read_text("utf-8")
    return dict(json.loads(text))


def _fill(node: Any, values: dict[str, Any]) -> Any:
    """Replace every string ``"{key}"`` in a JSON tree by ``values[key]`` (keeping its type)."""
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    if isinstance(node, str) and node.startswith("{") and node.endswith("}"):
        return values[node[1:-1]]
    return node


def index_body(spec: IndexSpec, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The create-index body for ``spec``, with ``_meta`` recorded in the mapping."""
    body = _fill(copy.deepcopy(_template(spec.engine)), asdict(spec))
    body["settings"]["index"]["number_of_shards"] = spec.shards
    body["mappings"]["_meta"] = dict(meta or {})
    body["mappings"]["_meta"].setdefault("index", {
        "engine": spec.engine, "space_type": spec.space_type, "m": spec.m,
        "ef_construction": spec.ef_construction, "ef_search": spec.ef_search,
        "dimension": spec.dimension})
    return dict(body)


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


def create_index(client: OpenSearch, spec: IndexSpec, meta: dict[str, Any] | None = None,
                 recreate: bool = False) -> dict[str, Any]:
    """Create the index; with ``recreate``, delete an existing one first.

    Raises:
        InputError: the index exists (without ``recreate``), or ``faiss`` was asked for on a
            node without native k-NN libraries.
    """
    if spec.engine == "faiss" and not native_engines_available(client):
        raise InputError("engine 'faiss' needs the k-NN plugin's native libraries, which this "
                         "node lacks (the Maven Central plugin zip ships none); use "
                         "engine 'lucene' here, 'faiss' on a cluster from the official "
                         "distribution or Docker image", param="engine")
    if client.indices.exists(index=spec.name):
        if not recreate:
            raise InputError(f"index {spec.name!r} exists; pass recreate to replace it",
                             param="recreate")
        client.indices.delete(index=spec.name)
    from opensearchpy import exceptions

    try:
        return dict(client.indices.create(index=spec.name, body=index_body(spec, meta)))
    except exceptions.RequestError as exc:
        raise ClusterError(f"OpenSearch refused to create {spec.name!r}: {exc.error} "
                           f"{_reason(exc)}") from None


def _reason(exc: Any) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        return str(info.get("error", {}).get("reason", ""))
    return ""


def delete_index(client: OpenSearch, name: str, missing_ok: bool = False) -> bool:
    """Delete an index. Returns False when it did not exist (and ``missing_ok``)."""
    if not client.indices.exists(index=name):
        if missing_ok:
            return False
        raise InputError(f"index {name!r} does not exist")
    client.indices.delete(index=name)
    return True


def index_info(client: OpenSearch, name: str) -> dict[str, Any]:
    """Mapping, ``_meta``, settings and document count of an index."""
    if not client.indices.exists(index=name):
        raise InputError(f"index {name!r} does not exist")
    mapping = client.indices.get_mapping(index=name)
    concrete = next(iter(mapping))
    mappings = mapping[concrete]["mappings"]
    settings = client.indices.get_settings(index=name)[concrete]["settings"]["index"]
    count = client.count(index=name)["count"]
    return {"index": concrete, "docs": count, "meta": mappings.get("_meta", {}),
            "mappings": mappings, "settings": settings}


def get_meta(client: OpenSearch, name: str) -> dict[str, Any]:
    """The ``_meta`` an index was created with (empty when it has none)."""
    return dict(index_info(client, name)["meta"])
