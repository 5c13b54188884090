"""Query generation with a Hugging Face encoder-decoder (mT5 docTquery, the paper's generator).

Inputs from all (passage, language) requests are tokenized together, sorted by length and cut
into batches, so padding is minimal. Sampling is seeded per (passage id, language, sequence) and
independent of batching (see :mod:`xqg_os.generate.sampling`); beam mode is deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    LogitsProcessorList,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.modeling_outputs import BaseModelOutput

from xqg_os.errors import InputError, ModelError
from xqg_os.generate.base import (
    DEFAULT_MODEL,
    DEFAULT_TEMPLATE,
    DecodingConfig,
    GeneratedQueries,
    GeneratorBase,
    QueryRequest,
    derive_seed,
    render_prompt,
    validate_template,
)
from xqg_os.generate.sampling import SeededSampler

MAX_INPUT_CAP = 512  # tokenizers of T5-family models often report no real limit
DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
          "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Configuration of :class:`Seq2SeqGenerator`.

    ``max_input_length`` None means the tokenizer's ``model_max_length`` capped at 512.
    ``device`` is ``auto`` (cuda > mps > cpu) or a torch device; ``dtype`` is ``auto``
    (bfloat16 on GPUs that support it, else float32) or one of :data:`DTYPES`.
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
            raise InputError(f"--batch-size must be >= 1 (got {self.batch_size})")
        if self.dtype != "auto" and self.dtype not in DTYPES:
            raise InputError(f"unknown --dtype {self.dtype!r}; use auto or one of "
                             + ", ".join(DTYPES))
        if self.max_input_length is not None and self.max_input_length < 2:
            raise InputError(f"max input length must be >= 2 (got {self.max_input_length})")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda, else mps, else cpu; an explicit device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown --device {name!r} (use auto, cpu, cuda, cuda:N or mps)"
                         ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"--device {name} asked for, but no CUDA device is available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ModelError(f"--device {name} asked for, but MPS is not available")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on CUDA with bf16 support, float16 on MPS, float32 otherwise.

    T5-family activations overflow in float16, so CUDA without bf16 falls back to float32.
    """
    if name != "auto":
        return DTYPES[name]
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def local_model_revision(path: Path) -> str:
    """A cheap content digest of a local model folder: config plus the size, head and tail of
    each weight file (hashing gigabytes of weights on every run would cost seconds)."""
    digest = hashlib.sha256()
    for item in sorted(path.iterdir()):
        if not item.is_file():
            continue
        digest.update(item.name.encode())
        if item.suffix in (".json", ".model", ".txt"):
            digest.update(item.read_bytes())
            continue
        size = item.stat().st_size
        digest.update(str(size).encode())
        with open(item, "rb") as handle:
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read(1 << 20))
    return "local-" + digest.hexdigest()[:16]


def load_seq2seq(name: str, revision: str | None, dtype: torch.dtype
                 ) -> tuple[PreTrainedTokenizerBase, PreTrainedModel, str, str | None]:
    """Load tokenizer and model by local path or hub name.

    Returns:
        tokenizer, model (eval mode), the model id to record, and its revision.

    Raises:
        ModelError: one line, for a missing path or a model that cannot be fetched or loaded.
    """
    path = Path(name).expanduser()
    is_local = path.exists()
    if not is_local and (name.startswith((".", "/", "~")) or name.count("/") > 1
                         or name.endswith("/") or "\\" in name):
        raise ModelError(f"query generator model path does not exist: {name}")
    source = str(path.resolve()) if is_local else name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
        model = AutoModelForSeq2SeqLM.from_pretrained(source, revision=revision, dtype=dtype)
    except Exception as exc:  # noqa: BLE001 - hub, I/O, config errors: many types
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        where = ("the local folder could not be loaded" if is_local else
                 "not a local folder, and fetching it from the model hub failed "
                 "(check the name, the network, HF_HUB_OFFLINE)")
        raise ModelError(f"cannot load query generator {name!r}: {where}: {reason}") from None
    model.eval()
    if is_local:
        revision = revision or local_model_revision(path)
    else:
        revision = revision or getattr(model.config, "_commit_hash", None)
    return tokenizer, model, source, revision


class Seq2SeqGenerator(GeneratorBase):
    """Generate queries with an encoder-decoder model (see module docstring)."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.device = resolve_device(config.device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        self.tokenizer, model, self.model_id, self.revision = load_seq2seq(
            config.model, config.revision, self.dtype)
        self.model = model.to(self.device)  # type: ignore[arg-type]  # transformers' stub
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
        order = sorted(range(len(requests)), key=lambda k: (-len(ids[k]), k))
        size = self.config.batch_size
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
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
            seeds = torch.tensor([derive_seed(decoding.seed, r.passage.id, r.lang, j)
                                  for r in requests for j in range(n)], dtype=torch.int64)
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
