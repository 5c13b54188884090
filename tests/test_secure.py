"""Integration on the secured node (TLS, basic auth, roles): ingest, search, evaluate and the
library searcher as admin; search with a read-only role; a write without the privilege; TLS and
credential mistakes, each one line with the right hint."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from xqg_os.cli import main
from xqg_os.opensearch.client import make_client
from xqg_os.opensearch.failures import PrivilegeError
from xqg_os.opensearch.meta import get_meta

pytestmark = [pytest.mark.integration, pytest.mark.secure]

WORDS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest",
         "planet", "language", "bridge", "castle", "garden", "island", "desert", "train"]


def write_sample(folder: Path, count: int = 40) -> dict[str, Path]:
    """A tiny corpus with queries and qrels: passage i names words i..i+3 and its code."""
    paths = {name: folder / f"{name}.{ext}" for name, ext in
             (("corpus", "jsonl"), ("queries", "jsonl"), ("qrels", "txt"))}
    with open(paths["corpus"], "w", encoding="utf-8") as corpus, \
            open(paths["queries"], "w", encoding="utf-8") as queries, \
            open(paths["qrels"], "w", encoding="utf-8") as qrels:
        for i in range(count):
            words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(4))
            corpus.write(json.dumps({"id": f"d{i}", "title": f"T{i}",
                                     "text": f"Code{i} {words} number {i}."}) + "\n")
            if i % 4 == 0:
                queries.write(json.dumps({"id": f"q{i}", "text": f"{words} {i}",
                                          "lang": "en"}) + "\n")
                qrels.write(f"q{i} 0 d{i} 1\n")
    return paths


def run(args: list[str], env: dict[str, str]) -> Result:
    """The CLI, with the cluster given by ``env`` only."""
    clean = {"XQG_OPENSEARCH_PASSWORD_FILE": None, "XQG_OPENSEARCH_AUTH": None}
    return CliRunner().invoke(main, args, env={**clean, **env})


def one_line_error(result: Result) -> str:
    """The one ``error:`` line a failed command ends with (no traceback; progress bars and
    warnings before it are fine)."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error")] == lines[-1:], result.output
    assert "Traceback" not in result.output
    return lines[-1]


@pytest.fixture(scope="module")
def secure_index(secure_node: Any, secure_admin: Any, tiny_bert_path: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An index ingested over TLS as admin (tiny BERT), with its files."""
    folder = tmp_path_factory.mktemp("secure")
    paths = write_sample(folder)
    name = f"test-secure-{folder.name[-8:].lower().replace('_', '')}"
    result = run(["ingest", "--corpus", str(paths["corpus"]), "--index", name, "--encoder",
                  str(tiny_bert_path), "--device", "cpu", "--recreate"], secure_node.env())
    assert result.exit_code == 0, result.output
    yield {"index": name, **paths}
    secure_admin.indices.delete(index=name, ignore_unavailable=True)


def search_ids(args: list[str], env: dict[str, str]) -> list[str]:
    result = run(["search", *args, "--json", "--depth", "5", "river mountain city"], env)
    assert result.exit_code == 0, result.output
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


def test_search_evaluate_and_the_library_searcher_over_tls(
        secure_node: Any, secure_index: Any, tmp_path: Path) -> None:
    from xqg_os.search.knn import XQGSearcher

    env = secure_node.env()
    ids = search_ids(["--index", secure_index["index"]], env)
    assert len(ids) == 5
    searcher = XQGSearcher(make_client(secure_node.config()), secure_index["index"])
    assert [hit.id for hit in searcher.search("river mountain city", k=5)] == ids
    result = run(["evaluate", "--queries", str(secure_index["queries"]), "--qrels",
                  str(secure_index["qrels"]), "--index", secure_index["index"],
                  "--out", str(tmp_path / "eval")], env)
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.stdout and (tmp_path / "eval" / "evaluation.json").is_file()


def test_a_reader_searches_with_the_index_encoder_from_its_mapping(
        secure_node: Any, secure_index: Any, secure_users: Any) -> None:
    from xqg_os.search.knn import XQGSearcher

    reader = secure_users["reader"]
    env = secure_node.env(reader.user, reader.password)
    admin_ids = search_ids(["--index", secure_index["index"]], secure_node.env())
    assert search_ids(["--index", secure_index["index"]], env) == admin_ids
    client = make_client(secure_node.config(reader.user, reader.password))
    searcher = XQGSearcher(client, secure_index["index"])
    assert [hit.id for hit in searcher.search("river mountain city", k=5)] == admin_ids


def test_a_read_only_role_searches_with_an_explicit_encoder(
        secure_node: Any, secure_admin: Any, secure_index: Any, secure_users: Any,
        tiny_bert_path: Path) -> None:
    """The classic read-only role (read on indices, no admin API) may not read the mapping:
    the searcher says so in one line and searches with the encoder it is given."""
    from xqg_os.encode import load_encoder_from_description
    from xqg_os.search.knn import XQGSearcher

    readonly = secure_users["readonly"]
    env = secure_node.env(readonly.user, readonly.password)
    client = make_client(secure_node.config(readonly.user, readonly.password))
    with pytest.raises(PrivilegeError, match="pass the encoder explicitly") as caught:
        XQGSearcher(client, secure_index["index"])
    assert caught.value.privilege == "indices:admin/mappings/get"
    error = one_line_error(run(["search", "--index", secure_index["index"], "river"], env))
    assert "indices:admin/mappings/get" in error and "pass the --encoder explicitly" in error

    encoder = load_encoder_from_description(get_meta(secure_admin, secure_index["index"])
                                            ["encoder"])
    admin_ids = search_ids(["--index", secure_index["index"]], secure_node.env())
    searcher = XQGSearcher(client, secure_index["index"], encoder=encoder)
    assert [hit.id for hit in searcher.search("river mountain city", k=5)] == admin_ids
    assert search_ids(["--index", secure_index["index"], "--encoder", str(tiny_bert_path)],
                      env) == admin_ids


def test_a_write_without_the_privilege_is_one_line_naming_it(
        secure_node: Any, secure_index: Any, secure_users: Any, tiny_bert_path: Path) -> None:
    reader = secure_users["reader"]
    env = secure_node.env(reader.user, reader.password)
    error = one_line_error(run(["index", "create", "--index", "xqg-test-denied", "--dim", "8"],
                               env))
    assert f"user '{reader.user}' lacks the privilege indices:admin/create" in error
    # ingest stops at its first write into the existing index (_meta, settings or documents)
    error = one_line_error(run(["ingest", "--corpus", str(secure_index["corpus"]), "--index",
                                secure_index["index"], "--encoder", str(tiny_bert_path),
                                "--device", "cpu"], env))
    assert re.search(rf"user '{reader.user}' lacks the privilege indices:(admin/mapping/put|"
                     r"admin/settings/update|data/write/\w+);", error), error
    client = make_client(secure_node.config(reader.user, reader.password))
    from opensearchpy import exceptions

    from xqg_os.opensearch.failures import explain

    with pytest.raises(exceptions.AuthorizationException) as caught:
        client.index(index=secure_index["index"], body={"text": "x"}, id="denied")
    explained = explain(caught.value, secure_node.config(reader.user, reader.password))
    assert isinstance(explained, PrivilegeError)
    assert explained.privilege.startswith("indices:data/write/")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA that did not sign the node's certificate."""
    folder = tmp_path_factory.mktemp("other-ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=another CA", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "ca.pem")], check=True, capture_output=True)
    return str(folder / "ca.pem")


MISTAKES = {  # name -> (changes to the admin's environment, what the one line says)
    "wrong password": ({"XQG_OPENSEARCH_PASSWORD": "not-the-password"},
                       "refused the credentials for '{user}' (401); check --user and --password"),
    "no credentials": ({"XQG_OPENSEARCH_USER": None, "XQG_OPENSEARCH_PASSWORD": None},
                       "needs credentials (401): give --user and --password"),
    "wrong CA": ({"XQG_OPENSEARCH_CA_CERTS": "{other_ca}"},
                 "is not signed by the CA in {other_ca} ([SSL: CERTIFICATE_VERIFY_FAILED]"),
    "no CA": ({"XQG_OPENSEARCH_CA_CERTS": None},
              "is not signed by a CA of the system trust store"),
    "missing CA file": ({"XQG_OPENSEARCH_CA_CERTS": "/nonexistent/ca.pem"},
                        "the CA file '/nonexistent/ca.pem' does not exist; give the file that "
                        "signed the cluster's certificate as --ca-certs"),
    "http to the TLS port": ({"XQG_OPENSEARCH_URL": "{http_url}"},
                             "closed the connection without an HTTP answer; is it a TLS port? "
                             "use https://"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_tls_and_credential_mistakes_are_one_line_with_the_right_hint(
        secure_node: Any, secure_index: Any, other_ca: str, mistake: str) -> None:
    changes, expected = MISTAKES[mistake]
    values = {"other_ca": other_ca, "http_url": secure_node.url.replace("https:", "http:"),
              "user": secure_node.user}
    env = {**secure_node.env(), **{k: v.format(**values) if v else v
                                   for k, v in changes.items()}}
    error = one_line_error(run(["index", "info", secure_index["index"]], env))
    assert expected.format(**values) in error
    assert "start the local node" not in error
