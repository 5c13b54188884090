"""The encoder boundary: the :class:`Encoder` protocol, its configuration and shared helpers.

Nothing here imports torch at module import: the protocol, the configuration and the role
helpers are used by stages (the embedding store, the CLI) that must stay light.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from xqg_os.errors import InputError, ModelError

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL = "ielabgroup/bert-base-multilingual-cased-xor-tydi"
KINDS = ("auto", "transformers", "sentence-transformers", "usem")
POOLINGS = ("cls", "mean")
DTYPES = ("auto", "float32", "float16", "bfloat16")
ROLES = ("query", "passage")
# the description keys that decide what vectors an encoder produces (dtype and device only add
# rounding noise, batch size nothing)
IDENTITY_KEYS = ("model", "revision", "kind", "pooling", "normalize", "query_max_length",
                 "passage_max_length", "query_prefix", "passage_prefix", "dimension")
# files whose bytes make a local model what it is (see local_revision)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".npz", ".pt", ".onnx", ".model")
_DIGEST_BLOCK = 1 << 20


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
        dtype: ``auto`` (bfloat16 or float16 on GPU, float32 on CPU) or an explicit one.
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
            raise InputError("encoder model is empty; give a model name or folder")
        _check_choice("encoder kind", self.kind, KINDS)
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_choice("dtype", self.dtype, DTYPES)
        for name in ("query_max_length", "passage_max_length", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, not {value!r}")
        device = self.device
        if not (device in ("auto", "cpu", "cuda", "mps")
                or (device.startswith("cuda:") and device[5:].isdigit())):
            raise InputError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps")

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
        raise InputError(f"unknown {name} {value!r}; use one of {', '.join(choices)}")


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


def resolve_device(device: str) -> str:
    """Turn ``auto`` into ``cuda``, ``mps`` or ``cpu`` (in that order of preference)."""
    import torch

    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError(f"device {device!r} requested but CUDA is not available")
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """The torch dtype for ``dtype`` on ``device``: ``auto`` is bf16/fp16 on GPU, fp32 on CPU."""
    import torch

    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32
    return {"float32": torch.float32, "float16": torch.float16,
            "bfloat16": torch.bfloat16}[dtype]


def local_revision(folder: str | Path) -> str:
    """A content digest of a local model folder, usable as its revision.

    Hashes the name, size and first and last MiB of every weight/tokenizer model file plus the
    full bytes of the JSON configs: cheap even for large checkpoints, the same wherever the
    folder is copied, and different after retraining.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.suffix == ".json":
            digest.update(relative.encode() + b"\0" + path.read_bytes())
        elif path.suffix in _WEIGHT_SUFFIXES:
            size = path.stat().st_size
            digest.update(f"{relative}\0{size}\0".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read(_DIGEST_BLOCK))
                if size > _DIGEST_BLOCK:
                    handle.seek(max(_DIGEST_BLOCK, size - _DIGEST_BLOCK))
                    digest.update(handle.read(_DIGEST_BLOCK))
    return "sha256:" + digest.hexdigest()[:16]


def hub_commit(repo_id: str, revision: str | None = None) -> str | None:
    """The commit hash of a hub model in the local cache (None when it is not cached)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except Exception:  # noqa: BLE001 - an id the hub library refuses is simply not cached
        return None
    if not isinstance(cached, str):
        return None
    parts = Path(cached).parts
    if "snapshots" in parts:
        index = parts.index("snapshots")
        if index + 1 < len(parts):
            return parts[index + 1]
    return None


def default_threads() -> int:
    """CPU threads an encoder without torch may use: the cores this process can run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
