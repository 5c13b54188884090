"""The vectors a sweep re-mixes, computed once through the embedding stores.

:func:`build_bank` encodes the passages and every generated query (first ``max(ns)`` per
passage and language, ids ``f"{pid}\\t{lang}\\t{i}"``) through :func:`~xqg_os.encode.cache.
encode_cached`, so a second study with the same encoder, corpus and query store encodes nothing.
It keeps, per grid n, the sum of the first n query vectors of each (passage, language) and
their count: memory ``len(ns) x passages x languages x dim`` floats, independent of n itself.
:meth:`VectorBank.mix` then builds the augmented vectors of any (n, alpha, formula, language
subset) with :func:`xqg_os.augment.augment` and never calls the model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from xqg_os.augment import augment
from xqg_os.data.corpus import Passage, passage_input
from xqg_os.encode.base import Encoder
from xqg_os.encode.cache import EmbeddingStore, encode_cached
from xqg_os.errors import InputError
from xqg_os.generate.store import QueryStore


def texts_fingerprint(ids: Sequence[str], texts: Sequence[str]) -> str:
    """A digest of (id, text) pairs: the input key of an embedding store."""
    digest = hashlib.sha256()
    for item, text in zip(ids, texts, strict=True):
        digest.update(item.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def open_store(cache_root: str | Path, encoder: Encoder, role: str, input_fp: str,
               dtype: str = "float32") -> EmbeddingStore:
    """The embedding store for (encoder, role, input) under ``cache_root``."""
    return EmbeddingStore.open_or_create(cache_root, encoder.describe(), role, input_fp,
                                         int(encoder.dimension), dtype)


def encode_texts_cached(encoder: Encoder, cache_root: str | Path, ids: Sequence[str],
                        texts: Sequence[str], role: str, dtype: str = "float32",
                        progress: bool = True) -> np.ndarray:
    """Vectors of ``texts`` through the embedding store keyed by their (id, text) digest."""
    store = open_store(cache_root, encoder, role, texts_fingerprint(ids, texts), dtype)
    with store:
        return encode_cached(encoder, store, list(ids), list(texts), role, progress=progress)


def mix_pooled(passages: np.ndarray, pooled_sum: np.ndarray, counts: np.ndarray, alpha: float,
               formula: str) -> np.ndarray:
    """The xQG formula from per-passage query sums: what :func:`~xqg_os.augment.augment` gives
    for the individual query vectors, since sum and mean only need their sum and count.

    Args:
        passages: ``[N, d]`` passage vectors.
        pooled_sum: ``[N, d]`` sum of each passage's selected query vectors.
        counts: ``[N]`` how many queries each sum holds (0 keeps the passage vector).
        alpha: weight of the queries.
        formula: ``sum``, ``mean`` or ``none``.
    """
    if formula == "none":
        return augment(passages, np.zeros((0, passages.shape[1]), np.float32), alpha, "none",
                       counts=np.zeros(passages.shape[0], np.int64))
    present = counts > 0
    reduced = pooled_sum[present]
    if formula == "mean":
        reduced = reduced / counts[present, None].astype(np.float32)
    # each passage with queries contributes one pre-pooled vector: "sum" of one is that vector
    return augment(passages, reduced.astype(np.float32, copy=False), alpha,
                   "sum" if formula in ("sum", "mean") else formula,
                   counts=present.astype(np.int64))


@dataclass
class VectorBank:
    """Passage vectors plus pooled generated-query vectors, per grid n.

    Attributes:
        passage_ids: passage ids, row order of every array.
        passages: ``[N, d]`` float32 passage vectors.
        languages: the generated languages, axis 1 of ``sums`` / ``counts``.
        sums: ``{n: [N, L, d]}``, the sum of the first n query vectors per passage and language.
        counts: ``{n: [N, L]}``, how many queries each sum holds (fewer than n when the store
            has fewer).
    """

    passage_ids: list[str]
    passages: np.ndarray
    languages: list[str]
    sums: dict[int, np.ndarray] = field(default_factory=dict)
    counts: dict[int, np.ndarray] = field(default_factory=dict)

    def without_queries(self) -> int:
        """How many passages have no generated query in any language (they keep E(p))."""
        if not self.sums:
            return len(self.passage_ids)
        counts = self.counts[max(self.sums)]
        return int((counts.sum(axis=1) == 0).sum())

    @property
    def ns(self) -> list[int]:
        """The n values the bank can mix (0 always)."""
        return sorted({0, *self.sums})

    def mix(self, n: int, alpha: float, formula: str, languages: Sequence[str]) -> np.ndarray:
        """Augmented ``[N, d]`` vectors for one configuration.

        Args:
            n: queries per language (0: the passage vectors).
            alpha / formula: as :func:`~xqg_os.augment.augment`.
            languages: generated languages to use; languages the bank lacks add nothing.

        Raises:
            InputError: for an n the bank was not built for.
        """
        chosen = [self.languages.index(lang) for lang in languages if lang in self.languages]
        if n == 0 or not chosen:
            return self.passages.copy()
        if n not in self.sums:
            raise InputError(f"the vector bank holds n in {self.ns}, not {n}")
        pooled = self.sums[n][:, chosen].sum(axis=1)
        counts = self.counts[n][:, chosen].sum(axis=1)
        return mix_pooled(self.passages, pooled, counts, alpha, formula)


def build_bank(encoder: Encoder, passages: Sequence[Passage], cache_root: str | Path,
               query_store: QueryStore | None = None, languages: Sequence[str] | None = None,
               ns: Sequence[int] = (), dtype: str = "float32", chunk_size: int = 256,
               progress: bool = True) -> VectorBank:
    """Encode (or read from the stores) everything a sweep needs.

    Args:
        encoder: the dense encoder; generated queries use its query settings.
        passages: the corpus (passage text as the encoder sees it: title + text).
        cache_root: folder of the embedding stores.
        query_store: the generated queries (None, or no ``ns`` above 0: passages only).
        languages: generated languages to load (default: all the store holds).
        ns: the grid's n values.
        dtype: embedding store dtype (``float16`` halves the disk).
        chunk_size: passages per encoding chunk (each chunk is committed to the store).

    Raises:
        InputError: when an n exceeds what the query store holds.
    """
    ids = [p.id for p in passages]
    texts = [passage_input(p) for p in passages]
    vectors = encode_texts_cached(encoder, cache_root, ids, texts, "passage", dtype, progress)
    wanted = sorted({int(n) for n in ns if n > 0})
    if query_store is None or not wanted:
        return VectorBank(ids, vectors, list(languages or []))
    langs = list(languages) if languages else list(query_store.describe().get("languages", []))
    max_n = wanted[-1]
    if max_n > query_store.max_n:
        raise InputError(f"the grid asks for n={max_n} but the query store {query_store.path} "
                         f"holds {query_store.max_n} per language; generate at least {max_n}")
    n_pass, n_lang, dim = len(ids), len(langs), int(encoder.dimension)
    sums = {n: np.zeros((n_pass, n_lang, dim), np.float32) for n in wanted}
    counts = {n: np.zeros((n_pass, n_lang), np.int32) for n in wanted}
    for start, dense, have in iter_query_vectors(encoder, ids, cache_root, query_store, langs,
                                                 max_n, dtype, chunk_size, progress):
        cumulative = np.cumsum(dense, axis=2)
        for n in wanted:
            sums[n][start:start + len(dense)] = cumulative[:, :, n - 1]
            counts[n][start:start + len(dense)] = np.minimum(have, n)
    return VectorBank(ids, vectors, langs, sums, counts)


def iter_query_vectors(encoder: Encoder, ids: Sequence[str], cache_root: str | Path,
                       query_store: QueryStore, languages: Sequence[str], max_n: int,
                       dtype: str = "float32", chunk_size: int = 256, progress: bool = True
                       ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The individual generated-query vectors, chunk by chunk, through the embedding store.

    Yields:
        ``(start, vectors, have)``: the chunk's first row in ``ids``, ``[rows, languages,
        max_n, dim]`` vectors (zeros where the store has fewer queries) and ``[rows,
        languages]`` how many each (passage, language) has.
    """
    langs = list(languages)
    dim = int(encoder.dimension)
    store = open_store(cache_root, encoder, "query", f"query-store:{query_store.fingerprint}",
                       dtype)
    with store, tqdm(total=len(ids), desc="generated queries", unit="passage",
                     disable=not progress) as bar:
        for start in range(0, len(ids), chunk_size):
            chunk = list(ids[start:start + chunk_size])
            found = query_store.get(chunk, langs, max_n)
            q_ids, q_texts, where = [], [], []
            for row, pid in enumerate(chunk):
                for col, lang in enumerate(langs):
                    for i, text in enumerate(found.get(pid, {}).get(lang, [])[:max_n]):
                        q_ids.append(f"{pid}\t{lang}\t{i}")
                        q_texts.append(text)
                        where.append((row, col, i))
            dense = np.zeros((len(chunk), len(langs), max_n, dim), np.float32)
            have = np.zeros((len(chunk), len(langs)), np.int32)
            if q_ids:
                encoded = encode_cached(encoder, store, q_ids, q_texts, "query", progress=False)
                rows, cols, slots = (np.array(axis) for axis in zip(*where))
                dense[rows, cols, slots] = encoded
                np.add.at(have, (rows, cols), 1)
            yield start, dense, have
            bar.update(len(chunk))


def load_query_vectors(encoder: Encoder, ids: Sequence[str], cache_root: str | Path,
                       query_store: QueryStore, languages: Sequence[str], max_n: int,
                       dtype: str = "float32", progress: bool = True
                       ) -> tuple[np.ndarray, np.ndarray]:
    """All generated-query vectors at once: ``[N, languages, max_n, dim]`` and the counts
    ``[N, languages]`` (see :func:`iter_query_vectors`; memory grows with ``max_n``)."""
    parts = list(iter_query_vectors(encoder, ids, cache_root, query_store, languages, max_n,
                                    dtype, progress=progress))
    dim = int(encoder.dimension)
    if not parts:
        return (np.zeros((0, len(languages), max_n, dim), np.float32),
                np.zeros((0, len(languages)), np.int32))
    return (np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]))
