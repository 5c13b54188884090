"""Integration: what an ingest used to get silently wrong is loud (issue 12) — languages the query
store lacks, an index left behind by a failed run, a partial vector export, and the ``_meta`` and
evaluation of an index built without generated queries."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_ingest import LANGS, WORDS, _all_docs, _args, _corpus
from xqg_os.cli import main
from xqg_os.data.vectors import read_vector_folder
from xqg_os.errors import InputError
from xqg_os.generate.base import GeneratedQueries
from xqg_os.generate.store import QueryStore

pytestmark = pytest.mark.integration


def _store(out: Path, count: int, languages: dict[str, int]) -> Path:
    """A store (n=2) holding, per language, queries for the first ``languages[lang]`` ids."""
    store = QueryStore.create(out, {"name": "loud-fixture", "kind": "precomputed"}, 2)
    with store.writer() as writer:
        writer.append([GeneratedQueries(id=f"p{i}", lang=lang,
                                        queries=(f"{lang} q0 {WORDS[i % 12]}", f"{lang} q1"))
                       for lang, upto in languages.items() for i in range(min(count, upto))])
    return out


def _meta(client: Any, index: str) -> dict[str, Any]:
    return dict(client.indices.get_mapping(index=index)[index]["mappings"]["_meta"])


def test_languages_the_store_lacks_are_refused_before_anything_is_created(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 10)
    store = _store(tmp_path / "queries", 10, {"ja": 10, "ru": 6})
    args = _args(corpus, store, index_name, os_url, tiny_bert_path)
    at = args.index("--languages")
    result = CliRunner().invoke(main, [*args[:at + 1], "ja,bn,fi", *args[at + 2:]])
    assert result.exit_code == 1
    assert "has no queries in bn, fi (asked for by --languages); it has ja, ru" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not os_client.indices.exists(index=index_name)

    result = CliRunner().invoke(main, [*args[:args.index("--n") + 1], "3",
                                       *args[args.index("--n") + 2:]])
    assert result.exit_code == 1 and "holds 2 queries per language; --n 3" in result.output
    assert not os_client.indices.exists(index=index_name)

    # some passages lack ru: written, and counted per language
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "10 written" in result.output
    assert ("warning: passages mixed without queries in a requested language (the query store "
            "has none for them): ru 4") in result.stderr
    assert _meta(os_client, index_name)["languages"] == LANGS


def test_a_failed_run_removes_the_empty_index_it_created(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    from xqg_os.encode import EncoderConfig, load_encoder
    from xqg_os.ingest.config import IngestConfig
    from xqg_os.ingest.pipeline import ingest
    from xqg_os.ingest.sources import ChosenSource
    from xqg_os.opensearch.client import ClientConfig, make_client

    corpus = _corpus(tmp_path / "corpus.jsonl", 6)
    encoder = load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))
    client = make_client(ClientConfig(url=os_url))
    config = IngestConfig(corpus=str(corpus), index=index_name, languages=("ja",), n=1)

    def failing(batch: list[Any]) -> dict[str, dict[str, list[str]]]:
        raise InputError("the generator failed on the first batch")

    with pytest.raises(InputError, match=f"first batch \\(the empty index '{index_name}' this "
                                         "run created was removed\\)"):
        ingest(client, config, encoder, ChosenSource(failing, {"generator": {"name": "x"}}))
    assert not os_client.indices.exists(index=index_name)

    # the corrected rerun is not refused
    working = ChosenSource(lambda batch: {}, {"generator": {"name": "x"}})
    assert ingest(client, config, encoder, working).written == 6
    # an index that holds documents stays when a later run fails
    more = replace(config, corpus=str(_corpus(tmp_path / "more.jsonl", 8)))
    with pytest.raises(InputError, match="first batch$"):
        ingest(client, more, encoder, ChosenSource(failing, {"generator": {"name": "x"}}))
    assert os_client.count(index=index_name)["count"] == 6


def test_saved_vectors_hold_the_whole_index(tmp_path: Path, os_client: Any, os_url: str,
                                            index_name: str, tiny_bert_path: Path) -> None:
    runner = CliRunner()
    corpus = _corpus(tmp_path / "corpus.jsonl", 12)
    store = _store(tmp_path / "queries", 12, {"ja": 12, "ru": 12})
    assert runner.invoke(main, _args(corpus, store, index_name, os_url,
                                     tiny_bert_path)).exit_code == 0
    # a rerun on the complete index, over half the corpus, into a new folder: the folder gets
    # the documents of this corpus (read back per batch) and the rest of the index (at the end)
    half = tmp_path / "half.jsonl"
    half.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(True)[:6]),
                    encoding="utf-8")
    folder = tmp_path / "vectors"
    args = _args(half, store, index_name, os_url, tiny_bert_path, "--batch-size", "4",
                 "--save-vectors", str(folder))
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "0 written, 6 already indexed" in result.output
    assert f"saved vectors in {folder}, 12 of them read back from the index" in result.output
    saved = read_vector_folder(folder)
    assert sorted(saved.ids) == sorted(f"p{i}" for i in range(12))
    docs = {hit["_id"]: hit["_source"] for hit in _all_docs(os_client, index_name)}
    for row, pid in enumerate(saved.ids):
        np.testing.assert_allclose(saved.vectors["xqg_vector"][row], docs[pid]["xqg_vector"],
                                   rtol=1e-6)
    assert saved.texts["p3"]["text"] == docs["p3"]["text"]
    # the folder's own resume is exact: nothing is exported twice
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "0 of them read back" in again.output
    lines = (folder / "ids.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines)) == 12

    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "q1", "text": "river mountain", "lang": "en"}) + "\n",
                       encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 p1 1\nq1 0 elsewhere-7 1\n", encoding="utf-8")
    base = ["evaluate", "--queries", str(queries), "--qrels", str(qrels), "--metrics",
            "nDCG@10", "--recall-sample", "0"]
    result = runner.invoke(main, [*base, "--vectors", str(folder)])
    assert result.exit_code == 0, result.output
    assert "note: --vectors is searched exactly, as with --exact (no k-NN)" in result.stderr
    assert (f"warning: vector folder of {index_name} holds only 1 of the 2 relevant judged "
            "documents (1 absent, e.g. 'elsewhere-7')") in result.stderr
    result = runner.invoke(main, [*base, "--index", index_name, "--url", os_url])
    assert result.exit_code == 0, result.output
    assert (f"warning: index '{index_name}' holds only 1 of the 2 relevant judged documents"
            in result.stderr)


def test_an_index_without_queries_records_no_mix_and_is_evaluated_once(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str,
        tiny_bert_path: Path) -> None:
    runner = CliRunner()
    corpus = _corpus(tmp_path / "corpus.jsonl", 5)
    result = runner.invoke(main, _args(corpus, None, index_name, os_url, tiny_bert_path))
    assert result.exit_code == 0, result.output
    meta = _meta(os_client, index_name)
    assert meta["formula"] == "none" and meta["generator"] == {}
    assert meta["languages"] is None and meta["n"] is None and meta["alpha"] is None
    # a rerun with other mix parameters is the same baseline: resumed, not refused
    result = runner.invoke(main, [*_args(corpus, None, index_name, os_url, tiny_bert_path),
                                  "--alpha", "0.5"])
    assert result.exit_code == 0 and "5 already indexed" in result.output

    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "q1", "text": "river", "lang": "en"}) + "\n",
                       encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 p1 1\n", encoding="utf-8")
    result = runner.invoke(main, ["evaluate", "--queries", str(queries), "--qrels", str(qrels),
                                  "--metrics", "nDCG@10", "--index", index_name, "--url", os_url,
                                  "--recall-sample", "0"])
    assert result.exit_code == 0, result.output
    assert (f"note: {index_name}: xqg_vector equals passage_vector (its _meta records formula "
            f"none), so it is evaluated once, as {index_name}:passage_vector") in result.stderr
    assert f"{index_name}:passage_vector" in result.stdout
    assert f"{index_name}:xqg_vector" not in result.stdout
