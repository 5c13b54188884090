"""The vector folder: written batch by batch, resumed, recovered after a crash, read back, and
searched exactly; the old raw .f32 layout is refused with one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xqg_os.data.evalfiles import Query
from xqg_os.data.vectors import VectorFolderWriter, read_vector_folder
from xqg_os.errors import InputError
from xqg_os.search.base import Searcher, VectorSearcher
from xqg_os.search.exact import ExactSearcher
from xqg_os.search.runs import RunSearcher, hits_to_run, retrieve

FIELDS = ("passage_vector", "xqg_vector")
META = {"encoder": {"model": "m"}, "dimension": 3}


def _docs(ids: list[str], offset: float = 0.0) -> list[dict[str, object]]:
    return [{"passage_id": pid, "title": f"T{pid}", "text": f"text of {pid}", "lang": "en",
             "passage_vector": [float(i) + offset, 1.0, 0.0],
             "xqg_vector": [0.0, float(i) + offset, 1.0]}
            for i, pid in enumerate(ids, start=1)]


def _writer(folder: Path, meta: dict[str, object] = META, space: str = "innerproduct"
            ) -> VectorFolderWriter:
    return VectorFolderWriter(folder, meta, 3, FIELDS, space, "idx")


def test_round_trip_and_plain_npy(tmp_path: Path) -> None:
    writer = _writer(tmp_path, space="cosinesimil")
    writer.add(_docs(["a", "b"]))
    writer.add(_docs(["c"], offset=10))
    saved = read_vector_folder(tmp_path)
    assert saved.ids == ["a", "b", "c"] and saved.index == "idx"
    assert saved.space_type == "cosinesimil" and saved.meta == META
    np.testing.assert_array_equal(saved.vectors["xqg_vector"],
                                  [[0, 1, 1], [0, 2, 1], [0, 11, 1]])
    assert saved.texts["b"] == {"title": "Tb", "text": "text of b", "lang": "en"}
    np.testing.assert_array_equal(np.load(tmp_path / "passage_vector.npy"),  # a plain .npy
                                  saved.vectors["passage_vector"])
    only = read_vector_folder(tmp_path, ["xqg_vector"])
    assert list(only.vectors) == ["xqg_vector"]
    with pytest.raises(InputError, match="no vectors for field"):
        read_vector_folder(tmp_path, ["body"])


def test_resume_appends_and_other_settings_start_over(tmp_path: Path) -> None:
    _writer(tmp_path).add(_docs(["a", "b"]))
    again = _writer(tmp_path)  # a resumed ingest: same settings
    again.add(_docs(["b", "c"], offset=5))  # b exported twice: the last row wins
    saved = read_vector_folder(tmp_path)
    assert saved.ids == ["a", "b", "c"]
    np.testing.assert_array_equal(saved.vectors["passage_vector"][:, 0], [1, 6, 7])
    _writer(tmp_path, {**META, "alpha": 0.5}).add(_docs(["z"]))
    assert read_vector_folder(tmp_path).ids == ["z"]


def test_uncommitted_rows_are_ignored_and_cut(tmp_path: Path) -> None:
    _writer(tmp_path).add(_docs(["a", "b"]))
    # a crash after the vectors and texts of c were written, with half of its id line
    with open(tmp_path / "xqg_vector.npy", "ab") as handle:
        handle.write(np.ones(3, dtype="<f4").tobytes())
    with open(tmp_path / "texts.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "c", "title": "", "text": "t", "lang": "en"}) + "\n")
    with open(tmp_path / "ids.jsonl", "ab") as handle:
        handle.write(b'"c')
    assert read_vector_folder(tmp_path).ids == ["a", "b"]  # a reader cuts nothing
    _writer(tmp_path).add(_docs(["d"], offset=20))
    saved = read_vector_folder(tmp_path)
    assert saved.ids == ["a", "b", "d"]
    np.testing.assert_array_equal(saved.vectors["xqg_vector"][2], [0, 21, 1])
    assert saved.texts["d"]["text"] == "text of d"
    assert np.load(tmp_path / "xqg_vector.npy").shape == (3, 3)
    lines = (tmp_path / "ids.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == ["a", "b", "d"]


def test_old_f32_layout_and_missing_folder_are_one_line_errors(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "ids.txt").write_text("a\n", encoding="utf-8")
    (old / "xqg_vector.f32").write_bytes(np.zeros(3, np.float32).tobytes())
    (old / "meta.json").write_text(json.dumps(META), encoding="utf-8")
    with pytest.raises(InputError, match="old raw .f32 layout.*re-export") as info:
        read_vector_folder(old)
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="holds no saved vectors"):
        read_vector_folder(tmp_path / "nothing")
    _writer(old).add(_docs(["a"]))  # writing over an old folder replaces it
    assert read_vector_folder(old).ids == ["a"] and not (old / "ids.txt").exists()


def test_exact_searcher_over_a_folder_and_a_run_searcher(tmp_path: Path) -> None:
    _writer(tmp_path).add(_docs(["a", "b", "c"]))
    saved = read_vector_folder(tmp_path)
    exact = ExactSearcher(saved.ids, saved.vectors["xqg_vector"], saved.space_type,
                          passages=saved.texts, index=saved.index)
    assert isinstance(exact, VectorSearcher) and exact.encoder is None
    hits = exact.search_vectors(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), k=2)
    assert [[h.id for h in row] for row in hits] == [["c", "b"], ["a", "b"]]  # tie: row order
    assert hits[0][0].rank == 1 and hits[0][0].score == 3.0 and hits[0][0].text == "text of c"
    with pytest.raises(InputError, match="no encoder"):
        exact.search_queries([Query("q1", "text", "en")], 2)
    with pytest.raises(InputError, match="2-d"):
        exact.search_vectors(np.zeros((1, 2)), 2)
    with pytest.raises(InputError, match="space_type"):
        ExactSearcher(saved.ids, saved.vectors["xqg_vector"], "hamming")

    queries = [Query("q1", "x", "en"), Query("q2", "y", "en"), Query("q3", "z", "en")]
    run = hits_to_run([q.id for q in queries[:2]], hits)
    served = RunSearcher(run, {"a": "text of a"})
    assert isinstance(served, Searcher) and not isinstance(served, VectorSearcher)
    back = served.search_queries(queries, 1)
    assert [[(h.id, h.score, h.rank) for h in row] for row in back] == [
        [("c", 3.0, 1)], [("b", 1.0, 1)], []]  # ties in a run: trec_eval order (id descending)
    retrieved = retrieve({"run": served}, queries, 5)
    assert retrieved.runs["run"] == run and retrieved.texts == {"a": "text of a"}
