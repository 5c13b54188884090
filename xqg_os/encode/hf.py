"""A Hugging Face ``AutoModel`` + ``AutoTokenizer`` encoder with CLS or mean pooling.

This is how the reference retriever (mBERT trained with Tevatron) encodes: CLS pooling, no
normalisation, one tied encoder for queries (32 tokens) and passages (128 tokens).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from xqg_os.encode.base import EncoderConfig, RoleEncoder
from xqg_os.errors import ModelError
from xqg_os.modelfiles import resolve_device, resolve_dtype


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool token states ``[B, T, d]`` into ``[B, d]`` in float32.

    ``cls`` takes the first token; ``mean`` averages the tokens the mask keeps (padding is
    ignored; an all-padding row gives zeros rather than a division by zero).
    """
    hidden = hidden.float()
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class TransformersEncoder(RoleEncoder):
    """An :class:`~xqg_os.encode.Encoder` over a transformers model.

    Texts are tokenised once, sorted by token length so each batch pads little, encoded under
    ``torch.inference_mode`` and returned in input order.

    Args:
        model: the loaded ``PreTrainedModel`` (moved to its device by the caller or here).
        tokenizer: its tokenizer.
        config: the encoder settings.
        model_id: the name recorded in :meth:`describe`.
        revision: commit hash or content digest recorded in :meth:`describe`.
    """

    def __init__(self, model: Any, tokenizer: Any, config: EncoderConfig, model_id: str,
                 revision: str | None = None) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.torch_dtype = resolve_dtype(config.dtype, self.device)
        self.model = model.to(device=self.device, dtype=self.torch_dtype).eval()
        if tokenizer.pad_token is None:  # decoder-style tokenizers: the mask hides padding
            if tokenizer.eos_token is None:
                raise ModelError(f"the tokenizer of {model_id!r} has no padding token")
            tokenizer.pad_token = tokenizer.eos_token
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.revision = revision
        self._dimension = int(model.config.hidden_size)

    def describe(self) -> dict[str, Any]:
        """Identity of the vectors (see :class:`~xqg_os.encode.Encoder`)."""
        return self._description("transformers", self.config.pooling, self.config.normalize,
                                 str(self.torch_dtype).removeprefix("torch."))

    def _encode(self, texts: list[str], prefix: str, max_length: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encoded = self.tokenizer([prefix + text for text in texts], truncation=True,
                                 max_length=max_length, padding=False)
        input_ids = encoded["input_ids"]
        # longest first: the first batch shows at once whether memory suffices
        order = sorted(range(len(texts)), key=lambda i: -len(input_ids[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        size = self.config.batch_size
        with torch.inference_mode():
            for start in range(0, len(order), size):
                rows = order[start:start + size]
                features = [{k: encoded[k][i] for k in keys} for i in rows]
                batch = self.tokenizer.pad(features, padding=True, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                hidden = self.model(**batch).last_hidden_state
                vectors = pool(hidden, batch["attention_mask"], self.config.pooling)
                if self.config.normalize:
                    vectors = torch.nn.functional.normalize(vectors, p=2, dim=-1)
                out[rows] = vectors.cpu().numpy()
        return out
