"""A sentence-transformers encoder: the model brings its own pooling (and normalisation).

Prefixes are passed as sentence-transformers prompts and max lengths set per call, so a model
such as multilingual-e5 behaves as with its own ``encode_query`` / ``encode_document``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xqg_os.encode.base import EncoderConfig, RoleEncoder
from xqg_os.modelfiles import resolve_device, resolve_dtype


def _pooling_and_normalize(model: Any) -> tuple[str, bool]:
    """Read the pooling mode and whether a Normalize module ends the chain."""
    pooling = "unknown"
    normalize = False
    for module in model:
        name = type(module).__name__
        if name == "Pooling":
            mode = getattr(module, "pooling_mode", None)
            if isinstance(mode, (list, tuple)):
                mode = "+".join(mode)
            if mode is None:  # older versions keep one flag per mode
                modes = [m for m in ("cls", "mean", "max", "lasttoken")
                         if getattr(module, f"pooling_mode_{m}_token", False)
                         or getattr(module, f"pooling_mode_{m}_tokens", False)]
                mode = "+".join(modes) or "unknown"
            pooling = str(mode)
        elif name == "Normalize":
            normalize = True
    return pooling, normalize


class SentenceTransformersEncoder(RoleEncoder):
    """An :class:`~xqg_os.encode.Encoder` over a ``SentenceTransformer``.

    Args:
        model: the loaded ``SentenceTransformer`` (moved to the configured device and dtype).
        config: the encoder settings; ``pooling`` is the model's own, ``normalize=True`` adds
            L2 normalisation when the model does not end with it.
        model_id: the name recorded in :meth:`describe`.
        revision: commit hash or content digest recorded in :meth:`describe`.
    """

    def __init__(self, model: Any, config: EncoderConfig, model_id: str,
                 revision: str | None = None) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.torch_dtype = resolve_dtype(config.dtype, self.device)
        self.model = model.to(device=self.device, dtype=self.torch_dtype).eval()
        self.model_id = model_id
        self.revision = revision
        self.pooling, self.model_normalizes = _pooling_and_normalize(model)
        dimension = model.get_embedding_dimension()
        if dimension is None:  # a chain that does not declare it: measure it once
            dimension = model.encode(["x"], convert_to_numpy=True).shape[1]
        self._dimension = int(dimension)

    def describe(self) -> dict[str, Any]:
        """Identity of the vectors (see :class:`~xqg_os.encode.Encoder`)."""
        return self._description("sentence-transformers", self.pooling,
                                 bool(self.config.normalize or self.model_normalizes),
                                 str(self.torch_dtype).removeprefix("torch."))

    def _encode(self, texts: list[str], prefix: str, max_length: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # max_seq_length lives on the model; restore it so other callers see no change
        previous = self.model.max_seq_length
        self.model.max_seq_length = max_length
        try:
            vectors = self.model.encode(
                list(texts), prompt=prefix or None, batch_size=self.config.batch_size,
                show_progress_bar=False, convert_to_numpy=True,
                normalize_embeddings=self.config.normalize)
        finally:
            self.model.max_seq_length = previous
        return np.asarray(vectors, dtype=np.float32)
