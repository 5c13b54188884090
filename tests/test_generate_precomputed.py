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
