"""Unit tests of the checks that make silent mistakes loud (issue 12): the ``_meta`` of an index
without generated queries and its compatibility, a query store checked against the run, an
empty vector folder, judged documents the searched collection lacks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xqg_os.data.vectors import VectorFolderWriter, read_vector_folder
from xqg_os.errors import InputError
from xqg_os.evaluate.coverage import absent_warning, relevant_judged
from xqg_os.generate.base import GeneratedQueries
from xqg_os.generate.store import MANIFEST, QueryStore
from xqg_os.ingest.config import IngestConfig, build_meta, check_compatible
from xqg_os.ingest.sources import check_store, store_source
from xqg_os.search.exact import ExactSearcher
from xqg_os.search.systems import distinct_fields, judged_absent_warnings

CONFIG = IngestConfig(corpus="c.jsonl", index="idx", languages=("ja", "ru"), n=2, alpha=0.1)


def test_meta_records_only_what_the_run_used() -> None:
    mixed = build_meta(CONFIG, {"name": "enc"}, 8, {"generator": {"name": "g"}})
    assert (mixed["languages"], mixed["n"], mixed["alpha"]) == (["ja", "ru"], 2, 0.1)
    bare, notice = CONFIG.without_queries()
    assert notice is not None and "replaced by 'none'" in notice
    meta = build_meta(bare, {"name": "enc"}, 8, None)
    assert meta["formula"] == "none" and meta["generator"] == {}
    assert meta["languages"] is None and meta["n"] is None and meta["alpha"] is None


def test_two_unmixed_indexes_are_compatible_whatever_their_mix_keys() -> None:
    bare = build_meta(CONFIG.without_queries()[0], {"name": "enc"}, 8, None)
    older = {**bare, "languages": ["ja"], "n": 5, "alpha": 0.01}  # written before they were null
    check_compatible(older, bare, "idx")
    mixed = build_meta(CONFIG, {"name": "enc"}, 8, {"generator": {}})
    with pytest.raises(InputError, match="formula: index has 'none', this run 'sum'"):
        check_compatible(bare, mixed, "idx")
    with pytest.raises(InputError, match="alpha: index has 0.5, this run 0.1"):
        check_compatible({**mixed, "alpha": 0.5}, mixed, "idx")


def _store(tmp_path: Path, languages: tuple[str, ...], close: bool = True) -> QueryStore:
    store = QueryStore.create(tmp_path / "store", {"name": "unit"}, 2)
    writer = store.writer()
    writer.append([GeneratedQueries(id="p1", lang=lang, queries=("a", "b"))
                   for lang in languages])
    if close:
        writer.close()
    return store


def test_a_store_is_checked_against_languages_and_n(tmp_path: Path) -> None:
    store = _store(tmp_path, ("ja", "ru"))
    check_store(store, ["ja", "ru"], 2)
    with pytest.raises(InputError, match=r"has no queries in bn, fi \(asked for by languages\); "
                                         "it has ja, ru$") as info:
        check_store(store, ["ja", "bn", "fi"], 1)
    assert info.value.params == ("languages",)
    with pytest.raises(InputError, match="holds 2 queries per language; n 3 asks for more"):
        store_source(store.path, ["ja"], 3)


def test_languages_of_a_store_whose_writer_was_killed_are_found_in_its_records(
        tmp_path: Path) -> None:
    store = _store(tmp_path, ("ja", "te"), close=False)  # the manifest was never updated
    assert json.loads((store.path / MANIFEST).read_text(encoding="utf-8"))["languages"] == []
    check_store(store, ["te"], 2)
    with pytest.raises(InputError, match="no queries in ko .*it has ja, te"):
        check_store(store, ["ko", "te"], 2)


def test_an_empty_vector_folder_is_refused_and_ids_are_tracked(tmp_path: Path) -> None:
    writer = VectorFolderWriter(tmp_path, {"formula": "sum"}, 2, ["xqg_vector"])
    with pytest.raises(InputError, match=r"holds no saved vectors \(0 rows\)"):
        read_vector_folder(tmp_path)
    writer.add([{"passage_id": "a", "text": "t", "xqg_vector": [1.0, 0.0]}])
    assert writer.ids == {"a"}
    assert VectorFolderWriter(tmp_path, {"formula": "sum"}, 2, ["xqg_vector"]).ids == {"a"}
    assert read_vector_folder(tmp_path).ids == ["a"]


def test_judged_documents_the_collection_lacks_are_counted() -> None:
    qrels = {"q1": {"d1": 1, "d2": 0, "x9": 2}, "q2": {"d1": 1, "x8": 1}, "q3": {"d3": 1}}
    assert relevant_judged(qrels, ["q1", "q2"]) == ["d1", "x9", "x8"]
    assert absent_warning("index 'i'", ["d1"], {"d1"}) is None
    assert absent_warning("index 'i'", ["x1", "x2"], set()) == (
        "index 'i' holds none of the 2 relevant judged documents (2 absent, e.g. 'x1'): no "
        "system searching it can retrieve them, so its qrels metrics are bounded by what it "
        "holds; do the qrels name the documents of this corpus/index?")
    matrix = np.eye(3, dtype=np.float32)
    systems = {"a:passage_vector": ExactSearcher(["d1", "d2", "d3"], matrix, index="a"),
               "a:xqg_vector": ExactSearcher(["d1", "d2", "d3"], matrix, index="a")}
    warnings = judged_absent_warnings(systems, qrels, ["q1", "q2", "q3"])
    assert len(warnings) == 1  # one line per collection, not per system
    assert warnings[0].startswith("vector folder of a holds only 2 of the 4 relevant judged "
                                  "documents (2 absent, e.g. 'x9')")
    assert judged_absent_warnings(systems, qrels, ["q3"]) == []


def test_an_unmixed_xqg_vector_is_searched_once() -> None:
    both = ["passage_vector", "xqg_vector"]
    notices: list[str] = []
    assert distinct_fields({"formula": "none"}, both, "idx", notices) == ["passage_vector"]
    assert notices == ["idx: xqg_vector equals passage_vector (its _meta records formula none), "
                       "so it is evaluated once, as idx:passage_vector"]
    assert distinct_fields({"formula": "sum"}, both, "idx", notices) == both
    assert distinct_fields({"formula": "none"}, ["xqg_vector"], "idx") == ["xqg_vector"]
    assert len(notices) == 1
