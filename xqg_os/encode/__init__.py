"""Dense encoders behind one :class:`Encoder` protocol.

Implementations: transformers ``AutoModel`` with CLS/mean pooling (:mod:`.hf`),
sentence-transformers (:mod:`.st`) and the Universal Sentence Encoder multilingual adapter
(:mod:`.usem`, optional extra). :func:`load_encoder` picks one from an :class:`EncoderConfig`.
torch, transformers and sentence-transformers are imported only when a model is loaded.
"""

from xqg_os.encode.base import (
    DEFAULT_MODEL,
    IDENTITY_KEYS,
    KINDS,
    POOLINGS,
    ROLES,
    Encoder,
    EncoderConfig,
    encode_texts,
    identity,
)
from xqg_os.encode.factory import load_encoder, load_encoder_from_description
from xqg_os.encode.usem import USEM_MODEL_ID, USEMEncoder, usem_available

__all__ = [
    "DEFAULT_MODEL",
    "IDENTITY_KEYS",
    "KINDS",
    "POOLINGS",
    "ROLES",
    "USEM_MODEL_ID",
    "Encoder",
    "EncoderConfig",
    "USEMEncoder",
    "encode_texts",
    "identity",
    "load_encoder",
    "load_encoder_from_description",
    "usem_available",
]
