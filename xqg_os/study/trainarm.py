"""The direct-training arm: a series of checkpoints trained on growing numbers of pairs, each
evaluated on the same data as the xQG sweep, optionally with xQG on top.

Rows join the sweep's table with ``arm="train"`` (x = ``train_pairs``; the base encoder is the
``train_pairs=0`` point and the baseline of every significance test) and ``arm="train+xqg"``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from xqg_os.data.evalfiles import Run
from xqg_os.encode import EncoderConfig, load_encoder
from xqg_os.errors import InputError
from xqg_os.generate.store import QueryStore
from xqg_os.study.grid import Grid, Point
from xqg_os.study.pairs import TrainPair
from xqg_os.study.sweep import (
    EvalData,
    Prepared,
    SweepConfig,
    SweepResult,
    evaluate_points,
    exact_run,
    grid_points,
    prepare,
    search_grid,
)
from xqg_os.study.train import TrainConfig, train_checkpoint


def parse_sizes(text: str) -> list[int]:
    """``"1k,4k,16000"`` -> ``[1000, 4000, 16000]`` (sorted, unique).

    Raises:
        InputError: for anything but positive integers with an optional k/m suffix.
    """
    sizes: set[int] = set()
    for item in (part.strip().lower() for part in str(text).split(",")):
        if not item:
            continue
        factor = {"k": 1_000, "m": 1_000_000}.get(item[-1], 1)
        digits = item[:-1] if factor > 1 else item
        try:
            value = int(float(digits) * factor)
        except ValueError:
            raise InputError(f"training sizes must be numbers such as 1000 or 4k, not "
                             f"{item!r}") from None
        if value < 2:
            raise InputError(f"a training size must be at least 2 pairs, not {item!r}")
        sizes.add(value)
    if not sizes:
        raise InputError("no training sizes given")
    return sorted(sizes)


def _plain(prepared: Prepared, data: EvalData, config: SweepConfig) -> Run:
    bank = prepared.bank
    return exact_run(bank.passage_ids, bank.passages, prepared.query_vectors,
                     [q.id for q in data.queries], config.depth, config.space_type)


def run_train_arm(base: EncoderConfig, pairs: Sequence[TrainPair], sizes: Sequence[int],
                  data: EvalData, out_dir: str | Path, cache_root: str | Path,
                  train_config: TrainConfig | None = None, config: SweepConfig | None = None,
                  query_store: QueryStore | None = None, xqg_grid: Grid | None = None,
                  progress: bool = True) -> SweepResult:
    """Train one checkpoint per size (from ``base``, on the first ``size`` pairs) and evaluate.

    Args:
        base: the encoder to fine-tune and the baseline (its pooling and prefixes are kept).
        pairs: training pairs, already shuffled (see :func:`~xqg_os.study.pairs.load_pairs`).
        sizes: training-set sizes.
        data: evaluation data (the same as the sweep's).
        out_dir: checkpoints go to ``out_dir/pairs-<size>``; finished ones are reused.
        cache_root: embedding stores (the base encoder's vectors are shared with the sweep).
        train_config: training settings (pooling and prefixes are taken from ``base``).
        config: search and evaluation settings.
        query_store / xqg_grid: with both, each checkpoint is also swept with xQG.

    Raises:
        InputError: for a size larger than the number of pairs.
    """
    config = config or SweepConfig()
    train_config = replace(train_config or TrainConfig(), pooling=base.pooling,
                           query_prefix=base.query_prefix, passage_prefix=base.passage_prefix,
                           max_seq_length=base.passage_max_length)
    too_big = [size for size in sizes if size > len(pairs)]
    if too_big:
        raise InputError(f"training size(s) {too_big} exceed the {len(pairs)} pairs available")
    if xqg_grid is not None and query_store is None:
        raise InputError("the xQG arm needs query_store (the generated queries)",
                         param="query_store")
    timings = {"prepare_s": 0.0, "train_s": 0.0, "search_s": 0.0}
    start = time.perf_counter()
    encoder = load_encoder(base)
    base_prepared = prepare(encoder, data, cache_root, None, [0], dtype=config.dtype,
                            progress=progress)
    del encoder
    timings["prepare_s"] += time.perf_counter() - start
    baseline_point = Point("train", 0, 0.0, "none", "none", 0, base_prepared.model, data.name)
    baseline = baseline_point.system()
    systems: dict[str, Run] = {baseline: _plain(base_prepared, data, config)}
    assignments: list[tuple[Point, str]] = [(baseline_point, baseline)]
    for size in tqdm(list(sizes), desc="checkpoints", unit="ckpt", disable=not progress):
        tick = time.perf_counter()
        folder = train_checkpoint(base.model, pairs[:size], Path(out_dir) / f"pairs-{size}",
                                  train_config, progress)
        timings["train_s"] += time.perf_counter() - tick
        tick = time.perf_counter()
        checkpoint = load_encoder(replace(base, model=str(folder), kind="auto", revision=None))
        prepared = prepare(checkpoint, data, cache_root, query_store if xqg_grid else None,
                           xqg_grid.ns if xqg_grid else [0], dtype=config.dtype,
                           progress=progress)
        del checkpoint
        gc.collect()  # one checkpoint in memory at a time
        timings["prepare_s"] += time.perf_counter() - tick
        tick = time.perf_counter()
        point = Point("train", 0, 0.0, "none", "none", size, prepared.model, data.name)
        systems[point.system()] = _plain(prepared, data, config)
        assignments.append((point, point.system()))
        if xqg_grid is not None:
            points = grid_points(xqg_grid, "train+xqg", prepared.model, data.name, size)
            runs = search_grid(prepared, data.queries, [c for _, c in points], config.depth,
                               config.space_type, progress=False)
            for xqg_point, key in points:
                name = point.system() if runs[key] is runs[None] else xqg_point.system()
                systems.setdefault(name, runs[key])
                assignments.append((xqg_point, name))
        timings["search_s"] += time.perf_counter() - tick
    tick = time.perf_counter()
    rows, report = evaluate_points(data, systems, assignments, baseline, config.eval)
    timings["evaluate_s"] = time.perf_counter() - tick
    info = {"base": base.model, "sizes": list(sizes), "pairs_available": len(pairs),
            "train": {k: v for k, v in vars(train_config).items()},
            "xqg_grid": xqg_grid.describe() if xqg_grid else None,
            "query_store": query_store.describe() if query_store and xqg_grid else None}
    return SweepResult(rows, report, timings, info)
