"""Scaling studies: sweeps of n, alpha, formula and language subset over stored vectors, the
direct-training arm, one tidy CSV, plots and a Markdown report.

Typical use::

    from xqg_os.study import EvalData, Grid, run_sweep, write_rows
    data = EvalData.load("corpus.jsonl", "queries.jsonl", qrels="qrels.txt")
    result = run_sweep(encoder, data, QueryStore.open("gen/"), Grid.parse(
        "0,1,2,4,8", "0.01,0.1", "sum,mean", "all,same,others"), cache_root="cache/")
    write_rows("study.csv", result.rows)

Importing this package is light: torch, sentence-transformers and matplotlib load only when a
model is trained or a plot drawn.
"""

from xqg_os.study.bank import VectorBank, build_bank, mix_pooled
from xqg_os.study.grid import Grid, Point, parse_language_spec, resolve_languages
from xqg_os.study.pairs import TrainPair, load_pairs
from xqg_os.study.plots import plot_study
from xqg_os.study.report import render_report, update_meta
from xqg_os.study.results import COLUMNS, read_rows, write_rows
from xqg_os.study.sweep import (
                                EvalData,
                                Prepared,
                                SweepConfig,
                                SweepResult,
                                exact_run,
                                prepare,
                                run_sweep,
                                search_grid,
                                sweep_prepared,
)
from xqg_os.study.train import TrainConfig, train_checkpoint
from xqg_os.study.trainarm import parse_sizes, run_train_arm

__all__ = [
    "COLUMNS", "EvalData", "Grid", "Point", "Prepared", "SweepConfig", "SweepResult",
    "TrainConfig", "TrainPair", "VectorBank", "build_bank", "exact_run", "load_pairs",
    "mix_pooled", "parse_language_spec", "parse_sizes", "plot_study", "prepare", "read_rows",
    "render_report", "resolve_languages", "run_sweep", "run_train_arm", "search_grid",
    "sweep_prepared", "train_checkpoint", "update_meta", "write_rows",
]
