"""The index and cluster commands: real node for the happy path, a dead port for the error."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from click.testing import CliRunner

from xqg_os.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("dim", ["0", "20000", "-3"])
def test_create_refuses_bad_dimensions_before_connecting(dim: str) -> None:
    result = CliRunner().invoke(main, ["index", "create", "--index", "x", "--dim", dim,
                                       "--url", f"http://127.0.0.1:{_free_port()}"])
    assert result.exit_code == 1
    assert "out of range" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["index", "info", "demo"], ["index", "delete", "demo"],
                                  ["index", "create", "--index", "demo", "--dim", "8"]])
def test_unreachable_cluster_is_one_clear_line(args: list[str]) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(main, [*args, "--url", url])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert url in lines[0] and "xqg-os cluster start" in lines[0]


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "xqg-os" in result.output


@pytest.mark.integration
def test_create_info_delete_round_trip(os_client: Any, os_url: str, index_name: str) -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["index", "create", "--index", index_name, "--dim", "8",
                                   "--url", os_url])
    assert created.exit_code == 0, created.output
    info = runner.invoke(main, ["index", "info", index_name, "--url", os_url])
    assert info.exit_code == 0, info.output
    payload = json.loads(info.output)
    vector = payload["mappings"]["properties"]["xqg_vector"]
    assert vector["type"] == "knn_vector" and vector["dimension"] == 8
    assert vector["method"]["engine"] == "lucene"
    assert payload["meta"]["index"]["space_type"] == "innerproduct"
    again = runner.invoke(main, ["index", "create", "--index", index_name, "--dim", "8",
                                 "--url", os_url])
    assert again.exit_code == 1 and "--recreate" in again.output
    deleted = runner.invoke(main, ["index", "delete", index_name, "--url", os_url])
    assert deleted.exit_code == 0
    assert not os_client.indices.exists(index=index_name)


@pytest.mark.integration
def test_faiss_refused_on_node_without_native_libraries(os_client: Any, os_url: str,
                                                        index_name: str) -> None:
    from xqg_os.opensearch.index import native_engines_available

    if native_engines_available(os_client):
        pytest.skip("this cluster has native k-NN engines")
    result = CliRunner().invoke(main, ["index", "create", "--index", index_name, "--dim", "8",
                                       "--engine", "faiss", "--url", os_url])
    assert result.exit_code == 1
    assert "faiss" in result.output and "lucene" in result.output
    assert not os_client.indices.exists(index=index_name)
