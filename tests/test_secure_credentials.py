"""Credentials hygiene on the secured node: a password given inside ``--url`` works and shows
nowhere. A secured ingest, search, evaluate and failing runs are made as real processes; then
their outputs, every file they wrote (summary, saved vectors, runs, reports), the index's
mapping and ``_meta`` and the node's logs are searched for the password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.test_secure import write_sample
from xqg_os.errors import ClusterError
from xqg_os.opensearch.client import ClientConfig, make_client

pytestmark = [pytest.mark.integration, pytest.mark.secure]


def xqg_os(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``xqg-os ARGS`` as its own process, with nothing about the cluster in its environment
    but what ``env`` adds."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("XQG_OPENSEARCH_")}
    return subprocess.run([sys.executable, "-m", "xqg_os.cli", *args], capture_output=True,
                          text=True, env={**base, **env}, timeout=600, check=False)


def test_a_password_in_the_url_is_used_and_never_shown(
        secure_node: Any, secure_admin: Any, tiny_bert_path: Path, tmp_path: Path) -> None:
    secret = secure_node.password
    assert len(secret) >= 8  # long enough that finding it by chance is impossible
    forms = {secret, quote(secret, safe="")}
    host = secure_node.url.split("://", 1)[1]
    url = f"https://{quote(secure_node.user, safe='')}:{quote(secret, safe='')}@{host}"
    ca = ["--ca-certs", secure_node.ca_certs]
    paths = write_sample(tmp_path, count=24)
    index = f"test-creds-{tmp_path.name[-8:].lower().replace('_', '')}"
    password_file = tmp_path / "password"
    password_file.write_text(secret + "\n", encoding="utf-8")
    password_file.chmod(0o600)

    runs = {
        "ingest": xqg_os(["ingest", "--corpus", str(paths["corpus"]), "--index", index,
                          "--encoder", str(tiny_bert_path), "--device", "cpu", "--recreate",
                          "--save-vectors", str(tmp_path / "vectors"), "--summary-json",
                          str(tmp_path / "summary.json"), "--url", url, *ca], {}),
        "search": xqg_os(["search", "--index", index, "--json", "--url", url, *ca,
                          "river mountain"], {}),
        "evaluate": xqg_os(["evaluate", "--queries", str(paths["queries"]), "--qrels",
                            str(paths["qrels"]), "--index", index, "--out",
                            str(tmp_path / "eval"), "--url", url, *ca], {}),
        "info": xqg_os(["index", "info", index, "--password-file", str(password_file), *ca],
                       {"XQG_OPENSEARCH_URL": secure_node.url,
                        "XQG_OPENSEARCH_USER": secure_node.user}),
        "wrong CA": xqg_os(["index", "info", index, "--url", url, "--ca-certs",
                            str(tiny_bert_path / "config.json")], {}),
        "http to TLS": xqg_os(["index", "info", index, "--url",
                               url.replace("https://", "http://")], {}),
        "no node": xqg_os(["index", "info", index, "--url",
                           url.rsplit(":", 1)[0] + ":1", *ca], {}),
    }
    try:
        for name in ("ingest", "search", "evaluate", "info"):
            assert runs[name].returncode == 0, (name, runs[name].stderr[-2000:])
        assert len(runs["search"].stdout.splitlines()) == 10
        for name in ("wrong CA", "http to TLS", "no node"):
            assert runs[name].returncode == 1
            assert runs[name].stderr.strip().splitlines()[-1].startswith("error: "), name
            assert "Traceback" not in runs[name].stderr
        assert "visible to every local user" in runs["ingest"].stderr

        # the library: the config's repr and a failure's message
        config = ClientConfig(url=url.rsplit(":", 1)[0] + ":1", ca_certs=secure_node.ca_certs)
        with pytest.raises(ClusterError) as caught:
            make_client(config)
        texts = {"repr": repr(config), "exception": str(caught.value)}

        texts |= {f"{name} {stream}": getattr(result, stream) for name, result in runs.items()
                  for stream in ("stdout", "stderr")}
        mapping = secure_admin.indices.get_mapping(index=index)
        texts["mapping and _meta"] = json.dumps(mapping)
        files = [p for p in tmp_path.rglob("*") if p.is_file() and p != password_file]
        if secure_node.folder is not None:
            files += [p for p in (secure_node.folder / "logs").rglob("*") if p.is_file()]
        assert len(files) > 5  # summary, vectors, runs, reports ... were written
        assert (tmp_path / "summary.json").is_file() and (tmp_path / "vectors").is_dir()
        blobs = {str(p): p.read_bytes() for p in files}
        leaks = [where for where, text in texts.items() if any(f in text for f in forms)]
        leaks += [where for where, blob in blobs.items()
                  if any(f.encode() in blob for f in forms)]
        assert leaks == []
        # the check can find it: the password file holds it
        assert any(f.encode() in password_file.read_bytes() for f in forms)
    finally:
        secure_admin.indices.delete(index=index, ignore_unavailable=True)
