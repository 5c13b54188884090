"""The encoder boundary: the :class:`Encoder` protocol, its configuration and shared helpers.

Nothing here imports torch at module import: the protocol, the configuration and the role
helpers are used by stages (the embedding store, the CLI) that must stay light.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol, runtime_checkable

import numpy as np

from xqg_os.errors import InputError
from xqg_os.modelfiles import check_device, check_dtype

DEFAULT_MODEL = "ielabgroup/bert-base-multilingual-cased-xor-tydi"
KINDS = ("auto", "transformers", "sentence-transformers", "usem")
POOLINGS = ("cls", "mean")
ROLES = ("query", "passage")
# the description keys that decide what vectors an encoder produces (dtype and device only add
# rounding noise, batch size nothing)
IDENTITY_KEYS = ("model", "revision", "kind", "pooling", "normalize", "query_max_length",
                 "passage_max_length", "query_prefix", "passage_prefix", "dimension")


@runtime_checkable
class Encoder(Protocol):
    """A dense text encoder with separate query and passage settings.

    ``encode_queries`` / ``encode_passages`` return float32 arrays of shape ``[len(texts),
    dimension]`` in input order. ``describe`` returns a JSON-serialisable dict that identifies
    the vectors (model, revision, kind, pooling, normalize, max lengths, prefixes, dimension,
    dtype); it goes into the index ``_meta`` and into cache fingerprints.
    """

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        ...

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for query texts (query prefix and max length)."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Vectors for passage texts (passage prefix and max length)."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable identity of the vectors this encoder produces."""
        ...


@dataclass(frozen=True)
class EncoderConfig:
    """How to load and run an encoder.

    Attributes:
        model: hub id, local folder, a shipped model name (``all-MiniLM-L6-v2``, see
            :mod:`xqg_os.modelfiles`) or ``usem`` for the Universal Sentence Encoder adapter.
        kind: ``auto`` picks ``usem`` for the usem names, ``sentence-transformers`` when the
            model folder (or its cached snapshot) has ``modules.json``, else ``transformers``.
        pooling: ``cls`` or ``mean`` (mask-aware); ``transformers`` kind only, since a
            sentence-transformers model carries its own pooling.
        normalize: L2-normalise the vectors.
        query_max_length / passage_max_length: truncation in tokens.
        query_prefix / passage_prefix: prepended to every text (e5-style ``"query: "``).
        batch_size: texts per forward pass.
        device: ``auto`` (cuda > mps > cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        dtype: ``auto`` (bfloat16 on a GPU that supports it, else float32; see
            :func:`xqg_os.modelfiles.resolve_dtype`) or an explicit one.
        revision: hub revision (branch, tag or commit) for a hub id.
    """

    model: str = DEFAULT_MODEL
    kind: str = "auto"
    pooling: str = "cls"
    normalize: bool = False
    query_max_length: int = 32
    passage_max_length: int = 128
    query_prefix: str = ""
    passage_prefix: str = ""
    batch_size: int = 64
    device: str = "auto"
    dtype: str = "auto"
    revision: str | None = None

    def __post_init__(self) -> None:
        if not str(self.model).strip():
            raise InputError("model is empty; give a name or folder", param="model")
        _check_choice("kind", self.kind, KINDS)
        _check_choice("pooling", self.pooling, POOLINGS)
        check_dtype(self.dtype)
        for name in ("query_max_length", "passage_max_length", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, not {value!r}", param=name)
        check_device(self.device)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> EncoderConfig:
        """Build a configuration from a dict (a config file, flags), refusing unknown keys."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown encoder setting(s): {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        return cls(**dict(values))


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"unknown {name} {value!r}; use one of {', '.join(choices)}",
                         param=name)


def check_role(role: str) -> None:
    """Raise :class:`InputError` unless ``role`` is ``query`` or ``passage``."""
    _check_choice("role", role, ROLES)


def encode_texts(encoder: Encoder, texts: list[str], role: str) -> np.ndarray:
    """Encode ``texts`` with the query or passage settings of ``encoder``, as float32."""
    check_role(role)
    method = encoder.encode_queries if role == "query" else encoder.encode_passages
    vectors = np.asarray(method(list(texts)), dtype=np.float32)
    if vectors.shape != (len(texts), encoder.dimension):
        raise InputError(f"encoder returned shape {vectors.shape} for {len(texts)} texts; "
                         f"expected ({len(texts)}, {encoder.dimension})")
    return vectors


def identity(description: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an encoder description that decides its vectors (see ``IDENTITY_KEYS``)."""
    return {key: description.get(key) for key in IDENTITY_KEYS}


class RoleEncoder:
    """Shared plumbing of encoders whose two roles differ only in prefix and max length: the
    query and passage settings of :attr:`config` feed one ``_encode(texts, prefix, max_length)``
    that a subclass implements (returning float32 ``[len(texts), dimension]``)."""

    config: EncoderConfig
    model_id: str
    revision: str | None
    _dimension: int

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        return self._dimension

    def _description(self, kind: str, pooling: str, normalize: bool, dtype: str
                     ) -> dict[str, Any]:
        """The :meth:`Encoder.describe` dict, from this encoder's kind, pooling,
        normalisation and dtype and its configuration."""
        c = self.config
        return {"model": self.model_id, "revision": self.revision, "kind": kind,
                "pooling": pooling, "normalize": normalize,
                "query_max_length": c.query_max_length,
                "passage_max_length": c.passage_max_length,
                "query_prefix": c.query_prefix, "passage_prefix": c.passage_prefix,
                "dimension": self.dimension, "dtype": dtype}

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors: query prefix, ``query_max_length`` tokens."""
        return self._encode(texts, self.config.query_prefix, self.config.query_max_length)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors: passage prefix, ``passage_max_length`` tokens."""
        return self._encode(texts, self.config.passage_prefix, self.config.passage_max_length)

    def _encode(self, texts: list[str], prefix: str, max_length: int) -> np.ndarray:
        raise NotImplementedError


def package_available(module: str) -> bool:
    """Whether the package ``module`` (an import name) is importable, without importing it."""
    return importlib.util.find_spec(module) is not None


def encode_batches(encode: Callable[[list[str]], Any], texts: list[str], prefix: str,
                   batch_size: int, dimension: int) -> np.ndarray:
    """``encode`` over ``prefix + text`` for each of ``texts``, ``batch_size`` texts a call,
    as one float32 ``[len(texts), dimension]`` array (zero rows for no texts)."""
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    inputs = [prefix + text for text in texts]
    parts = [np.asarray(encode(inputs[start:start + batch_size]), dtype=np.float32)
             for start in range(0, len(inputs), batch_size)]
    return np.concatenate(parts, axis=0)


class PackageRevision:
    """The revision of an encoder shipped whole in a Python package: the version of the
    distribution :attr:`distribution` (``unknown`` when it has no metadata) plus
    :meth:`_content_revision` (what identifies the shipped weights), computed once."""

    distribution: str

    @functools.cached_property
    def revision(self) -> str:
        """Package version plus the identity of the shipped weights."""
        try:
            package_version = version(self.distribution)
        except PackageNotFoundError:
            package_version = "unknown"
        return f"{package_version}+{self._content_revision()}"

    def _content_revision(self) -> str:
        raise NotImplementedError
