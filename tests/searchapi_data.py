"""A small xQG index for the search API tests (sync and async): 60 passages in three languages,
ingested with the tiny BERT through ``xqg-os ingest`` into one shard (a k-NN query's ``k``
candidates are per shard: one makes them the index's). A test module takes it as a fixture with
``api_index = pytest.fixture(scope="module")(indexed)``."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from xqg_os.cli import main

TOPICS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest",
          "planet", "bridge", "castle", "garden", "island", "desert", "train", "winter"]
LANGS = ("en", "fr", "de")
PASSAGES = 60
QUERIES = ["river mountain city", "ocean forest planet", "castle garden island"]


def passage(i: int) -> dict[str, str]:
    """Passage ``i``: a title, a text of six topic words, a language."""
    words = " ".join(random.Random(i).sample(TOPICS, 6))
    return {"id": f"d{i}", "title": f"T{i}", "text": f"Code{i} {words} number {i}.",
            "lang": LANGS[i % len(LANGS)]}


def ingest_index(folder: Path, os_url: str, encoder: Path) -> str:
    """Ingest the passages into a new index; return its name."""
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(passage(i)) + "\n" for i in range(PASSAGES)),
                      encoding="utf-8")
    name = f"test-search-api-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(main, [
        "ingest", "--corpus", str(corpus), "--index", name, "--url", os_url,
        "--encoder", str(encoder), "--device", "cpu", "--shards", "1"])
    assert result.exit_code == 0, result.output
    return name


def indexed(tmp_path_factory: pytest.TempPathFactory, os_client: Any, os_url: str,
            tiny_bert_path: Path) -> Iterator[str]:
    """The name of a new index of the passages, deleted afterwards (a fixture's body)."""
    name = ingest_index(tmp_path_factory.mktemp("search-api"), os_url, tiny_bert_path)
    yield name
    os_client.indices.delete(index=name, ignore_unavailable=True)


REFUSED = ("no permissions for [indices:admin/mappings/get] and User [name=reader, "
           "backend_roles=[], requestedTenant=null]")


class ReadOnlyClient:
    """An ``OpenSearch`` (or ``AsyncOpenSearch``) stand-in for a role that may not read
    mappings: its mapping read is refused as the security plugin refuses it."""

    def __init__(self, asynchronous: bool = False) -> None:
        self.indices = self
        self.asynchronous = asynchronous

    def get_mapping(self, index: str) -> Any:
        from opensearchpy.exceptions import AuthorizationException

        refusal = AuthorizationException(403, "security_exception",
                                         {"error": {"root_cause": [{"reason": REFUSED}]}})

        async def refuse() -> None:
            raise refusal

        if self.asynchronous:
            return refuse()
        raise refusal


class ConstantEncoder:
    """A four-dimensional encoder of constant vectors."""

    dimension = 4

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 4), dtype=np.float32)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.encode_queries(texts)

    def describe(self) -> dict[str, Any]:
        return {"model": "constant", "dimension": 4}
