"""Integration: N ``ingest --shard i/N`` workers started at the same moment need no coordination:
the index is created once, the others adopt it, an incompatible index is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_ingest import _all_docs, _args, _corpus, _store
from xqg_os.cli import main

pytestmark = pytest.mark.integration


def test_four_shard_workers_started_together_all_succeed(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    count = 120
    corpus = _corpus(tmp_path / "corpus.jsonl", count)
    queries = _store(tmp_path / "queries", count)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    workers = [subprocess.Popen(
        [sys.executable, "-m", "xqg_os.cli",
         *_args(corpus, queries, index_name, os_url, tiny_bert_path, "--shard", f"{i}/4",
                "--batch-size", "8", "--replicas", "0")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(4)]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output
        assert f"{count // 4} written" in output, output
    ids = [hit["_id"] for hit in _all_docs(os_client, index_name)]
    assert sorted(ids) == sorted(f"p{i}" for i in range(count))
    settings = os_client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert settings.get("refresh_interval") != "-1"
    assert settings["number_of_replicas"] == "0"
    assert settings.get("translog", {}).get("durability", "request") == "request"
    meta = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    assert "xqg_bulk_saved_settings" not in meta and meta["n"] == 2


def test_a_shard_worker_refuses_an_index_built_differently(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 8)
    queries = _store(tmp_path / "queries", 8)
    runner = CliRunner()
    first = runner.invoke(main, _args(corpus, queries, index_name, os_url, tiny_bert_path,
                                      "--shard", "0/2"))
    assert first.exit_code == 0, first.output
    other = [a if a != "0.1" else "0.2" for a in _args(corpus, queries, index_name, os_url,
                                                         tiny_bert_path, "--shard", "1/2")]
    refused = runner.invoke(main, other)
    assert refused.exit_code == 1 and "built differently" in refused.output
    assert "alpha" in refused.output
    assert os_client.count(index=index_name)["count"] == 4
