"""The application's index as its own corpus (``ingest --into-existing --text-fields``): the
vectors equal those made from an exported corpus file with the same texts, the application's
fields stay, a rerun writes nothing and picks up a document added since, and what cannot be
done is refused in one line."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from tests.bad_inputs import message_lines
from xqg_os.cli import main
from xqg_os.data.corpus import Passage, passage_input
from xqg_os.errors import InputError
from xqg_os.ingest.indexsource import check_same_passages, passage_of, passages_record
from xqg_os.testing.tiny_bert import TINY_TEXTS

DOCS = 11
APP_MAPPING = {"dynamic": "strict", "_meta": {"app": "news"},
               "properties": {"headline": {"type": "text"}, "body": {"type": "text"},
                              "section": {"type": "keyword"}, "year": {"type": "integer"}}}


def _article(i: int) -> dict[str, Any]:
    """Article ``i``: sentences the tiny encoder's vocabulary knows, so that texts differ."""
    return {"headline": " ".join(TINY_TEXTS[i % 7].split()[:4]), "body": TINY_TEXTS[7 + i],
            "section": ["world", "local"][i % 2], "year": 2000 + i}


def test_a_document_becomes_the_passage_a_corpus_line_would() -> None:
    doc = {"headline": "Berlin Wall", "body": ["It fell", "in 1989."], "meta": {"kw": "wall"}}
    passage = passage_of("a1", doc, ["headline", "body", "meta.kw"])
    assert passage == Passage(id="a1", title="Berlin Wall", text="It fell in 1989. wall")
    assert passage_input(passage) == "Berlin Wall It fell in 1989. wall"
    assert passage_of("a2", doc, ["body"]) == Passage(id="a2", text="It fell in 1989.")
    assert passage_of("a3", {"body": "x"}, ["headline", "body"]) == Passage(id="a3", text="x")
    assert passage_of("a4", {"section": "y"}, ["headline", "body"]).is_empty


def test_a_rerun_from_another_source_is_refused() -> None:
    fields = passages_record(["headline", "body"])
    check_same_passages({"passages": fields}, passages_record(["headline", "body"]), "app")
    check_same_passages({}, passages_record([]), "app")  # a record from before the key
    with pytest.raises(InputError, match="made from the index's fields headline, body, this "
                                         "run reads a corpus file"):
        check_same_passages({"passages": fields}, passages_record([]), "app")
    with pytest.raises(InputError, match="made from a corpus file"):
        check_same_passages({}, fields, "app")
    with pytest.raises(InputError, match="this run reads the index's fields body, headline"):
        check_same_passages({"passages": fields}, passages_record(["body", "headline"]), "app")


def _app_index(client: Any, name: str, ids: range) -> None:
    client.indices.create(index=name, body={"settings": {"index": {"knn": True}},
                                            "mappings": APP_MAPPING})
    for i in ids:
        client.index(index=name, id=f"a{i}", body=_article(i))
    client.index(index=name, id="no-text", body={"section": "world", "year": 1999})
    client.indices.refresh(index=name)


@pytest.fixture
def indexes(os_client: Any) -> Iterator[tuple[str, str]]:
    """Two copies of the application's index: one read as its own corpus, one given the
    exported corpus file."""
    base = f"h10-test-fields-{uuid.uuid4().hex[:8]}"
    names = (f"{base}-own", f"{base}-file")
    for name in names:
        _app_index(os_client, name, range(DOCS))
    yield names
    for name in names:
        os_client.indices.delete(index=name, ignore_unavailable=True)


def _vectors(client: Any, index: str) -> dict[str, np.ndarray]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, body={"size": 100, "query": {"exists": {
        "field": "xqg_vector"}}})["hits"]["hits"]
    return {hit["_id"]: np.asarray(hit["_source"]["xqg_vector"], dtype=np.float32)
            for hit in hits}


def _ingest(os_url: str, encoder: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["ingest", "--url", os_url, "--encoder", str(encoder),
                                     "--device", "cpu", "--vector-fields", "xqg",
                                     "--batch-size", "4", *args])


def _one_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = message_lines(result.output, warnings=True)  # without progress bars
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.integration
def test_the_index_is_its_own_corpus(os_client: Any, os_url: str, indexes: tuple[str, str],
                                     tmp_path: Path, tiny_bert_path: Path) -> None:
    own, from_file = indexes
    fields = ["--into-existing", "--text-fields", "headline,body"]
    first = _ingest(os_url, tiny_bert_path, "--index", own, *fields)
    assert first.exit_code == 0, first.output
    assert f"ingested into {own}: {DOCS} written, 0 already indexed, 1 empty skipped" \
        in first.output
    assert "notice: 1 documents hold none of the text fields headline, body" in first.output

    corpus = tmp_path / "corpus.jsonl"  # what an application exported before
    corpus.write_text("".join(json.dumps({"id": f"a{i}", "title": _article(i)["headline"],
                                          "text": _article(i)["body"]}) + "\n"
                              for i in range(DOCS)), encoding="utf-8")
    exported = _ingest(os_url, tiny_bert_path, "--index", from_file, "--into-existing",
                       "--corpus", str(corpus))
    assert exported.exit_code == 0, exported.output
    mine, theirs = _vectors(os_client, own), _vectors(os_client, from_file)
    assert sorted(mine) == sorted(theirs) == sorted(f"a{i}" for i in range(DOCS))
    for pid, vector in mine.items():
        np.testing.assert_allclose(vector, theirs[pid], rtol=0, atol=1e-6)
    assert len({vector.tobytes() for vector in mine.values()}) == DOCS  # texts differ

    for i in range(DOCS):  # the application's fields as it wrote them
        source = os_client.get(index=own, id=f"a{i}")["_source"]
        assert {key: source[key] for key in APP_MAPPING["properties"]} == _article(i)
    meta = os_client.indices.get_mapping(index=own)[own]["mappings"]["_meta"]
    assert meta["app"] == "news"
    assert meta["xqg"]["passages"] == {"source": "index", "index_fields": ["headline", "body"]}
    assert os_client.indices.get_mapping(index=from_file)[from_file]["mappings"]["_meta"][
        "xqg"]["passages"] == {"source": "corpus"}

    again = _ingest(os_url, tiny_bert_path, "--index", own, *fields)
    assert again.exit_code == 0, again.output
    assert f"0 written, {DOCS} already indexed, 1 empty skipped" in again.output

    os_client.index(index=own, id="late", body=_article(DOCS), refresh=True)
    later = _ingest(os_url, tiny_bert_path, "--index", own, *fields)
    assert later.exit_code == 0, later.output
    assert f"1 written, {DOCS} already indexed, 1 empty skipped" in later.output
    late = _vectors(os_client, own)["late"]
    assert late.shape == (32,) and all(late.tobytes() != v.tobytes() for v in mine.values())

    switched = _one_line(_ingest(os_url, tiny_bert_path, "--index", own, "--into-existing",
                                 "--corpus", str(corpus)))
    assert "made from the index's fields headline, body, this run reads a --corpus file: " \
        "give the same --text-fields as before" in switched


@pytest.mark.integration
def test_what_cannot_be_read_is_refused_in_one_line(os_client: Any, os_url: str,
                                                    indexes: tuple[str, str],
                                                    tiny_bert_path: Path) -> None:
    own, _ = indexes

    def refused(*args: str) -> str:
        return _one_line(_ingest(os_url, tiny_bert_path, "--index", own, *args))

    assert f"index {own!r} maps no field 'title' (--text-fields)" in refused(
        "--into-existing", "--text-fields", "headline,title")
    assert f"field 'year' of index {own!r} is integer, not text or keyword" in refused(
        "--into-existing", "--text-fields", "year")
    assert "--text-fields reads the passages from the application's index: it goes with " \
           "--into-existing" in refused("--text-fields", "headline")
    assert "give --corpus (or, with --into-existing, the index's --text-fields)" in refused(
        "--into-existing")
    assert "--shard splits a corpus file by position" in refused(
        "--into-existing", "--text-fields", "body", "--shard", "0/2")
    mapping = os_client.indices.get_mapping(index=own)[own]["mappings"]
    assert "xqg_vector" not in mapping["properties"] and "xqg" not in mapping["_meta"]


@pytest.mark.integration
def test_a_document_added_during_the_run_is_reported_for_the_rerun(
        os_client: Any, indexes: tuple[str, str], tiny_bert_path: Path) -> None:
    """The application keeps writing while vectors are added: a document it adds mid-run is
    not silently missed, nor blamed on a failing node; the rerun writes it."""
    from xqg_os.encode import EncoderConfig, load_encoder
    from xqg_os.ingest.config import IngestConfig
    from xqg_os.ingest.existing import UNWRITTEN, ingest_into_existing

    own = indexes[0]
    encoder = load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))
    config = IngestConfig(corpus="", index=own, languages=(), batch_size=4,
                          vector_fields="xqg", text_fields=("headline", "body"))

    class AddsOneDocument:  # a progress bar, called after each batch
        def reset(self, total: int) -> None:
            self.added = False

        def update(self, count: int) -> None:
            if not self.added:
                # sorts before the reader's cursor (ids are read in _id order): this run
                # cannot see it
                os_client.index(index=own, id="a00", body=_article(DOCS), refresh=True)
                self.added = True

    summary = ingest_into_existing(os_client, config, encoder, progress=AddsOneDocument())
    assert summary.written == DOCS
    assert summary.failed == [("a00", UNWRITTEN)]
    rerun = ingest_into_existing(os_client, config, encoder)
    assert rerun.written == 1 and not rerun.failed
