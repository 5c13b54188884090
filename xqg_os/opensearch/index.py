"""Index lifecycle: bodies from ``mappings/``, create and delete (what an index records is read
by :mod:`xqg_os.opensearch.meta`).

An index's layout is chosen per use (:class:`IndexSpec`): which vector fields it holds
(``xqg``: the augmented vector only, what production needs; ``both``: the baseline too, for
evaluation), whether vectors live in the stored ``_source`` (:data:`SOURCE_VECTORS`), Lucene
scalar quantisation, shards and replicas. The generated queries are always stored, so any vector
can be recomputed. The layout is recorded in ``_meta["index"]``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, replace
from importlib import resources
from typing import TYPE_CHECKING, Any

from xqg_os.errors import ClusterError, InputError
from xqg_os.opensearch.alias import refuse_alias
from xqg_os.opensearch.guard import check_native, native_engines_available

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["ENGINES", "SPACE_TYPES", "VECTOR_FIELDS", "VECTOR_LAYOUTS", "SOURCE_VECTORS",
           "QUANTIZATIONS", "IndexSpec", "IndexExistsError", "index_body", "create_index",
           "delete_index", "SIDE_RECORD_KEY", "native_engines_available", "node_major"]

ENGINES = ("lucene", "faiss")
SPACE_TYPES = ("innerproduct", "cosinesimil", "l2")
MAX_DIMENSION = 16000  # the k-NN plugin's limit for knn_vector fields
VECTOR_FIELDS = ("passage_vector", "xqg_vector")  # every vector field xqg-os writes
VECTOR_LAYOUTS = {"xqg": ("xqg_vector",), "both": VECTOR_FIELDS}
# where vectors live: auto = the node's default (derived on 3.x, stored on 2.x); derived = out of
# the stored _source, rebuilt from the vector files on read (3.x); stored = JSON text in _source;
# excluded = out of _source and not readable back (2.x's lean layout)
SOURCE_VECTORS = ("auto", "derived", "stored", "excluded")
QUANTIZATIONS = ("none", "sq")
DERIVED_SETTING = "knn.derived_source.enabled"
# the _meta key of the side record in an application's index that xqg-os added vectors to (the
# application's own _meta stays beside it)
SIDE_RECORD_KEY = "xqg"


class IndexExistsError(InputError):
    """The index to create exists already (perhaps created a moment ago by another worker)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"index {name!r} exists; pass recreate to replace it", param="recreate")
        self.index = name


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
    replicas: int = 0
    vector_fields: str = "both"
    source_vectors: str = "auto"
    quantization: str = "none"

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower() or self.name.startswith(("_", "-")):
            raise InputError(f"invalid index name {self.name!r}: "
                             "lowercase, not starting with _ or -")
        if not 1 <= self.dimension <= MAX_DIMENSION:
            raise InputError(f"dimension {self.dimension} is out of range: "
                             f"k-NN vectors take 1 to {MAX_DIMENSION} dimensions",
                             param="dimension")
        for key, allowed in (("engine", ENGINES), ("space_type", SPACE_TYPES),
                             ("vector_fields", tuple(VECTOR_LAYOUTS)),
                             ("source_vectors", SOURCE_VECTORS),
                             ("quantization", QUANTIZATIONS)):
            if getattr(self, key) not in allowed:
                raise InputError(f"unknown {key} {getattr(self, key)!r}; use one of "
                                 f"{', '.join(allowed)}", param=key)
        for key in ("m", "ef_construction", "ef_search", "shards"):
            if getattr(self, key) < 1:
                raise InputError(f"{key} must be positive, not {getattr(self, key)}",
                                 param=key)
        if self.replicas < 0:
            raise InputError(f"replicas must be 0 or more, not {self.replicas}",
                             param="replicas")

    @property
    def fields(self) -> tuple[str, ...]:
        """The vector fields of this layout."""
        return VECTOR_LAYOUTS[self.vector_fields]

    def for_node(self, major: int, version: str = "") -> IndexSpec:
        """This spec resolved for a node of OpenSearch ``major`` (``source_vectors`` made
        concrete).

        Raises:
            InputError: derived source or ``sq`` quantisation asked of a 2.x node.
        """
        where = f"this node runs {version or major}"
        if major < 3 and self.quantization != "none":
            raise InputError(f"quantization {self.quantization!r} is supported on OpenSearch "
                             f"3.x only ({where}); use 'none'", param="quantization")
        if major < 3 and self.source_vectors == "derived":
            raise InputError(f"source_vectors 'derived' needs OpenSearch 3.x ({where}); use "
                             "'stored', or 'excluded' (vectors then cannot be read back)",
                             param="source_vectors")
        if self.source_vectors != "auto":
            return self
        return replace(self, source_vectors="derived" if major >= 3 else "stored")

    def layout(self) -> dict[str, Any]:
        """The layout as ``_meta["index"]`` records it."""
        record = asdict(self)
        record.pop("name")
        record["vector_fields"] = list(self.fields)
        record["layout"] = self.vector_fields
        return record


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


def index_body(spec: IndexSpec, meta: dict[str, Any] | None = None, major: int = 3
               ) -> dict[str, Any]:
    """The create-index body for ``spec`` on a node of OpenSearch ``major``, with ``_meta``
    recorded in the mapping.

    ``source_vectors`` ``auto`` leaves the node's default; resolve the spec with
    :meth:`IndexSpec.for_node` first to record the concrete choice.
    """
    template = _fill(copy.deepcopy(_template(spec.engine)), asdict(spec))
    vector = template.pop("vector_field")
    encoders = template.pop("encoders")
    if spec.quantization != "none":
        vector["method"]["parameters"]["encoder"] = encoders[spec.quantization]
    body: dict[str, Any] = template
    body["mappings"]["properties"].update({f: copy.deepcopy(vector) for f in spec.fields})
    if major >= 3 and spec.source_vectors != "auto":
        # on by default from 3.0; 2.x has it off (older 2.x nodes do not know the setting)
        body["settings"]["index"][DERIVED_SETTING] = spec.source_vectors == "derived"
    if spec.source_vectors == "excluded":
        body["mappings"]["_source"] = {"excludes": list(spec.fields)}
    body["mappings"]["_meta"] = dict(meta or {})
    body["mappings"]["_meta"].setdefault("index", spec.layout())
    return body


def node_major(client: OpenSearch) -> tuple[int, str]:
    """The major version of the cluster's OpenSearch and its full version string."""
    version = str(client.info()["version"]["number"])
    return int(version.split(".")[0]), version


def create_index(client: OpenSearch, spec: IndexSpec, meta: dict[str, Any] | None = None,
                 recreate: bool = False) -> dict[str, Any]:
    """Create the index (the spec resolved for the node, see :meth:`IndexSpec.for_node`);
    with ``recreate``, delete an existing one first. Nothing is changed when it is refused.

    Raises:
        InputError: the index exists (without ``recreate``), the layout is not possible on
            this node (see :meth:`IndexSpec.for_node`), or the mapping needs the k-NN native
            libraries that the node lacks (:func:`~xqg_os.opensearch.guard.check_native`).
    """
    major, version = node_major(client)
    resolved = spec.for_node(major, version)
    return create_index_body(client, spec.name, index_body(resolved, meta, major), recreate)


def create_index_body(client: OpenSearch, name: str, body: dict[str, Any],
                      recreate: bool = False) -> dict[str, Any]:
    """Create index ``name`` from a full create-index body, after the native-library guard.

    Raises:
        IndexExistsError: the index exists (without ``recreate``), or another client created
            it at the same moment (so concurrent workers can adopt it).
        InputError: as :func:`create_index`.
        ClusterError: the node refused the body.
    """
    check_native(client, name, body)
    if client.indices.exists(index=name):
        if not recreate:
            refuse_alias(client, name, "creating an index of that name", "choose another name")
            raise IndexExistsError(name)
        refuse_alias(client, name, "recreate", "pass alias to rebuild behind it (a new index, "
                     "then an atomic swap), or name one of those indexes",
                     param=("recreate", "alias"))
        client.indices.delete(index=name)
    from opensearchpy import exceptions

    try:
        return dict(client.indices.create(index=name, body=body))
    except exceptions.RequestError as exc:
        if exc.error == "resource_already_exists_exception":  # another worker was first
            raise IndexExistsError(name) from None
        raise ClusterError(f"OpenSearch refused to create {name!r}: {exc.error} "
                           f"{_reason(exc)}") from None


def _reason(exc: Any) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        return str(info.get("error", {}).get("reason", ""))
    return ""


def delete_index(client: OpenSearch, name: str, missing_ok: bool = False) -> bool:
    """Delete an index. Returns False when it did not exist (and ``missing_ok``).

    Raises:
        InputError: the index does not exist (without ``missing_ok``), or ``name`` is an alias
            (the message names the indexes behind it: delete those by their own names).
    """
    if not client.indices.exists(index=name):
        if missing_ok:
            return False
        raise InputError(f"index {name!r} does not exist")
    refuse_alias(client, name, "deleting it", "delete the index by its own name (an aliased "
                 "name goes with its last index)")
    client.indices.delete(index=name)
    return True
