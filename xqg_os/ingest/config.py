"""What an ingest does (:class:`IngestConfig`) and what the index records about it (``_meta``).

The ``_meta`` makes an index self-describing: enough to recompute any vector, to refuse a search
with another encoder, and to refuse an ingest that would mix vectors built differently
(:data:`COMPATIBILITY_KEYS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from xqg_os import __version__
from xqg_os.augment import FORMULA_VERSION
from xqg_os.errors import InputError
from xqg_os.opensearch.bulk import BulkConfig
from xqg_os.opensearch.index import IndexSpec
from xqg_os.shard import Shard

# _meta keys whose difference makes an existing index incompatible with this ingest
COMPATIBILITY_KEYS = ("encoder", "dimension", "formula", "alpha", "n", "languages",
                      "formula_version")
# the keys that shape the mix only: unused (null in _meta) when the formula is "none"
MIX_KEYS = ("alpha", "n", "languages")


@dataclass(frozen=True)
class IngestConfig:
    """What to ingest and how.

    The index's build settings and layout (``engine``, ``space_type``, ``m``,
    ``ef_construction``, ``vector_fields``, ``source_vectors``, ``quantization``, ``shards``,
    ``replicas``) become an :class:`~xqg_os.opensearch.index.IndexSpec` once the encoder's
    dimension is known (:meth:`index_spec`); they apply when the index is created.
    """

    corpus: str
    index: str
    languages: tuple[str, ...]
    n: int = 5
    alpha: float = 0.01
    formula: str = "sum"
    corpus_format: str = "auto"
    skip_bad_lines: bool = False
    batch_size: int = 256
    recreate: bool = False
    engine: str = "lucene"
    space_type: str = "innerproduct"
    m: int = 16
    ef_construction: int = 128
    vector_fields: str = "both"
    source_vectors: str = "auto"
    quantization: str = "none"
    shards: int = 1
    replicas: int = 0
    shard: Shard = field(default_factory=Shard)
    bulk: BulkConfig = field(default_factory=BulkConfig)
    # an ingest into an existing index may read its passages from these fields of the index
    # instead of the corpus file (corpus ""): see xqg_os.ingest.indexsource
    text_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.corpus) == bool(self.text_fields):
            raise InputError("give corpus, or (with into_existing) the index's text_fields, "
                             "not both" if self.corpus else
                             "give corpus (or, with into_existing, the index's text_fields)",
                             param=("corpus", "text_fields", "into_existing"))
        self.index_spec(1)  # the index name and layout are checked before any model loads

    def index_spec(self, dimension: int) -> IndexSpec:
        """The index to create for vectors of ``dimension`` (its layout: which vector fields,
        where vectors live, quantisation, shards and replicas)."""
        return IndexSpec(name=self.index, dimension=dimension, engine=self.engine,
                         space_type=self.space_type, m=self.m,
                         ef_construction=self.ef_construction, shards=self.shards,
                         replicas=self.replicas, vector_fields=self.vector_fields,
                         source_vectors=self.source_vectors, quantization=self.quantization)

    def without_queries(self) -> tuple[IngestConfig, str | None]:
        """The configuration for a run that has no generated queries: nothing to mix, so the
        formula is ``none`` (xqg_vector = passage_vector); with a notice when it was another."""
        if self.formula == "none":
            return self, None
        return replace(self, formula="none"), (
            f"no generated queries: formula {self.formula!r} replaced by 'none' "
            "(xqg_vector = passage_vector)")


def build_meta(config: IngestConfig, encoder_desc: dict[str, Any], dimension: int,
               generator_desc: dict[str, Any] | None) -> dict[str, Any]:
    """The ``_meta`` an xQG index records: enough to recompute any vector and to refuse a
    search with another encoder.

    Only what the run used is recorded: without generated queries (``generator_desc`` None)
    ``languages`` and ``n`` are null, and with formula ``none`` (xqg_vector = passage_vector)
    ``alpha`` is null too.
    """
    queries = generator_desc is not None
    mixed = config.formula != "none"
    return {
        "tool": "xqg-os", "tool_version": __version__, "formula_version": FORMULA_VERSION,
        "encoder": encoder_desc, "dimension": dimension,
        "generator": generator_desc or {},
        "languages": list(config.languages) if queries else None,
        "n": config.n if queries else None, "alpha": config.alpha if mixed else None,
        "formula": config.formula,
    }


def xqg_equals_passage(meta: dict[str, Any]) -> bool:
    """Whether an index's ``_meta`` says its xqg_vector is its passage_vector (formula none)."""
    return meta.get("formula") == "none"


def check_compatible(existing: dict[str, Any], wanted: dict[str, Any], index: str) -> None:
    """Raise :class:`InputError` naming what differs between an index's ``_meta`` and ours.

    Two indexes of formula ``none`` hold the same vectors whatever their :data:`MIX_KEYS`
    (an index written before those were left null records them), so those are not compared.
    """
    unmixed = xqg_equals_passage(existing) and xqg_equals_passage(wanted)
    keys = [key for key in COMPATIBILITY_KEYS if not (unmixed and key in MIX_KEYS)]
    differing = [key for key in keys if existing.get(key) != wanted.get(key)]
    if differing:
        details = "; ".join(f"{key}: index has {existing.get(key)!r}, this run {wanted.get(key)!r}"
                            for key in differing[:3])
        raise InputError(f"index {index!r} was built differently ({details}); "
                         "pass recreate to replace it or choose another index", param="recreate")
