"""Integration: xQG vectors added to an application's existing index (``ingest
--into-existing``): partial updates by id, the application's fields and ``_meta`` kept, the
searcher reading the side record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.errors import InputError
from xqg_os.ingest.config import IngestConfig

pytestmark = pytest.mark.integration

WORDS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest"]
DOCS = 20
APP_MAPPING = {"dynamic": "strict", "_meta": {"app": "shop", "schema": 3},
               "properties": {"name": {"type": "text"}, "price": {"type": "integer"}}}


def _app_doc(i: int) -> dict[str, Any]:
    return {"name": f"Product {i} for {WORDS[i % len(WORDS)]}", "price": 10 + i}


@pytest.fixture
def app_index(os_client: Any) -> Iterator[str]:
    """An application's index (index.knn on, its own strict mapping and _meta) with DOCS + 1
    documents: d0..d19 and d99, which the corpus lacks."""
    name = f"test-app-{uuid.uuid4().hex[:8]}"
    os_client.indices.create(index=name, body={"settings": {"index": {"knn": True}},
                                               "mappings": APP_MAPPING})
    for i in [*range(DOCS), 99]:
        os_client.index(index=name, id=f"d{i}", body=_app_doc(i))
    os_client.indices.refresh(index=name)
    yield name
    os_client.indices.delete(index=name, ignore_unavailable=True)


def _corpus(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(DOCS):
            words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(4))
            handle.write(json.dumps({"id": f"d{i}", "title": f"Product {i}",
                                     "text": f"Product {i} about {words}."}) + "\n")
        handle.write(json.dumps({"id": "nowhere", "text": "not in the application"}) + "\n")
    return path


def test_into_existing_adds_vectors_keeps_the_app_and_resumes(
        os_client: Any, os_url: str, app_index: str, tmp_path: Path,
        tiny_bert_path: Path) -> None:
    from xqg_os.search.knn import XQGSearcher

    corpus = _corpus(tmp_path / "corpus.jsonl")
    args = ["ingest", "--corpus", str(corpus), "--index", app_index, "--into-existing",
            "--url", os_url, "--encoder", str(tiny_bert_path), "--device", "cpu",
            "--vector-fields", "xqg", "--batch-size", "8"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output  # one passage has no document: reported
    assert f"ingested into {app_index}: {DOCS} written, 0 already indexed" in result.output
    assert "failed: nowhere: document_missing_exception" in result.output
    assert not os_client.exists(index=app_index, id="nowhere")  # never created

    os_client.indices.refresh(index=app_index)
    doc = os_client.get(index=app_index, id="d3")["_source"]
    assert {k: doc[k] for k in ("name", "price")} == _app_doc(3)  # the app's fields stay
    assert len(doc["xqg_vector"]) == 32 and "passage_vector" not in doc
    untouched = os_client.get(index=app_index, id="d99")["_source"]
    assert untouched == _app_doc(99)
    mapping = os_client.indices.get_mapping(index=app_index)[app_index]["mappings"]
    assert mapping["dynamic"] == "strict" and mapping["properties"]["price"]["type"] == "integer"
    meta = mapping["_meta"]
    assert (meta["app"], meta["schema"]) == ("shop", 3)  # merged with, not replaced
    assert meta["xqg"]["encoder"] and meta["xqg"]["index"]["vector_fields"] == ["xqg_vector"]

    searcher = XQGSearcher(os_client, app_index)
    hits = searcher.search("Product 3 about music", k=5)
    assert len(hits) == 5 and all(h.id.startswith("d") and h.id != "d99" for h in hits)
    assert all(h.text == "" and h.lang == "" for h in hits)  # no such fields in the app's docs

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2, again.output
    assert f"0 written, {DOCS} already indexed" in again.output


def _config(index: str, corpus: Path) -> IngestConfig:
    return IngestConfig(corpus=str(corpus), index=index, languages=("ja",),
                        vector_fields="xqg")


def test_into_existing_refuses_what_it_cannot_do(os_client: Any, app_index: str,
                                                 tmp_path: Path, tiny_bert_path: Path) -> None:
    from xqg_os.encode import EncoderConfig, load_encoder
    from xqg_os.ingest.existing import ingest_into_existing

    encoder = load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))
    corpus = _corpus(tmp_path / "corpus.jsonl")
    plain = f"{app_index}-plain"  # deleted with the fixture's pattern below
    os_client.indices.create(index=plain, body={"mappings": APP_MAPPING})
    try:
        with pytest.raises(InputError, match=r"without index\.knn: true"):
            ingest_into_existing(os_client, _config(plain, corpus), encoder)
    finally:
        os_client.indices.delete(index=plain)

    os_client.indices.put_mapping(index=app_index, body={"properties": {
        "xqg_vector": {"type": "keyword"}}})
    with pytest.raises(InputError, match="maps xqg_vector as keyword, xQG needs knn_vector"):
        ingest_into_existing(os_client, _config(app_index, corpus), encoder)
    with pytest.raises(InputError, match="does not exist"):
        ingest_into_existing(os_client, _config(f"{app_index}-none", corpus), encoder)
    assert "xqg" not in os_client.indices.get_mapping(index=app_index)[app_index]["mappings"][
        "_meta"]  # nothing recorded by the refused runs
