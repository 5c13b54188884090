"""Integration: ``xqg-os ingest`` on the real node with the tiny encoder and a real query store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from xqg_os.augment import augment, select_queries
from xqg_os.cli import main
from xqg_os.data.corpus import passage_input
from xqg_os.generate.base import GeneratedQueries
from xqg_os.generate.store import QueryStore

pytestmark = pytest.mark.integration

LANGS = ["ja", "ru"]
WORDS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest",
         "planet", "language", "bridge", "castle"]


def _corpus(path: Path, count: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(count):
            words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(6))
            handle.write(json.dumps({"id": f"p{i}", "title": f"Title {i}",
                                     "text": f"Passage {i} about {words}."}) + "\n")
    return path


def _store(out: Path, count: int, n: int = 2) -> Path:
    store = QueryStore.create(out, {"name": "test-fixture", "kind": "precomputed"}, n)
    with store.writer() as writer:
        writer.append([GeneratedQueries(id=f"p{i}", lang=lang,
                                        queries=tuple(f"{lang} question {k} on {WORDS[i % 12]}"
                                                      for k in range(n)))
                       for i in range(count) for lang in LANGS])
    return out


def _args(corpus: Path, queries: Path | None, index: str, url: str, model: Path,
          *extra: str) -> list[str]:
    args = ["ingest", "--corpus", str(corpus), "--index", index, "--url", url,
            "--languages", ",".join(LANGS), "--n", "2", "--alpha", "0.1", "--formula", "sum",
            "--encoder", str(model), "--device", "cpu", *extra]
    return args + (["--generated", str(queries)] if queries else [])


def _all_docs(client: Any, index: str) -> list[dict[str, Any]]:
    client.indices.refresh(index=index)
    response = client.search(index=index, body={"size": 1000, "query": {"match_all": {}}})
    return [hit for hit in response["hits"]["hits"]]


def test_ingest_writes_every_passage_once_with_the_augmented_vector(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 30)
    queries = _store(tmp_path / "queries", 30)
    result = CliRunner().invoke(main, _args(corpus, queries, index_name, os_url, tiny_bert_path,
                                            "--batch-size", "8"))
    assert result.exit_code == 0, result.output
    assert "30 written" in result.output
    hits = _all_docs(os_client, index_name)
    assert sorted(h["_id"] for h in hits) == sorted(f"p{i}" for i in range(30))

    from xqg_os.data.corpus import read_corpus
    from xqg_os.encode import EncoderConfig, load_encoder

    encoder = load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))
    store = QueryStore.open(queries)
    passages = {p.id: p for p in read_corpus(corpus)}
    for hit in hits[:10]:
        source = hit["_source"]
        chosen = select_queries(store.get([hit["_id"]], LANGS, 2)[hit["_id"]], LANGS, 2)
        assert len(chosen) == 4
        p_vec = encoder.encode_passages([passage_input(passages[hit["_id"]])])
        expected = augment(p_vec, [encoder.encode_queries(chosen)], 0.1, "sum")[0]
        np.testing.assert_allclose(source["xqg_vector"], expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(source["passage_vector"], p_vec[0], rtol=1e-4, atol=1e-5)
        assert source["generated_queries"]["ja"] == ["ja question 0 on " + WORDS[
            int(hit["_id"][1:]) % 12], "ja question 1 on " + WORDS[int(hit["_id"][1:]) % 12]]

    meta = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    for key in ("encoder", "dimension", "generator", "languages", "n", "alpha", "formula",
                "tool_version", "formula_version"):
        assert key in meta, key
    assert meta["encoder"]["pooling"] == "cls" and meta["encoder"]["query_max_length"] == 32
    assert meta["languages"] == LANGS and meta["n"] == 2 and meta["alpha"] == 0.1
    assert meta["generator"]["generator"]["name"] == "test-fixture"
    settings = os_client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert settings.get("refresh_interval") != "-1"

    again = CliRunner().invoke(main, _args(corpus, queries, index_name, os_url, tiny_bert_path))
    assert again.exit_code == 0 and "30 already indexed" in again.output


def test_killed_ingest_resumes_without_duplicates(tmp_path: Path, os_client: Any, os_url: str,
                                                  index_name: str, tiny_bert_path: Path) -> None:
    count = 400
    corpus = _corpus(tmp_path / "corpus.jsonl", count)
    queries = _store(tmp_path / "queries", count)
    args = _args(corpus, queries, index_name, os_url, tiny_bert_path, "--batch-size", "4",
                 "--chunk-size", "4")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "xqg_os.cli", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    written = 0
    try:
        while time.time() < deadline and process.poll() is None:
            if os_client.indices.exists(index=index_name):
                os_client.indices.refresh(index=index_name)
                written = os_client.count(index=index_name)["count"]
                if written >= 20:
                    break
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert 0 < written < count, "the run must be killed mid-way"
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ids = [hit["_id"] for hit in _all_docs(os_client, index_name)]
    assert len(ids) == count == len(set(ids))
    assert f"{count - int(result.output.split(' written')[0].split()[-1])} already indexed" \
        in result.output
    settings = os_client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert settings.get("refresh_interval") != "-1"


def test_bulk_429_rejections_are_retried(tmp_path: Path, os_client: Any, index_name: str,
                                         tiny_bert_path: Path, fault_proxy: Any) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 40)
    queries = _store(tmp_path / "queries", 40)
    result = CliRunner().invoke(main, _args(corpus, queries, index_name, fault_proxy.url,
                                            tiny_bert_path, "--batch-size", "10",
                                            "--chunk-size", "10"))
    assert result.exit_code == 0, result.output
    assert fault_proxy.rejected >= 2
    assert len(_all_docs(os_client, index_name)) == 40


def test_bad_inputs_fail_before_writing(tmp_path: Path, os_client: Any, os_url: str,
                                        index_name: str, tiny_bert_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": \n', encoding="utf-8")
    result = runner.invoke(main, _args(bad, None, index_name, os_url, tiny_bert_path))
    assert result.exit_code == 1 and "bad.jsonl:2" in result.output
    assert not os_client.indices.exists(index=index_name)

    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', encoding="utf-8")
    result = runner.invoke(main, _args(dup, None, index_name, os_url, tiny_bert_path))
    assert result.exit_code == 1 and "duplicate passage ids: a" in result.output
    assert not os_client.indices.exists(index=index_name)

    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"id": "a", "text": "words here"}\n{"id": "b", "text": "  "}\n',
                     encoding="utf-8")
    result = runner.invoke(main, _args(empty, None, index_name, os_url, tiny_bert_path))
    assert result.exit_code == 0, result.output
    assert "1 written" in result.output and "1 empty skipped" in result.output
    # no generated queries: the library runs formula none and says so (not silently)
    assert "notice: no generated queries: formula 'sum' replaced by 'none'" in result.output
    meta = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    assert meta["formula"] == "none"

    result = runner.invoke(main, _args(empty, None, index_name, os_url, tiny_bert_path,
                                       "--pooling", "mean"))
    assert result.exit_code == 1 and "built differently" in result.output
    assert "--recreate" in result.output
    result = runner.invoke(main, _args(empty, None, index_name, os_url, tiny_bert_path,
                                       "--pooling", "mean", "--recreate"))
    assert result.exit_code == 0, result.output


def test_dimension_mismatch_with_a_bare_index_fails_before_writing(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["index", "create", "--index", index_name, "--dim", "8",
                                "--url", os_url]).exit_code == 0
    corpus = _corpus(tmp_path / "corpus.jsonl", 3)
    result = runner.invoke(main, _args(corpus, None, index_name, os_url, tiny_bert_path))
    assert result.exit_code == 1 and "32-d" in result.output
    assert "dimension 32" in result.output and "--recreate" in result.output
    assert os_client.count(index=index_name)["count"] == 0


def test_ingest_generates_on_the_fly_through_a_store(tmp_path: Path, os_client: Any,
                                                     os_url: str, index_name: str,
                                                     tiny_bert_path: Path, tiny_t5: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 12)
    out = tmp_path / "generated"
    args = ["ingest", "--corpus", str(corpus), "--index", index_name, "--url", os_url,
            "--languages", ",".join(LANGS), "--n", "2", "--encoder", str(tiny_bert_path),
            "--device", "cpu", "--generator-model", str(tiny_t5), "--generated", str(out),
            "--batch-size", "5"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "12 written" in result.output and "0 without queries" in result.output
    store = QueryStore.open(out)
    stored = store.get([f"p{i}" for i in range(12)], LANGS, 2)
    assert len(stored) == 12 and all(len(v) == 2 for v in stored.values())
    docs = {hit["_id"]: hit["_source"] for hit in _all_docs(os_client, index_name)}
    assert docs["p3"]["generated_queries"] == stored["p3"]
    meta = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    assert meta["generator"]["generator"]["kind"] == "seq2seq"
    lines = sum(1 for path in store.data_files() for _ in open(path, encoding="utf-8"))
    rerun = CliRunner().invoke(main, [*args, "--recreate"])  # index rebuilt, store reused
    assert rerun.exit_code == 0, rerun.output
    assert sum(1 for path in store.data_files() for _ in open(path, encoding="utf-8")) == lines
    redone = {hit["_id"]: hit["_source"] for hit in _all_docs(os_client, index_name)}
    assert redone["p3"]["generated_queries"] == stored["p3"]
