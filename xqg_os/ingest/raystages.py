"""The stages of the Ray pipeline, as the callables Ray Data runs on batches of rows.

Each stage wraps the single-process code (:mod:`xqg_os.ingest.pipeline`,
:mod:`xqg_os.ingest.sources`), so both paths compute the same thing. Batches are dicts of numpy
columns; generated queries travel as JSON text (``generated_queries``), vectors as float32
tensor columns. Classes are run as actor pools: their constructor loads what a worker keeps
(a client, a query store, a model), once per actor.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg_os.augment import select_queries
from xqg_os.data.corpus import Passage
from xqg_os.encode.base import EncoderConfig
from xqg_os.generate.factory import GeneratorSpec
from xqg_os.ingest.config import IngestConfig
from xqg_os.ingest.sources import GeneratingSource, Queries, store_source
from xqg_os.opensearch.client import ClientConfig

Batch = dict[str, Any]
RAY_FILE = "queries.ray-{}.jsonl"  # the store file of one generation actor


def passages(batch: Batch) -> list[Passage]:
    """The batch's rows as passages."""
    return [Passage(id=str(pid), title=str(title), text=str(text), lang=str(lang))
            for pid, title, text, lang in zip(batch["passage_id"], batch["title"],
                                              batch["text"], batch["lang"])]


def _objects(values: Sequence[Any]) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = list(values)
    return column


def _per_row(seconds: float, rows: int) -> np.ndarray:
    return np.full(rows, seconds / max(rows, 1), dtype=np.float64)


def with_queries(batch: Batch, found: Queries, seconds: float) -> Batch:
    """The batch with its generated queries (JSON text per row) and the time they took."""
    rows = len(batch["passage_id"])
    texts = [json.dumps(found.get(str(pid), {}), ensure_ascii=False)
             for pid in batch["passage_id"]]
    return {**batch, "generated_queries": _objects(texts), "t_queries": _per_row(seconds, rows)}


class SkipIndexed:
    """Drop the rows whose passage the index already holds (a realtime ``mget`` per batch)."""

    def __init__(self, client_config: ClientConfig, index: str) -> None:
        from xqg_os.opensearch.client import make_client

        self.client = make_client(client_config)
        self.index = index

    def __call__(self, batch: Batch) -> Batch:
        from xqg_os.ingest.pipeline import existing_ids

        ids = [str(pid) for pid in batch["passage_id"]]
        if not ids:
            return batch
        done = existing_ids(self.client, self.index, ids)
        keep = np.array([pid not in done for pid in ids], dtype=bool)
        return {name: column[keep] for name, column in batch.items()}


class StoreQueries:
    """Look up each passage's queries in a query store written earlier."""

    def __init__(self, generated: str, languages: Sequence[str], n: int) -> None:
        self.source = store_source(generated, languages, n, check=False)[0]  # the driver checked

    def __call__(self, batch: Batch) -> Batch:
        start = time.perf_counter()
        found = self.source(passages(batch)) if len(batch["passage_id"]) else {}
        return with_queries(batch, found, time.perf_counter() - start)


def claim_store_file(store: Path) -> tuple[Any, str]:
    """A store file name no other live actor writes: ``queries.ray-K.jsonl`` for the first K
    whose lock (``.ray-K.lock``, held while the actor lives) is free. Reruns reuse the same
    names, so a store does not grow a file per run."""
    for k in range(10_000):
        handle = open(store / f".ray-{k}.lock", "a")  # noqa: SIM115 - held for the actor's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return handle, RAY_FILE.format(k)
    raise RuntimeError(f"no free store file in {store}")


class GenerateQueries(GeneratingSource):
    """Generate the queries a batch's passages lack into the query store (one model per actor,
    one store file per actor), and pass each passage's queries on.

    Adds the columns ``pending`` (languages the store lacked), ``new_pairs`` and ``new_queries``
    (what this call generated) and ``missing`` (languages still without queries, comma-joined),
    from which ``generate`` makes its summary.
    """

    def __init__(self, spec: GeneratorSpec, out: str, languages: Sequence[str], n: int) -> None:
        from xqg_os.generate.factory import make_generator
        from xqg_os.generate.store import StoreWriter

        super().__init__(make_generator(spec), out, languages, n)
        self._lock, name = claim_store_file(self.store.path)
        self._writer = StoreWriter(self.store, name)

    def __call__(self, batch: Batch) -> Batch:  # type: ignore[override]
        start = time.perf_counter()
        todo = passages(batch)
        pending = [self._writer.pending(p.id, self.languages) for p in todo]
        found = super().__call__(todo) if todo else {}
        out = with_queries(batch, found, time.perf_counter() - start)
        got = [found.get(p.id, {}) for p in todo]
        fresh = [[lang for lang in langs if lang in have] for langs, have in zip(pending, got)]
        out["pending"] = np.array([len(langs) for langs in pending], dtype=np.int64)
        out["new_pairs"] = np.array([len(langs) for langs in fresh], dtype=np.int64)
        out["new_queries"] = np.array([sum(len(have[lang]) for lang in langs)
                                       for langs, have in zip(fresh, got)], dtype=np.int64)
        out["missing"] = _objects([",".join(lang for lang in self.languages if lang not in have)
                                   for have in got])
        return out


class EncodeAugment:
    """Encode passages and their queries, mix them (the single-process
    :func:`~xqg_os.ingest.pipeline.build_documents`), and emit the documents' columns."""

    def __init__(self, encoder_config: EncoderConfig, config: IngestConfig,
                 fields: tuple[str, ...]) -> None:
        from xqg_os.encode import load_encoder

        self.encoder = load_encoder(encoder_config)
        self.config = config
        self.fields = fields

    def __call__(self, batch: Batch) -> Batch:
        from xqg_os.ingest.pipeline import IngestSummary, build_documents

        todo = passages(batch)
        texts = batch.get("generated_queries")
        found: Queries = ({p.id: json.loads(t) for p, t in zip(todo, texts)}
                          if texts is not None else {})
        dimension = int(self.encoder.dimension)
        out: Batch = {"passage_id": batch["passage_id"], "title": batch["title"],
                      "text": batch["text"], "lang": batch["lang"],
                      "generated_queries": _objects([json.dumps(found.get(p.id, {}),
                                                                ensure_ascii=False)
                                                     for p in todo])}
        summary = IngestSummary()
        docs = build_documents(todo, found, self.encoder, self.config, summary,
                               self.fields) if todo else []
        for name in self.fields:
            out[name] = (np.stack([doc[name] for doc in docs]) if docs
                         else np.zeros((0, dimension), dtype=np.float32))
        languages = list(self.config.languages)
        out["n_queries"] = np.array([len(select_queries(found.get(p.id, {}), languages,
                                                        self.config.n)) for p in todo],
                                    dtype=np.int64)
        rows = len(todo)
        out["t_queries"] = batch.get("t_queries", np.zeros(rows))
        for stage in ("encode_passages", "encode_queries", "augment"):
            out[f"t_{stage}"] = _per_row(summary.stages[stage], rows)
        return out


def describe_encoder(encoder_config: EncoderConfig) -> tuple[dict[str, Any], int]:
    """The encoder's description and dimension, as ``_meta`` records them (run as a Ray task:
    the driver loads no model)."""
    from xqg_os.encode import load_encoder

    encoder = load_encoder(encoder_config)
    return encoder.describe(), int(encoder.dimension)


def describe_generator(generator: GeneratorSpec) -> dict[str, Any]:
    """The generator's description, which keys its query store (run as a Ray task)."""
    from xqg_os.generate.factory import make_generator

    return make_generator(generator).describe()
