"""Training pairs for the direct-training arm: (query, passage) from JSONL or a Hugging Face
dataset's train split.

JSONL lines hold ``{"query", "passage"}`` or ``{"anchor", "positive"}`` (sentence-transformers'
names), or ``{"query", "positive"}``. A dataset is named ``hf:NAME`` or ``hf:NAME:CONFIG``; it
needs the ``datasets`` package (imported only then) and a reachable hub or a local cache.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from xqg_os.data.jsonl import read_jsonl
from xqg_os.errors import InputError

_KEY_PAIRS = (("query", "passage"), ("anchor", "positive"), ("query", "positive"),
              ("question", "context"))


@dataclass(frozen=True)
class TrainPair:
    """One training example: a query and a passage that answers it."""

    query: str
    passage: str


def _pair_keys(keys: Iterable[str]) -> tuple[str, str] | None:
    present = set(keys)
    for first, second in _KEY_PAIRS:
        if first in present and second in present:
            return first, second
    return None


def _from_record(record: Mapping[str, object], keys: tuple[str, str]) -> TrainPair | None:
    query, passage = record.get(keys[0]), record.get(keys[1])
    if not isinstance(query, str) or not isinstance(passage, str):
        return None
    if not query.strip() or not passage.strip():
        return None
    return TrainPair(query, passage)


def _jsonl_pairs(path: Path) -> list[TrainPair]:
    pairs: list[TrainPair] = []
    for number, record in read_jsonl(path, "training pairs"):
        keys = _pair_keys(record)
        pair = _from_record(record, keys) if keys else None
        if pair is None:
            raise InputError(f"{path}:{number}: expected non-empty string fields "
                             "query/passage or anchor/positive")
        pairs.append(pair)
    return pairs


def _hf_pairs(spec: str) -> list[TrainPair]:
    name, _, config = spec.partition(":")
    try:
        import datasets
    except ImportError:
        raise InputError(f"training pairs {('hf:' + spec)!r} need the datasets package "
                         "(pip install datasets), or give a JSONL file of pairs") from None
    try:
        split = datasets.load_dataset(name, config or None, split="train")
    except Exception as exc:  # noqa: BLE001 - offline, unknown name, no train split ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(f"cannot load the train split of dataset {name!r}: {reason}") from None
    columns = list(split.column_names)
    keys = _pair_keys(columns)
    if keys is None:
        raise InputError(f"dataset {name!r} has columns {columns}; expected query/passage, "
                         "anchor/positive or question/context")
    pairs = [pair for record in split if (pair := _from_record(record, keys)) is not None]
    return pairs


def load_pairs(source: str | Path, limit: int | None = None, seed: int = 0) -> list[TrainPair]:
    """Read training pairs and shuffle them once with ``seed``.

    Shuffling once makes the training-size series nested: the first 1k pairs are part of the
    first 4k, so a larger checkpoint sees everything a smaller one saw.

    Args:
        source: a JSONL path, or ``hf:NAME[:CONFIG]``.
        limit: keep at most this many (after shuffling).
        seed: shuffle seed.

    Raises:
        InputError: for a missing or malformed file, an unloadable dataset, or no pairs.
    """
    text = str(source)
    pairs = _hf_pairs(text[3:]) if text.startswith("hf:") else _jsonl_pairs(Path(text))
    if not pairs:
        raise InputError(f"no training pairs in {text}")
    random.Random(seed).shuffle(pairs)
    return pairs[:limit] if limit is not None else pairs
