"""The index and cluster commands: real node for the happy path, a dead port for the error."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.errors import InputError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("dim", ["0", "20000", "-3"])
def test_create_refuses_bad_dimensions_before_connecting(dim: str) -> None:
    result = CliRunner().invoke(main, ["index", "create", "--index", "x", "--dim", dim,
                                       "--url", f"http://127.0.0.1:{_free_port()}"])
    assert result.exit_code == 2  # refused by the option parser
    assert "is not in the range 1<=x<=16000" in result.output
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


def _vector(**extra: Any) -> dict[str, Any]:
    return {"type": "knn_vector", "dimension": 8, **extra}


LUCENE = {"name": "hnsw", "engine": "lucene", "space_type": "l2"}
NATIVE_BODIES = {  # mappings a node without native k-NN libraries accepts, then dies writing
    "no method": (_vector(), "no method"),
    "mode on_disk": (_vector(mode="on_disk"), "mode on_disk"),
    "compression": (_vector(method=LUCENE, compression_level="16x"), "compression_level 16x"),
    "faiss": (_vector(method={**LUCENE, "engine": "faiss"}), "engine faiss"),
    "nmslib": (_vector(method={**LUCENE, "engine": "nmslib"}), "engine nmslib"),
    "method without engine": (_vector(method={"name": "hnsw"}), "no engine"),
}


def test_native_requirements_finds_every_native_field() -> None:
    from xqg_os.opensearch.guard import native_requirements

    body = {"mappings": {"properties": {
        "ok": _vector(method=LUCENE), "title": {"type": "text"},
        "nested": {"properties": {"deep": _vector(mode="on_disk", method=LUCENE)}},
        **{name.replace(" ", "_"): spec for name, (spec, _) in NATIVE_BODIES.items()}}}}
    found = native_requirements(body)
    assert "ok" not in found and "title" not in found
    assert found["nested.deep"] == ["mode on_disk"]
    for name, (_, reason) in NATIVE_BODIES.items():
        assert any(reason in r for r in found[name.replace(" ", "_")]), name


@pytest.mark.integration
@pytest.mark.parametrize("case", list(NATIVE_BODIES))
def test_native_mappings_refused_on_the_node_before_anything_is_created(
        os_client: Any, index_name: str, case: str) -> None:
    from xqg_os.opensearch.index import create_index_body, native_engines_available

    if native_engines_available(os_client):
        pytest.skip("this cluster has native k-NN engines")
    spec, reason = NATIVE_BODIES[case]
    body = {"settings": {"index": {"knn": True}},
            "mappings": {"properties": {"v": spec, "title": {"type": "text"}}}}
    with pytest.raises(InputError) as refused:
        create_index_body(os_client, index_name, body)
    message = str(refused.value)
    assert "\n" not in message and "native libraries" in message and reason in message
    assert "lucene" in message
    assert not os_client.indices.exists(index=index_name)
    # an existing index of that name is not deleted by a refused recreate either
    os_client.indices.create(index=index_name, body={"settings": {"index": {"knn": True}}})
    with pytest.raises(InputError):
        create_index_body(os_client, index_name, body, recreate=True)
    assert os_client.indices.exists(index=index_name)


@pytest.mark.integration
def test_index_create_layout_flags(os_client: Any, os_url: str, index_name: str) -> None:
    from xqg_os.opensearch.index import node_major

    major, _ = node_major(os_client)
    args = ["index", "create", "--index", index_name, "--dim", "8", "--url", os_url,
            "--vector-fields", "xqg", "--shards", "2", "--replicas", "0"]
    result = CliRunner().invoke(main, [*args, "--quantization", "sq"])
    if major < 3:  # one clear line, nothing created
        assert result.exit_code == 1
        assert result.output.startswith("error: --quantization 'sq' is supported on "
                                        "OpenSearch 3.x only")
        assert len(result.output.strip().splitlines()) == 1
        assert not os_client.indices.exists(index=index_name)
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    info = json.loads(CliRunner().invoke(main, ["index", "info", index_name, "--url",
                                                os_url]).output)
    properties = info["mappings"]["properties"]
    assert "passage_vector" not in properties and properties["xqg_vector"]["dimension"] == 8
    layout = info["meta"]["index"]
    assert layout["vector_fields"] == ["xqg_vector"] and layout["shards"] == 2
    assert layout["source_vectors"] == ("derived" if major >= 3 else "stored")
    assert layout["quantization"] == ("sq" if major >= 3 else "none")
    assert info["settings"]["number_of_shards"] == "2"
    if major >= 3:
        encoder = properties["xqg_vector"]["method"]["parameters"]["encoder"]
        assert encoder["name"] == "sq"
