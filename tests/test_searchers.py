"""Integration: one evaluation of the bundled sample through each of the three Searchers (k-NN on
the real node, exact search over the saved vector folder, and a run file written from the exact
run) gives identical metrics; ANN recall on 60 passages is 1.0."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import xqg_os
from xqg_os.cli import main
from xqg_os.data.evalfiles import (
    qrels_to_dict,
    read_answers,
    read_passage_texts,
    read_qrels,
    read_queries,
    write_run,
)
from xqg_os.evaluate import EvalConfig, resolve_word_tokenizer
from xqg_os.search.base import Searcher, VectorSearcher
from xqg_os.search.exact import folder_searchers, recall_at_k
from xqg_os.search.knn import knn_searchers
from xqg_os.search.runs import RunSearcher, evaluate_searchers

pytestmark = pytest.mark.integration

SAMPLE = Path(xqg_os.__file__).parent / "sample"
FIELDS = ["passage_vector", "xqg_vector"]
CONFIG = EvalConfig(metrics=("nDCG@10", "R@100", "MRR@10"), kt=(100, 200))


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory, os_client: Any, os_url: str
                 ) -> Iterator[dict[str, Any]]:
    """The sample ingested as scripts/demo does: precomputed queries (ja, ru, fr, de; n=2),
    the shipped multilingual encoder (usem), mean formula, alpha 0.3; vectors saved."""
    folder = tmp_path_factory.mktemp("searchers")
    name = f"test-searchers-{folder.name[-8:].lower().replace('_', '')}"
    runner = CliRunner()
    generated = runner.invoke(main, [
        "generate", "--corpus", str(SAMPLE / "corpus.jsonl"), "--generator", "precomputed",
        "--precomputed", str(SAMPLE / "precomputed_queries.jsonl"), "--languages", "ja,ru,fr,de",
        "--n", "2", "--out", str(folder / "generated"), "--quiet"])
    assert generated.exit_code == 0, generated.output
    ingested = runner.invoke(main, [
        "ingest", "--corpus", str(SAMPLE / "corpus.jsonl"), "--index", name,
        "--generated", str(folder / "generated"), "--languages", "ja,ru,fr,de", "--n", "2",
        "--alpha", "0.3", "--formula", "mean", "--encoder", "usem", "--recreate",
        "--save-vectors", str(folder / "vectors"), "--url", os_url])
    assert ingested.exit_code == 0, ingested.output
    yield {"index": name, "vectors": folder / "vectors", "folder": folder}
    os_client.indices.delete(index=name, ignore_unavailable=True)


def test_three_searchers_give_identical_metrics(os_client: Any, sample_index: dict[str, Any],
                                               tmp_path: Path) -> None:
    queries = read_queries(SAMPLE / "queries.jsonl")
    qrels = qrels_to_dict(read_qrels(SAMPLE / "qrels.txt"))
    answers = read_answers(SAMPLE / "answers.jsonl")
    tokenizer = resolve_word_tokenizer(tmp_path / "nltk")
    knn = knn_searchers(os_client, sample_index["index"], FIELDS)
    exact = folder_searchers(sample_index["vectors"], FIELDS)
    assert all(isinstance(s, VectorSearcher) for s in [*knn.values(), *exact.values()])
    assert len({id(s.encoder) for s in knn.values()}) == 1  # encoded once for both fields

    def evaluate(searchers: dict[str, Searcher]) -> Any:
        return evaluate_searchers(searchers, queries, 100, qrels=qrels, answers=answers,
                                  config=CONFIG, tokenizer=tokenizer)

    knn_report, knn_runs = evaluate(dict(knn))
    exact_report, exact_runs = evaluate(dict(exact))
    for field in FIELDS:
        write_run(exact_runs.runs[field], tmp_path / f"{field}.trec", tag=field)
    texts = read_passage_texts(SAMPLE / "corpus.jsonl")
    from_files = {field: RunSearcher.from_file(tmp_path / f"{field}.trec", texts)
                  for field in FIELDS}
    assert all(isinstance(s, Searcher) and not isinstance(s, VectorSearcher)
               for s in from_files.values())
    file_report, _ = evaluate(dict(from_files))

    for field in FIELDS:
        ranked_knn = [list(knn_runs.runs[field][q.id])[:10] for q in queries]
        ranked_exact = [list(exact_runs.runs[field][q.id])[:10] for q in queries]
        assert recall_at_k(ranked_knn, ranked_exact) == 1.0
    assert knn_report.metrics == exact_report.metrics == file_report.metrics
    assert "R@100t" in knn_report.metrics and "nDCG@10" in knn_report.metrics
    assert knn_report.per_query == exact_report.per_query == file_report.per_query
    assert knn_report.scores == exact_report.scores == file_report.scores
    gain = exact_report.score("xqg_vector", "R@100t")
    assert gain is not None and gain > 0  # a real evaluation, not a table of zeros


def test_evaluate_command_over_a_saved_folder_and_a_run_file(sample_index: dict[str, Any],
                                                             tmp_path: Path) -> None:
    common = ["evaluate", "--queries", str(SAMPLE / "queries.jsonl"),
              "--qrels", str(SAMPLE / "qrels.txt"), "--answers", str(SAMPLE / "answers.jsonl"),
              "--kt", "100,200"]
    saved = CliRunner().invoke(main, [*common, "--vectors", str(sample_index["vectors"]),
                                      "--url", "http://127.0.0.1:1", "--out",
                                      str(tmp_path / "saved")])
    assert saved.exit_code == 0, saved.output
    report = json.loads((tmp_path / "saved" / "evaluation.json").read_text(encoding="utf-8"))
    systems = [f"{sample_index['index']}:{field}" for field in FIELDS]
    assert report["systems"] == systems  # named after the index the folder was written for

    runs = tmp_path / "saved" / "runs"
    run_files = sorted(runs.glob("*.trec"))
    assert len(run_files) == 2
    knn = CliRunner().invoke(main, [
        *common, "--index", sample_index["index"],
        *(arg for path in run_files for arg in ("--run", f"file-{path.stem}={path}")),
        "--corpus", str(SAMPLE / "corpus.jsonl"), "--out", str(tmp_path / "mixed")])
    assert knn.exit_code == 0, knn.output
    mixed = json.loads((tmp_path / "mixed" / "evaluation.json").read_text(encoding="utf-8"))
    assert mixed["systems"][:2] == systems and len(mixed["systems"]) == 4
    for system in systems:
        assert mixed["scores"][system] == report["scores"][system]
    for name in mixed["systems"][2:]:
        field = next(f for f in FIELDS if f in name)
        assert mixed["scores"][name] == report["scores"][f"{sample_index['index']}:{field}"]


def test_evaluate_command_refusals(sample_index: dict[str, Any], tmp_path: Path) -> None:
    common = ["evaluate", "--queries", str(SAMPLE / "queries.jsonl"),
              "--qrels", str(SAMPLE / "qrels.txt")]
    none = CliRunner().invoke(main, common)
    assert none.exit_code == 1 and "give --index, --vectors or --run" in none.output
    two = CliRunner().invoke(main, [*common, "--vectors", str(sample_index["vectors"]),
                                    "--index", "a", "--index", "b"])
    assert two.exit_code == 1 and "at most one of --index" in two.output
    exact = CliRunner().invoke(main, [*common, "--exact"])
    assert exact.exit_code == 1 and "--exact search reads the vectors of --index" in exact.output
    old = tmp_path / "old"
    old.mkdir()
    (old / "ids.txt").write_text("a\n", encoding="utf-8")
    stale = CliRunner().invoke(main, [*common, "--vectors", str(old)])
    assert stale.exit_code == 1 and "re-export" in stale.output
    assert "Traceback" not in stale.output
    help_text = CliRunner().invoke(main, ["evaluate", "--help"]).output
    assert "--exact" in help_text and "--backend" not in help_text
