"""Precomputed queries: both line layouts, store folders, missing passages, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError
from xqg_os.generate import (
    GeneratedQueries,
    GeneratorSpec,
    QueryGenerator,
    QueryStore,
    make_generator,
)
from xqg_os.generate.precomputed import PrecomputedConfig, PrecomputedGenerator

PASSAGES = [Passage("p1", "one"), Passage("p2", "two"), Passage("p3", "three")]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def test_per_language_layout(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "p1", "lang": "ar", "queries": ["a1", "a2", "a3"]},
        {"id": "p1", "lang": "ja", "queries": ["j1"]},
        {"id": "p2", "lang": "ar", "queries": ["b1", "b2"]}])
    gen = PrecomputedGenerator(PrecomputedConfig(str(source)))
    assert isinstance(gen, QueryGenerator)
    assert gen.generate(PASSAGES, ["ar", "ja"], 2) == [
        {"ar": ["a1", "a2"], "ja": ["j1"]}, {"ar": ["b1", "b2"]}, {}]
    assert gen.counts() == {"short": 1, "missing": 3}
    assert gen.describe()["kind"] == "precomputed"


def test_released_dataset_layout(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "released.jsonl", [
        {"_id": "p1", "title": "t", "generated_queries": {"ar": ["a1", "a2"], "bn": ["b1", "b2"]}},
        {"docid": "p3", "generated_queries": {"ar": "single"}}])
    gen = make_generator(GeneratorSpec(kind="precomputed", queries_file=str(source)))
    assert gen.generate(PASSAGES, ["bn", "ar"], 1) == [
        {"bn": ["b1"], "ar": ["a1"]}, {}, {"ar": ["single"]}]
    assert gen.counts()["missing"] == 3


def test_a_query_store_feeds_back_as_precomputed(tmp_path: Path) -> None:
    store = QueryStore.create(tmp_path / "out", {"kind": "test"}, 2)
    with store.writer() as writer:
        writer.append([GeneratedQueries("p2", "fi", ("f1", "f2"))])
    for source in (store.path, store.path / "queries.jsonl"):
        gen = PrecomputedGenerator(PrecomputedConfig(str(source)))
        assert gen.generate(PASSAGES[1:2], ["fi"], 2) == [{"fi": ["f1", "f2"]}]


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="queries file not found"):
        PrecomputedGenerator(PrecomputedConfig(str(tmp_path / "none.jsonl")))
    with pytest.raises(InputError, match="needs queries_file") as missing:
        make_generator(GeneratorSpec(kind="precomputed"))
    assert missing.value.param == "queries_file"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "p1", "lang": "ar", "queries": ["x"]}\n{"id": "p2"}\n',
                   encoding="utf-8")
    gen = PrecomputedGenerator(PrecomputedConfig(str(bad)))
    with pytest.raises(InputError, match=r"bad.jsonl:2: malformed queries line"):
        gen.generate(PASSAGES, ["ar"], 1)


def test_dataset_name_needs_the_datasets_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed
    with pytest.raises(InputError, match="install the `datasets` package"):
        PrecomputedGenerator(PrecomputedConfig("ielabgroup/some-queries"))


def test_languages_the_file_lacks_are_named_with_counts_and_no_false_promise(
        tmp_path: Path) -> None:
    from click.testing import CliRunner

    from xqg_os.cli import main

    corpus = write_jsonl(tmp_path / "corpus.jsonl", [
        {"id": p.id, "text": p.text} for p in PASSAGES])
    source = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "p1", "lang": "ar", "queries": ["a1"]},
        {"id": "p2", "lang": "ar", "queries": ["a2"]},
        {"id": "p1", "lang": "fi", "queries": ["f1"]}])
    args = ["generate", "--corpus", str(corpus), "--generator", "precomputed", "--precomputed",
            str(source), "--languages", "ar,bn,fi", "--n", "1", "--out", str(tmp_path / "out"),
            "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert ("3 of 3 passages got no queries in some languages (passages without, per "
            "language: ar: 1 of 3, bn: 3 of 3, fi: 2 of 3); the generator's source has no "
            "queries for them, so a rerun cannot add them") in result.output
    assert "a rerun retries" not in result.output
    again = CliRunner().invoke(main, [*args, "--json"])
    summary = json.loads(again.output)
    assert summary["missing_languages"] == {"ar": 1, "bn": 3, "fi": 2}
    assert summary["rerun_retries"] is False


def test_model_generators_keep_the_rerun_promise(tmp_path: Path) -> None:
    from xqg_os.generate.runner import GenerationSummary

    summary = GenerationSummary(store=tmp_path, fingerprint="f", passages=4, incomplete=1,
                                missing_languages={"ja": 1})
    assert any(line.endswith("(passages without, per language: ja: 1 of 4); a rerun retries "
                             "them") for line in summary.lines())
