"""Batch-independent reproducible sampling for seq2seq generation.

``transformers`` samples with one global random stream per ``generate`` call, so the queries of
a passage would depend on which other passages share its batch: a resumed run, a different batch
size or length sorting would change them. Here each output row gets its own seed and the noise
for (row seed, step, token id) comes from a counter-based hash computed on the device. Adding
Gumbel noise to the filtered log-probabilities and taking the argmax (greedy decoding) draws
exactly from the top-k / top-p / temperature distribution (the Gumbel-max trick).
"""

from __future__ import annotations

from typing import cast

import torch
from transformers import LogitsProcessor

_MASK32 = 0xFFFFFFFF
# Multipliers below 2**31 keep every product of a 32-bit value inside a signed int64.
_MUL1 = 0x7FEB352D
_MUL2 = 0x5BD1E995


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """An avalanche hash of non-negative 32-bit values held in int64 tensors."""
    x = x ^ (x >> 16)
    x = (x * _MUL1) & _MASK32
    x = x ^ (x >> 15)
    x = (x * _MUL2) & _MASK32
    return x ^ (x >> 16)


def _mix32_int(x: int) -> int:
    """:func:`_mix32` for a Python int."""
    x &= _MASK32
    x ^= x >> 16
    x = (x * _MUL1) & _MASK32
    x ^= x >> 15
    x = (x * _MUL2) & _MASK32
    return x ^ (x >> 16)


def gumbel_noise(row_seeds: torch.Tensor, step: int, token_ids: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel noise, one value per (row, token), determined by (row seed, step, token).

    Args:
        row_seeds: int64 ``(rows, 1)`` 32-bit seeds.
        step: decoding step (same for all rows).
        token_ids: int64 ``(rows, k)`` token ids.

    Returns:
        float32 ``(rows, k)``.
    """
    step_key = _mix32_int(step * 0x9E3779B1 + 0x632BE5AB)
    h = _mix32(token_ids ^ step_key)
    h = _mix32(h ^ row_seeds)
    h = _mix32((h + 0x2545F491) & _MASK32)
    uniform = ((h >> 8).to(torch.float32) + 0.5) / float(1 << 24)  # in (0, 1), never 0 or 1
    return -torch.log(-torch.log(uniform))


class SeededSampler(LogitsProcessor):
    """A logits processor that turns greedy decoding into seeded per-row sampling.

    It applies temperature, top-k and top-p, adds per-row Gumbel noise and leaves only the drawn
    token finite, so ``generate(do_sample=False, num_beams=1)`` emits a sample.
    """

    def __init__(self, row_seeds: torch.Tensor, top_k: int | None, top_p: float | None,
                 temperature: float) -> None:
        self.row_seeds = row_seeds.to(torch.int64).reshape(-1, 1)
        self.top_k = top_k
        self.top_p = top_p
        self.temperature = temperature

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor
                 ) -> torch.FloatTensor:
        step = int(input_ids.shape[1])
        logits = scores.float() / self.temperature
        if self.top_k is not None and self.top_k < logits.shape[-1]:
            values, candidates = logits.topk(self.top_k, dim=-1)
        else:
            values, candidates = logits.sort(dim=-1, descending=True)
        if self.top_p is not None and self.top_p < 1.0:
            probs = values.softmax(dim=-1)
            # Keep the smallest prefix whose mass reaches top_p (always at least one token).
            before = probs.cumsum(dim=-1) - probs
            values = values.masked_fill(before >= self.top_p, float("-inf"))
        seeds = self.row_seeds.to(logits.device)
        noisy = values + gumbel_noise(seeds, step, candidates)
        chosen = candidates.gather(-1, noisy.argmax(dim=-1, keepdim=True))
        out = torch.full_like(scores, float("-inf"))
        return cast(torch.FloatTensor, out.scatter_(-1, chosen, 0.0))
