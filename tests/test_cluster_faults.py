"""Integration: cluster failures after the first health check end in one clear line and exit 1.

A node that dies mid-ingest, stalls, serves a red or closed index, or refuses a whole bulk
request: each is real (the node behind a proxy that stops answering or drops connections, an
index whose primary cannot be allocated, a closed index, a role without the write privilege on
the secured node), and each command ends with one ``error:`` line, no traceback.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from tests.fixtures.proxy import FaultProxy
from xqg_os.cli import main
from xqg_os.opensearch.bulk import SAVED_KEY

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[1] / "xqg_os" / "sample"


def one_line_error(result: Result) -> str:
    """The one ``error:`` line a failed command ends with (no traceback, no second error)."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error")] == lines[-1:], result.output
    assert "Traceback" not in result.output and result.exception is not None
    return lines[-1]


def _corpus(path: Path, count: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(count):
            handle.write(json.dumps({"id": f"p{i}", "title": f"T{i}",
                                     "text": f"Passage {i} about rivers and mountains."}) + "\n")
    return path


def _ingest(corpus: Path, index: str, url: str, model: Path, *extra: str,
            env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["ingest", "--corpus", str(corpus), "--index", index,
                                     "--url", url, "--encoder", str(model), "--device", "cpu",
                                     *extra], env=env)


@pytest.fixture
def proxy(os_url: str, os_client: Any) -> Iterator[FaultProxy]:
    """A proxy to the real node that forwards everything until told to stall or cut."""
    with FaultProxy(os_url, reject_every=1) as fault:  # x % 1 is never 1: no 429s
        yield fault


def test_a_node_lost_mid_ingest_is_one_line_and_the_rerun_completes_it(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str, tiny_bert_path: Path,
        proxy: FaultProxy) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 120)
    small = ("--batch-size", "20", "--chunk-size", "20", "--concurrency", "1")
    proxy.cut_after_bulk = 2  # the node answers two bulk requests, then nothing at all
    error = one_line_error(_ingest(corpus, index_name, proxy.url, tiny_bert_path, *small))
    assert "lost the connection to OpenSearch at " + proxy.url in error
    assert error.endswith("rerun the same command to resume")
    os_client.indices.refresh(index=index_name)
    assert 0 < os_client.count(index=index_name)["count"] < 120
    # the bulk-load settings stay (saved in _meta) for the rerun to restore
    meta = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    assert SAVED_KEY in meta

    result = _ingest(corpus, index_name, os_url, tiny_bert_path, *small)
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    hits = os_client.search(index=index_name, body={"size": 200, "_source": False})
    assert sorted(hit["_id"] for hit in hits["hits"]["hits"]) == sorted(f"p{i}"
                                                                       for i in range(120))
    assert os_client.count(index=index_name)["count"] == 120
    meta = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    assert SAVED_KEY not in meta
    settings = os_client.indices.get_settings(index=index_name, flat_settings=True)
    flat = settings[index_name]["settings"]
    assert flat.get("index.refresh_interval", "1s") != "-1"
    assert flat.get("index.translog.durability", "request") == "request"


def test_a_stalled_node_is_one_line_with_a_hint(proxy: FaultProxy, index_name: str,
                                                os_client: Any) -> None:
    """A node that stops answering (a paused process) times out: the CLI's one mechanism
    explains any cluster failure a command raises, here the client's own timeout."""
    from xqg_os.cli.common import XQGGroup
    from xqg_os.cli.connection import CLIENT_CONFIG
    from xqg_os.opensearch.client import ClientConfig, make_client

    os_client.indices.create(index=index_name)

    @click.group(cls=XQGGroup)
    def cli() -> None:
        """A command line with one command that searches through the proxy."""

    @cli.command()
    def count() -> None:
        config = ClientConfig(url=proxy.url, timeout=1)
        click.get_current_context().meta[CLIENT_CONFIG] = config
        client = make_client(config)
        proxy.stall = 3.0
        click.echo(client.count(index=index_name))

    error = one_line_error(CliRunner().invoke(cli, ["count"]))
    assert f"OpenSearch at {proxy.url} did not answer within 1s" in error
    assert "stalled, paused or overloaded" in error and "rerun the same command" in error


def test_the_timeout_flag_sets_the_wait_and_the_message_names_it(proxy: FaultProxy,
                                                                  index_name: str) -> None:
    """``--timeout`` reaches the client: a stalled node is given up on after that many
    seconds, and the one line says the flag waits longer."""
    proxy.stall = 4.0
    started = time.monotonic()
    result = CliRunner().invoke(main, ["index", "info", index_name, "--url", proxy.url,
                                       "--timeout", "1"])
    waited = time.monotonic() - started
    proxy.stall = 0.0
    error = one_line_error(result)
    assert "did not answer within 1s" in error and "a larger --timeout waits longer" in error
    assert waited < 4.0, waited  # the default 60 s would wait for the stall to end


@pytest.fixture
def red_and_closed(tmp_path: Path, os_client: Any, os_url: str, index_name: str,
                   tiny_bert_path: Path) -> Iterator[tuple[str, str]]:
    """Two xQG indices: a red one (its primary may only live on a node that does not exist)
    and a closed one."""
    result = _ingest(_corpus(tmp_path / "corpus.jsonl", 10), index_name, os_url, tiny_bert_path)
    assert result.exit_code == 0, result.output
    red = f"{index_name}-red"
    mappings = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    os_client.indices.create(index=red, params={"wait_for_active_shards": "0"}, body={
        "settings": {"index": {"knn": True, "number_of_replicas": 0,
                               "routing.allocation.require._name": "no-such-node"}},
        "mappings": mappings})
    assert os_client.cluster.health(index=red)["status"] == "red"
    os_client.indices.close(index=index_name)
    yield red, index_name
    os_client.indices.delete(index=red, ignore_unavailable=True)


def test_a_red_or_closed_index_is_one_line_for_search_evaluate_and_ingest(
        tmp_path: Path, os_url: str, tiny_bert_path: Path,
        red_and_closed: tuple[str, str]) -> None:
    red, closed = red_and_closed
    runner = CliRunner()
    search = ["search", "--url", os_url, "--encoder", str(tiny_bert_path), "river"]
    evaluate = ["evaluate", "--url", os_url, "--queries", str(SAMPLE / "queries.jsonl"),
                "--qrels", str(SAMPLE / "qrels.txt")]
    for args in (search, evaluate):
        error = one_line_error(runner.invoke(main, [*args, "--index", red]))
        assert "is red, no copy of one of its shards is active" in error, error
        error = one_line_error(runner.invoke(main, [*args, "--index", closed]))
        assert f"index {closed!r}" in error and f"is closed; open it with `POST {closed}/_open`" \
            in error
    corpus = _corpus(tmp_path / "corpus.jsonl", 10)
    error = one_line_error(_ingest(corpus, red, os_url, tiny_bert_path))
    assert error.startswith(f"error: index {red!r} is red: ")
    assert "no-such-node" in error  # the allocation decider's own explanation
    error = one_line_error(_ingest(corpus, closed, os_url, tiny_bert_path))
    assert f"is closed; open it with `POST {closed}/_open`" in error


@pytest.mark.secure
def test_a_bulk_request_without_the_write_privilege_names_it(
        tmp_path: Path, secure_node: Any, secure_admin: Any, tiny_bert_path: Path) -> None:
    """A role that may read and change an index's mapping and settings, but not write
    documents: the whole bulk request is refused, and the line names the privilege."""
    api = "/_plugins/_security/api"
    tag = secrets.token_hex(3)
    role, user = f"xqg_test_nowrite_{tag}", f"xqg-test-nowrite-{tag}"
    password = secrets.token_urlsafe(18) + "aA1!"
    index = f"test-nowrite-{tag}"
    corpus = _corpus(tmp_path / "corpus.jsonl", 30)
    secure_admin.transport.perform_request("PUT", f"{api}/roles/{role}", body={
        "cluster_permissions": ["cluster_composite_ops_ro", "cluster:monitor/health"],
        "index_permissions": [{"index_patterns": ["*"], "allowed_actions": [
            "read", "indices:admin/get", "indices:admin/mappings/get",
            "indices:admin/mapping/put", "indices:admin/settings/update",
            "indices:monitor/settings/get", "indices:admin/refresh*", "indices:admin/flush*"]}]})
    secure_admin.transport.perform_request("PUT", f"{api}/internalusers/{user}",
                                           body={"password": password})
    secure_admin.transport.perform_request("PUT", f"{api}/rolesmapping/{role}",
                                           body={"users": [user]})
    try:
        admin = _ingest(_corpus(tmp_path / "first.jsonl", 5), index, secure_node.url,
                        tiny_bert_path, env=secure_node.env())
        assert admin.exit_code == 0, admin.output
        error = one_line_error(_ingest(corpus, index, secure_node.url, tiny_bert_path,
                                       env=secure_node.env(user, password)))
        assert f"user '{user}' lacks the privilege indices:data/write/bulk" in error, error
        secure_admin.indices.refresh(index=index)
        assert secure_admin.count(index=index)["count"] == 5
    finally:
        secure_admin.indices.delete(index=index, ignore_unavailable=True)
        for kind, name in (("rolesmapping", role), ("internalusers", user), ("roles", role)):
            secure_admin.transport.perform_request("DELETE", f"{api}/{kind}/{name}")
