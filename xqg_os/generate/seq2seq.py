"""Query generation with a Hugging Face encoder-decoder (mT5 docTquery, the paper's generator).

Inputs from all (passage, language) requests are tokenized together, sorted by length and cut
into batches, so padding is minimal. Sampling is seeded per (passage id, language, sequence) and
independent of batching (see :mod:`xqg_os.generate.sampling`); beam mode is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    LogitsProcessorList,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.modeling_outputs import BaseModelOutput

from xqg_os.errors import InputError
from xqg_os.generate.base import (
    DEFAULT_MODEL,
    DEFAULT_TEMPLATE,
    DecodingConfig,
    GeneratedQueries,
    QueryRequest,
    render_prompt,
    validate_template,
)
from xqg_os.generate.local import LocalModelGenerator, longest_first, row_seeds
from xqg_os.generate.sampling import SeededSampler
from xqg_os.modelfiles import (
    check_device,
    check_dtype,
    load_pretrained,
    resolve_model,
)

MAX_INPUT_CAP = 512  # tokenizers of T5-family models often report no real limit


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Configuration of :class:`Seq2SeqGenerator`.

    ``max_input_length`` None means the tokenizer's ``model_max_length`` capped at 512.
    ``device`` is ``auto`` (cuda > mps > cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``;
    ``dtype`` is ``auto`` (bfloat16 on GPUs that support it, else float32) or one of
    :data:`xqg_os.modelfiles.DTYPE_NAMES` (see :func:`xqg_os.modelfiles.resolve_dtype`).
    """

    model: str = DEFAULT_MODEL
    revision: str | None = None
    template: str = DEFAULT_TEMPLATE
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    batch_size: int = 16
    device: str = "auto"
    dtype: str = "auto"
    max_input_length: int | None = None

    def __post_init__(self) -> None:
        validate_template(self.template)
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1 (got {self.batch_size})",
                             param="batch_size")
        check_device(self.device)
        check_dtype(self.dtype)
        if self.max_input_length is not None and self.max_input_length < 2:
            raise InputError(f"max_input_length must be >= 2 (got {self.max_input_length})",
                             param="max_input_length")


def load_seq2seq(name: str, revision: str | None, dtype: torch.dtype
                 ) -> tuple[PreTrainedTokenizerBase, PreTrainedModel, str, str | None]:
    """Load tokenizer and model by local path, shipped model or hub name.

    Args:
        name: see :func:`xqg_os.modelfiles.resolve_model`.
        revision: hub revision (branch, tag or commit); ignored for a local folder.
        dtype: the weights' dtype.

    Returns:
        tokenizer, model (eval mode), the model id to record, and its revision (the folder's
        content digest or the hub commit, see :func:`xqg_os.modelfiles.model_revision`).

    Raises:
        ModelError: one line, for a missing path or a model that cannot be fetched or loaded.
    """
    source = resolve_model(name, what="query generator model")
    tokenizer, model, found = load_pretrained(source, revision, AutoModelForSeq2SeqLM,
                                              "query generator", dtype=dtype)
    return tokenizer, model, source.model_id, found


class Seq2SeqGenerator(LocalModelGenerator):
    """Generate queries with an encoder-decoder model (see module docstring)."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(load_seq2seq, config.model, config.revision, config.device,
                         config.dtype)
        self.config = config
        limit = self.tokenizer.model_max_length or MAX_INPUT_CAP
        self.max_length = config.max_input_length or min(int(limit), MAX_INPUT_CAP)

    def describe(self) -> dict[str, Any]:
        """See :meth:`QueryGenerator.describe`."""
        decoding = self.config.decoding
        return {"kind": "seq2seq", "model": self.model_id, "revision": self.revision,
                "template": self.config.template, "decoding": decoding.describe(),
                "seed": decoding.seed, "max_input_length": self.max_length,
                "sampler": "seeded-gumbel-v1" if decoding.do_sample else "beam"}

    def _encode(self, requests: Sequence[QueryRequest], n: int) -> list[list[int]]:
        """Token ids per request, cut to ``max_length`` (keeping the final EOS); counts the
        passages whose input was truncated."""
        prompts = [render_prompt(self.config.template, r.passage, r.lang, n) for r in requests]
        # One token over the limit tells "fits" from "was cut" without tokenizer warnings.
        ids: list[list[int]] = self.tokenizer(prompts, truncation=True,
                                              max_length=self.max_length + 1)["input_ids"]
        eos = self.tokenizer.eos_token_id
        truncated: set[str] = set()
        for k, row in enumerate(ids):
            if len(row) > self.max_length:
                truncated.add(requests[k].passage.id)
                ids[k] = (row[:self.max_length - 1] + [eos] if row[-1] == eos
                          else row[:self.max_length])
        if truncated:
            self._count("truncated", len(truncated))
        return ids

    def stream(self, requests: Sequence[QueryRequest], n: int
               ) -> Iterator[list[GeneratedQueries]]:
        """See :meth:`QueryGenerator.stream`. Batches come longest first."""
        self.config.decoding.check_n(n)
        if not requests:
            return
        ids = self._encode(requests, n)
        for chunk in longest_first(ids, self.config.batch_size):
            texts = self._generate_batch([ids[k] for k in chunk],
                                         [requests[k] for k in chunk], n)
            yield [GeneratedQueries(requests[k].passage.id, requests[k].lang,
                                    tuple(texts[j * n:(j + 1) * n]))
                   for j, k in enumerate(chunk)]

    @torch.inference_mode()
    def _generate_batch(self, ids: list[list[int]], requests: list[QueryRequest], n: int
                        ) -> list[str]:
        """Generate ``n`` sequences per input; returns ``len(ids) * n`` texts, grouped by input."""
        padded = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
        input_ids = padded["input_ids"].to(self.device)
        mask = padded["attention_mask"].to(self.device)
        decoding = self.config.decoding
        if decoding.do_sample:
            # Encode once, then give each of the n rows per input its own seed.
            hidden = self.model.get_encoder()(input_ids=input_ids, attention_mask=mask)
            seeds = torch.tensor(row_seeds(decoding.seed, requests, n), dtype=torch.int64)
            sampler = SeededSampler(seeds, decoding.top_k, decoding.top_p, decoding.temperature)
            output = self.model.generate(
                encoder_outputs=BaseModelOutput(
                    last_hidden_state=hidden.last_hidden_state.repeat_interleave(n, dim=0)),
                attention_mask=mask.repeat_interleave(n, dim=0), do_sample=False, num_beams=1,
                max_new_tokens=decoding.max_new_tokens,
                logits_processor=LogitsProcessorList([sampler]))
        else:
            output = self.model.generate(input_ids=input_ids, attention_mask=mask,
                                         do_sample=False, num_beams=decoding.num_beams,
                                         num_return_sequences=n,
                                         max_new_tokens=decoding.max_new_tokens)
        texts = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        return [text.strip() for text in texts]
