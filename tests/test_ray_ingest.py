"""Integration: the Ray Data pipeline (``ingest --ray``, ``generate --ray``) on a local Ray
instance gives the single-process results, document by document, and a killed driver is resumed
by rerunning the same command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_ingest import _corpus
from xqg_os.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.ray]

SAMPLE = Path(__file__).resolve().parent.parent / "xqg_os" / "sample"
LANGS = "ja,ru,fr,de"


def _require_ray() -> None:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but Ray is not installed (the test extra installs ray[data])")
        pytest.skip("Ray is not installed (pip install 'xqg-os[ray]')")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    """One local Ray instance for this module (in-process runs join it); yields its address,
    which other processes join with ``--ray ADDRESS``."""
    _require_ray()
    import ray

    ray.init(num_cpus=3, include_dashboard=False, logging_level="warning")
    yield str(ray.get_runtime_context().gcs_address)
    ray.shutdown()


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample-queries")
    result = CliRunner().invoke(main, [
        "generate", "--corpus", str(SAMPLE / "corpus.jsonl"), "--generator", "precomputed",
        "--precomputed", str(SAMPLE / "precomputed_queries.jsonl"), "--languages", LANGS,
        "--n", "2", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def written_so_far(client: Any, index: str, process: subprocess.Popen[Any], at_least: int,
                   timeout: float = 180) -> int:
    """Documents in ``index`` once it holds ``at_least`` of them (or ``process`` ended, or
    ``timeout`` passed): the moment to kill something mid-way."""
    written, deadline = 0, time.time() + timeout
    while written < at_least and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
        if client.indices.exists(index=index):
            client.indices.refresh(index=index)
            written = int(client.count(index=index)["count"])
    return written


def _ingest(corpus: Path, index: str, url: str, model: Path, *extra: str) -> list[str]:
    return ["ingest", "--corpus", str(corpus), "--index", index, "--url", url,
            "--languages", LANGS, "--n", "2", "--alpha", "0.3", "--formula", "mean",
            "--encoder", str(model), "--device", "cpu", *extra]


def _documents(client: Any, index: str) -> dict[str, dict[str, Any]]:
    client.indices.refresh(index=index)
    response = client.search(index=index, body={"size": 10000, "query": {"match_all": {}}})
    return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}


def _assert_same_index(client: Any, single: str, ray: str) -> float:
    """Same ids, same fields, same ``_meta``; returns the largest vector difference."""
    expected, got = _documents(client, single), _documents(client, ray)
    assert sorted(got) == sorted(expected)
    worst = 0.0
    for pid, doc in expected.items():
        for key, value in doc.items():
            if key.endswith("_vector"):
                a, b = np.asarray(value, np.float32), np.asarray(got[pid][key], np.float32)
                worst = max(worst, float(np.abs(a - b).max()))
            else:
                assert got[pid][key] == value, (pid, key)
        assert set(got[pid]) == set(doc)
    metas = [client.indices.get_mapping(index=name)[name]["mappings"]["_meta"]
             for name in (single, ray)]
    assert metas[0] == metas[1]
    return worst


def test_ray_ingest_of_the_sample_equals_the_single_process_ingest(
        local_ray: str, sample_store: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    corpus = SAMPLE / "corpus.jsonl"
    ray_index = f"{index_name}-ray"
    try:
        single = CliRunner().invoke(main, _ingest(corpus, index_name, os_url, tiny_bert_path,
                                                  "--generated", str(sample_store)))
        assert single.exit_code == 0, single.output
        run = CliRunner().invoke(main, _ingest(corpus, ray_index, os_url, tiny_bert_path,
                                               "--generated", str(sample_store), "--ray"))
        assert run.exit_code == 0, run.output
        assert "60 written, 0 already indexed" in run.output
        # bit for bit: the encoder sees the same batches (another batch size pads texts
        # differently, which moves the last bit of some floats: see the resume test)
        assert _assert_same_index(os_client, index_name, ray_index) == 0.0
    finally:
        os_client.indices.delete(index=ray_index, ignore_unavailable=True)


def test_ray_ingest_generates_missing_queries_into_the_store(
        local_ray: str, tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path, tiny_t5: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 24)
    store = tmp_path / "generated"
    ray_index = f"{index_name}-ray"
    try:
        run = CliRunner().invoke(main, _ingest(corpus, ray_index, os_url, tiny_bert_path,
                                               "--generated", str(store), "--generator-model",
                                               str(tiny_t5), "--ray"))
        assert run.exit_code == 0, run.output
        assert "24 written" in run.output and "0 without queries" in run.output
        from xqg_os.generate.store import QueryStore

        held = QueryStore.open(store)
        assert held.describe()["counts"]["records"] == 24 * 4  # the manifest knows every file
        found = held.get([f"p{i}" for i in range(24)], LANGS.split(","), 2)
        assert len(found) == 24 and all(len(by_lang) == 4 for by_lang in found.values())
        single = CliRunner().invoke(main, _ingest(corpus, index_name, os_url, tiny_bert_path,
                                                  "--generated", str(store)))
        assert single.exit_code == 0, single.output
        assert _assert_same_index(os_client, index_name, ray_index) == 0.0
    finally:
        os_client.indices.delete(index=ray_index, ignore_unavailable=True)


def test_generate_with_ray_writes_the_single_process_store(local_ray: str,
                                                           tmp_path: Path) -> None:
    from xqg_os.generate.store import QueryStore

    args = ["generate", "--corpus", str(SAMPLE / "corpus.jsonl"), "--generator", "precomputed",
            "--precomputed", str(SAMPLE / "precomputed_queries.jsonl"), "--languages", LANGS,
            "--n", "2", "--quiet", "--json"]
    single = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "single")])
    run = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "ray"), "--ray",
                                    "--ray-workers", "2", "--pool-size", "8"])
    assert single.exit_code == 0 and run.exit_code == 0, run.output
    summary = json.loads(run.output.strip().splitlines()[-1])
    assert summary["records"] == 240 and summary["generated"] == 60
    stores = [QueryStore.open(tmp_path / name) for name in ("single", "ray")]
    assert stores[0].fingerprint == stores[1].fingerprint
    ids = [json.loads(line)["id"] for line in (SAMPLE / "corpus.jsonl").open(encoding="utf-8")]
    assert stores[1].get(ids, LANGS.split(","), 2) == stores[0].get(ids, LANGS.split(","), 2)
    again = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "ray"), "--ray"])
    assert json.loads(again.output.strip().splitlines()[-1])["resumed"] == 60


def test_killed_ray_driver_is_resumed_by_rerunning_the_command(
        local_ray: str, tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    count = 2000
    corpus = _corpus(tmp_path / "corpus.jsonl", count)
    ray_index = f"{index_name}-ray"
    args = _ingest(corpus, ray_index, os_url, tiny_bert_path, "--ray-workers", "2",
                   "--batch-size", "64", "--chunk-size", "64")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # a driver of its own, on the running Ray cluster: its kill ends its job, not the cluster
    driver = subprocess.Popen([sys.executable, "-m", "xqg_os.cli", *args, "--ray", local_ray],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        written = written_so_far(os_client, ray_index, driver, at_least=128)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    try:
        assert 0 < written < count, "the driver must be killed mid-way"
        rerun = CliRunner().invoke(main, [*args, "--ray"])  # the same command, in-process
        assert rerun.exit_code == 0, rerun.output
        done = re.search(r"(\d+) written, (\d+) already indexed", rerun.output)
        assert done, rerun.output  # the rerun writes only what the killed run had not
        assert int(done[2]) >= written and int(done[1]) + int(done[2]) == count
        os_client.indices.refresh(index=ray_index)
        assert os_client.count(index=ray_index)["count"] == count
        single = CliRunner().invoke(main, _ingest(corpus, index_name, os_url, tiny_bert_path))
        assert single.exit_code == 0, single.output
        # batches differ after a resume, so padding may move the last bit of a float
        assert _assert_same_index(os_client, index_name, ray_index) < 1e-5
        settings = os_client.indices.get_settings(index=ray_index)[ray_index]["settings"]
        assert settings["index"].get("refresh_interval") != "-1"
    finally:
        os_client.indices.delete(index=ray_index, ignore_unavailable=True)


def test_ray_flags_say_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 2)
    base = ["ingest", "--corpus", str(corpus), "--index", "x", "--n", "0"]
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    result = CliRunner().invoke(main, [*base, "--ray"])
    assert result.exit_code == 1
    assert "pip install 'xqg-os[ray]'" in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    result = CliRunner().invoke(main, [*base, "--ray-workers", "2"])
    assert result.exit_code == 2 and "--ray-workers needs --ray" in result.output
    _require_ray()
    result = CliRunner().invoke(main, [*base, "--ray", "--shard", "0/2"])
    assert result.exit_code == 1
    assert "--shard and --ray do not combine" in result.output
