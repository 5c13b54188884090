"""The ingest and generate stages on Ray Data, for corpora that outgrow one machine.

The same stages as the single-process path (:mod:`xqg_os.ingest.pipeline`), as one streaming
Ray Data pipeline with back-pressure::

    corpus (read tasks over byte ranges)  ->  skip passages already indexed (realtime mget)
      ->  queries: store lookup, or generation (actor pool, one model per actor, a GPU per
          actor when the cluster has GPUs) appending to the query store
      ->  encode + augment (actor pool)  ->  OpenSearch datasink (a BulkWriter per write task)

The configuration objects, the ``_meta`` and the documents are the single-process ones: with
the same query store the index holds the same documents and vectors. The driver validates the
corpus, learns the encoder's identity from a Ray task (it loads no model itself), creates or
adopts the index once (:func:`~xqg_os.ingest.target.prepare_index`), and holds the index in
bulk-load mode for the run. Ids are passage ids, so a killed worker (Ray retries it) or a killed
driver (rerun the command) loses nothing and duplicates nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xqg_os.data.corpus import scan_corpus
from xqg_os.encode.base import EncoderConfig
from xqg_os.errors import InputError, XQGError
from xqg_os.generate.factory import GeneratorSpec
from xqg_os.generate.runner import GenerateJob, GenerationSummary
from xqg_os.ingest.config import IngestConfig, build_meta
from xqg_os.ingest.pipeline import IngestSummary, missing_after_load
from xqg_os.ingest.sources import DEFAULT_GENERATED, store_source
from xqg_os.ingest.target import prepare_index
from xqg_os.opensearch.client import ClientConfig

INSTALL_HINT = "pip install 'xqg-os[ray]'"
LIGHT_CPUS = 0.25  # reading, index look-ups, store look-ups and writing are I/O, not compute


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the Ray pipeline runs.

    Args:
        address: ``local`` starts a Ray instance on this machine for the run; ``auto`` joins
            the one running here (``ray start --head``); ``ray://host:10001`` or
            ``host:6379`` joins a remote cluster (xqg-os installed on its nodes, the corpus and
            the query store on a shared filesystem).
        workers: actors per model stage (generation, encoding); None: one per GPU of the
            cluster, or 1 without GPUs.
        progress: show Ray Data's progress bars.
    """

    address: str = "local"
    workers: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise InputError(f"workers must be positive, not {self.workers}", param="workers")


def require_ray() -> Any:
    """The ``ray`` module, or an :class:`InputError` that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the data extra, not only the core
    except ImportError:
        raise InputError(f"the Ray pipeline needs Ray Data: {INSTALL_HINT}") from None
    return ray


@dataclass(frozen=True)
class _Cluster:
    ray: Any
    workers: int
    gpus: float  # per model actor

    def model_args(self) -> dict[str, Any]:
        """Resources of one model actor (or the task that describes its model)."""
        return {"num_cpus": 1, "num_gpus": self.gpus}


@contextmanager
def ray_cluster(options: RayOptions) -> Iterator[_Cluster]:
    """Connect to (or start) Ray for one run; a Ray instance started here stops afterwards."""
    ray = require_ray()
    started = not ray.is_initialized()
    if started:
        cores = os.cpu_count() or 1
        try:
            if options.address == "local":
                # model actors take a core each; the I/O stages need a little room beside them
                ray.init(num_cpus=max(cores, (options.workers or 1) + 1),
                         include_dashboard=False, logging_level="warning")
            else:
                ray.init(address=options.address, logging_level="warning")
        except ConnectionError as exc:
            raise InputError(f"cannot reach the Ray cluster at {options.address!r}: {exc}",
                             param="ray") from None
    try:
        ray.data.DataContext.get_current().enable_progress_bars = options.progress
        gpus = float(ray.cluster_resources().get("GPU", 0))
        workers = options.workers or max(int(gpus), 1)
        yield _Cluster(ray, workers, min(1.0, gpus / workers) if gpus else 0.0)
    finally:
        if started:
            ray.shutdown()


def _user_error(exc: BaseException) -> XQGError | None:
    """The xqg-os error a Ray failure carries (a stage refused its input), if any."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, XQGError):
            return current
        stack += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return None


@contextmanager
def _plain_errors() -> Iterator[None]:
    try:
        yield
    except XQGError:
        raise
    except Exception as exc:
        error = _user_error(exc)
        if error is None:
            raise
        raise error from None


def _read(cluster: _Cluster, corpus: str, corpus_format: str, rows: int) -> Any:
    from xqg_os.ingest.raysource import CorpusDatasource

    return cluster.ray.data.read_datasource(CorpusDatasource(corpus, corpus_format, rows),
                                            num_cpus=LIGHT_CPUS)


def _generating(cluster: _Cluster, ds: Any, spec: GeneratorSpec, out: str,
                languages: tuple[str, ...], n: int, batch_size: int) -> Any:
    from xqg_os.ingest.raystages import GenerateQueries

    return ds.map_batches(GenerateQueries, fn_constructor_args=(spec, out, languages, n),
                          batch_size=batch_size, batch_format="numpy",
                          compute=cluster.ray.data.ActorPoolStrategy(size=cluster.workers),
                          **cluster.model_args())


def _create_store(cluster: _Cluster, generator: GeneratorSpec, out: str, n: int) -> Path:
    """The query store the generation actors append to (its key is the generator's identity,
    learnt from a Ray task: the driver loads no model)."""
    from xqg_os.generate.store import QueryStore
    from xqg_os.ingest.raystages import describe_generator

    generator.decoding.check_n(n)
    task = cluster.ray.remote(describe_generator).options(**cluster.model_args())
    return QueryStore.create(out, cluster.ray.get(task.remote(generator)), n).path


def ingest_ray(client_config: ClientConfig, config: IngestConfig, encoder: EncoderConfig,
               generated: str | None = None, generator: GeneratorSpec | None = None,
               options: RayOptions | None = None) -> IngestSummary:
    """Run the ingest as a Ray Data pipeline; see the module docstring.

    Args:
        client_config: how the driver and the write tasks reach the cluster.
        config: what to ingest (``shard`` must be the whole corpus: Ray splits it).
        encoder: the encoder every encoding actor loads.
        generated: a query store folder: read; with ``generator``, missing queries are
            generated into it (default :data:`~xqg_os.ingest.sources.DEFAULT_GENERATED`).
        generator: generate missing queries with this generator.
        options: where and how wide Ray runs.

    Returns:
        The summary, as the single-process :func:`~xqg_os.ingest.pipeline.ingest` gives it
        (stage times summed over workers).
    """
    from xqg_os.ingest.raystages import EncodeAugment, SkipIndexed, StoreQueries, describe_encoder
    from xqg_os.opensearch.bulk import BulkWriter
    from xqg_os.opensearch.client import make_client
    from xqg_os.opensearch.datasink import OpenSearchDatasink

    options = options or RayOptions()
    if not config.shard.is_whole:
        raise InputError("shard and ray do not combine: Ray splits the corpus itself",
                         param=("shard", "ray"))
    summary = IngestSummary()
    started = time.perf_counter()
    scan_start = time.perf_counter()
    scanned = scan_corpus(config.corpus, config.corpus_format, config.skip_bad_lines)
    summary.stages["scan"] = time.perf_counter() - scan_start
    summary.passages, summary.skipped_empty = scanned.passages, scanned.empty
    summary.bad_lines = len(scanned.bad_lines)
    with ray_cluster(options) as cluster, _plain_errors():
        task = cluster.ray.remote(describe_encoder).options(**cluster.model_args())
        encoder_desc, dimension = cluster.ray.get(task.remote(encoder))
        store = (_create_store(cluster, generator, generated or DEFAULT_GENERATED, config.n)
                 if generator is not None else generated)
        queries = (store_source(store, config.languages, config.n, check=generator is None)[1]
                   if store else None)
        if queries is None:
            config, notice = config.without_queries()
            summary.notices += [notice] if notice else []
        client = make_client(client_config)
        spec = prepare_index(client, config,
                             build_meta(config, encoder_desc, dimension, queries), dimension)
        light = {"batch_size": config.batch_size, "batch_format": "numpy",
                 "num_cpus": LIGHT_CPUS,
                 "compute": cluster.ray.data.ActorPoolStrategy(size=1)}
        ds = _read(cluster, config.corpus, config.corpus_format, config.batch_size)
        ds = ds.map_batches(SkipIndexed, fn_constructor_args=(client_config, config.index),
                            **light)
        if generator is not None:
            ds = _generating(cluster, ds, generator, generated or DEFAULT_GENERATED,
                             config.languages, config.n, config.batch_size)
        elif generated:
            ds = ds.map_batches(StoreQueries, fn_constructor_args=(
                generated, config.languages, config.n), **light)
        ds = ds.map_batches(EncodeAugment, fn_constructor_args=(encoder, config, spec.fields),
                            batch_size=config.batch_size, batch_format="numpy",
                            compute=cluster.ray.data.ActorPoolStrategy(size=cluster.workers),
                            **cluster.model_args())
        sink = OpenSearchDatasink(client_config, config.index, spec.fields, config.bulk,
                                  rows_per_write=config.bulk.chunk_size)
        with BulkWriter(client, config.index, config.bulk):
            ds.write_datasink(sink, ray_remote_args={"num_cpus": LIGHT_CPUS})
        lost = missing_after_load(client, config, summary.passages - summary.skipped_empty,
                                  {pid for pid, _ in sink.result.failed})
    if generator is not None:
        record_store_files(Path(str(store)))
    summary.written, summary.failed = sink.result.written, sink.result.failed
    summary.no_queries = sink.result.no_queries
    summary.already_indexed = (summary.passages - summary.skipped_empty - summary.written
                               - len(summary.failed))
    summary.failed += lost
    for stage, seconds in sink.result.stages.items():
        summary.stages[stage] = summary.stages.get(stage, 0.0) + seconds
    summary.seconds = time.perf_counter() - started
    return summary


def record_store_files(path: Path) -> None:
    """Record the counts of the generation actors' store files in the store's manifest (the
    actors end with the Ray job, before they could close their files)."""
    from xqg_os.generate.store import QueryStore, StoreWriter
    from xqg_os.ingest.raystages import RAY_FILE

    store = QueryStore(path)
    prefix = RAY_FILE.split("{}")[0]
    for path in store.data_files():
        if path.name.startswith(prefix):
            StoreWriter(store, path.name).close()


def generate_ray(spec: GeneratorSpec, job: GenerateJob, options: RayOptions | None = None
                 ) -> GenerationSummary:
    """The ``generate`` stage as a Ray Data pipeline: corpus -> generation actors (one model
    each, a GPU each when the cluster has GPUs) appending to the query store, one file per
    actor. The store is the one :func:`~xqg_os.generate.runner.generate_queries` writes (same
    key, same layout), and a rerun generates only what it lacks.

    Raises:
        InputError: a bad corpus (before any model loads), ``shard`` other than the whole
            corpus, or Ray missing.
    """
    from xqg_os.languages import parse_languages

    options = options or RayOptions()
    if not job.shard.is_whole:
        raise InputError("shard and ray do not combine: Ray splits the corpus itself",
                         param=("shard", "ray"))
    languages = tuple(parse_languages(list(job.languages)))
    spec.decoding.check_n(job.n)
    stats = scan_corpus(job.corpus, job.corpus_format, job.skip_bad_lines)
    with ray_cluster(options) as cluster, _plain_errors():
        started = time.monotonic()
        store = _create_store(cluster, spec, str(job.out), job.n)
        summary = GenerationSummary(store=store, fingerprint=store.name.split("-", 1)[1],
                                    passages=stats.passages, skipped_empty=stats.empty,
                                    bad_lines=list(stats.bad_lines))
        ds = _generating(cluster, _read(cluster, str(job.corpus), job.corpus_format,
                                        job.pool_size),
                         spec, str(job.out), languages, job.n, job.pool_size)
        columns = ["pending", "new_pairs", "new_queries", "missing"]
        for batch in ds.select_columns(columns).iter_batches(batch_size=None,
                                                             batch_format="numpy"):
            summary.resumed += int((batch["pending"] == 0).sum())
            summary.generated += int((batch["new_pairs"] > 0).sum())
            summary.records += int(batch["new_pairs"].sum())
            summary.queries += int(batch["new_queries"].sum())
            for missing in batch["missing"]:
                summary.incomplete += bool(missing)
                for lang in filter(None, str(missing).split(",")):
                    summary.missing_languages[lang] = summary.missing_languages.get(lang, 0) + 1
        summary.seconds = time.monotonic() - started
    record_store_files(store)
    return summary
