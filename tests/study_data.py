"""Small study data for the study tests: a corpus, queries in two languages, qrels, a query
store in three languages (some passages lack a language or have fewer queries), training
pairs, and an encoder wrapper that counts model calls."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.encode import Encoder
from xqg_os.generate import GeneratedQueries, QueryStore

TOPICS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest",
          "planet", "bridge", "castle", "garden", "island", "desert", "train", "winter"]
GENERATOR = {"kind": "test", "model": "hand-made", "seed": 0}
QUERY_LANGS = ("ja", "ru")
GENERATED_LANGS = ("ja", "ru", "fr")


def _words(seed: int, count: int) -> list[str]:
    return random.Random(seed).sample(TOPICS, count)


@dataclass
class StudyFiles:
    """Paths of the files :func:`write_study_data` wrote."""

    folder: Path
    corpus: Path
    queries: Path
    qrels: Path
    store: Path
    pairs: Path


def write_study_data(folder: Path, passages: int = 30, max_n: int = 4) -> StudyFiles:
    """Write the corpus, queries (every second passage has one), qrels (one positive each),
    the query store (``max_n`` per language, with gaps) and training pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    files = StudyFiles(folder, folder / "corpus.jsonl", folder / "queries.jsonl",
                       folder / "qrels.txt", folder / "generated", folder / "pairs.jsonl")
    with open(files.corpus, "w", encoding="utf-8") as corpus, \
            open(files.queries, "w", encoding="utf-8") as queries, \
            open(files.qrels, "w", encoding="utf-8") as qrels:
        for i in range(passages):
            words = _words(i, 5)
            corpus.write(json.dumps({"id": f"d{i}", "title": f"T{i}",
                                     "text": " ".join(words)}) + "\n")
            if i % 2 == 0:
                lang = QUERY_LANGS[(i // 2) % 2]
                queries.write(json.dumps({"id": f"q{i}", "text": " ".join(words[:2]),
                                          "lang": lang}) + "\n")
                qrels.write(f"q{i} 0 d{i} 1\n")
    store = QueryStore.create(files.store, GENERATOR, max_n)
    records, pairs = [], []
    for i in range(passages):
        for k, lang in enumerate(GENERATED_LANGS):
            if (i + k) % 7 == 0:
                continue  # this passage has no queries in this language
            count = max_n if (i + k) % 5 else max_n - 2  # and sometimes fewer than max_n
            texts = tuple(" ".join(_words(1000 * i + 10 * k + j, 2)) for j in range(count))
            records.append(GeneratedQueries(f"d{i}", lang, texts))
            pairs.append({"query": texts[0], "passage": f"T{i} " + " ".join(_words(i, 5))})
    with store.writer() as writer:
        writer.append(records)
    with open(files.pairs, "w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair) + "\n")
    return files


class CountingEncoder:
    """A real :class:`~xqg_os.encode.Encoder` that counts the texts it encodes."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.calls = 0
        self.texts = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode_passages(texts)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()
