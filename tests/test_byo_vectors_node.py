"""Integration: ``xqg-os ingest --passage-vectors`` on the real node gives the index a normal
ingest gives, and refuses bad vectors before creating anything."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_ingest import _all_docs, _args, _corpus, _store
from xqg_os.cli import main
from xqg_os.data.vectors import read_vector_folder
from xqg_os.encode import identity

pytestmark = pytest.mark.integration

COUNT = 24


@pytest.fixture
def byo_index(os_client: Any) -> Iterator[str]:
    """A second fresh index name, deleted after the test."""
    name = f"test-byo-{uuid.uuid4().hex[:10]}"
    yield name
    os_client.indices.delete(index=name, ignore_unavailable=True)


def _docs(client: Any, index: str) -> dict[str, dict[str, Any]]:
    return {hit["_id"]: hit["_source"] for hit in _all_docs(client, index)}


def _meta(client: Any, index: str) -> dict[str, Any]:
    return dict(client.indices.get_mapping(index=index)[index]["mappings"]["_meta"])


def _ingest(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _no_loading(*args: object) -> None:
    raise AssertionError("the encoder was loaded")


def _normal(tmp_path: Path, url: str, index: str, model: Path, queries: Path | None
            ) -> tuple[Path, Path]:
    corpus = _corpus(tmp_path / "corpus.jsonl", COUNT)
    saved = tmp_path / "saved"
    result = _ingest(*_args(corpus, queries, index, url, model, "--batch-size", "8",
                            "--save-vectors", str(saved)))
    assert result.exit_code == 0, result.output
    return corpus, saved


def test_vectors_of_a_saved_folder_give_bit_identical_documents(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str, byo_index: str,
        tiny_bert_path: Path) -> None:
    queries = _store(tmp_path / "queries", COUNT)
    corpus, saved = _normal(tmp_path, os_url, index_name, tiny_bert_path, queries)
    result = _ingest(*_args(corpus, queries, byo_index, os_url, tiny_bert_path,
                            "--batch-size", "8", "--passage-vectors", str(saved)))
    assert result.exit_code == 0, result.output
    assert f"{COUNT} written" in result.output
    normal, byo = _docs(os_client, index_name), _docs(os_client, byo_index)
    assert sorted(byo) == sorted(normal) and len(byo) == COUNT
    for pid, doc in normal.items():
        assert byo[pid] == doc, pid  # both vectors, texts and generated queries, bit for bit
    assert byo["p3"]["xqg_vector"] != byo["p3"]["passage_vector"]  # queries were mixed in
    assert _meta(os_client, byo_index) == _meta(os_client, index_name)

    again = _ingest(*_args(corpus, queries, byo_index, os_url, tiny_bert_path,
                           "--passage-vectors", str(saved)))
    assert again.exit_code == 0 and f"0 written, {COUNT} already indexed" in again.output


def test_npy_vectors_without_queries_need_no_model_and_resume(
        tmp_path: Path, os_client: Any, os_url: str, index_name: str, byo_index: str,
        tiny_bert_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, saved = _normal(tmp_path, os_url, index_name, tiny_bert_path, None)
    folder = read_vector_folder(saved, ["passage_vector"])
    half = COUNT // 2  # a first run with half the vectors is refused, nothing created
    np.save(tmp_path / "v.npy", folder.vectors["passage_vector"][:half])
    (tmp_path / "ids.txt").write_text("\n".join(folder.ids[:half]) + "\n", encoding="utf-8")
    args = [*_args(corpus, None, byo_index, os_url, tiny_bert_path, "--batch-size", "8"),
            "--passage-vectors", str(tmp_path / "v.npy"),
            "--passage-vector-ids", str(tmp_path / "ids.txt")]
    refused = _ingest(*args)
    assert refused.exit_code != 0
    assert f"lacks vectors for {COUNT - half} of the {COUNT} passages" in refused.output
    assert not os_client.indices.exists(index=byo_index)

    np.save(tmp_path / "v.npy", folder.vectors["passage_vector"])
    (tmp_path / "ids.txt").write_text("\n".join(folder.ids) + "\n", encoding="utf-8")
    # no generated queries to encode: the encoder is named, never loaded
    monkeypatch.setattr("xqg_os.encode.load_encoder", _no_loading)
    result = _ingest(*args)
    assert result.exit_code == 0, result.output
    normal, byo = _docs(os_client, index_name), _docs(os_client, byo_index)
    assert byo == normal
    assert identity(_meta(os_client, byo_index)["encoder"]) == identity(
        _meta(os_client, index_name)["encoder"])
    os_client.delete(index=byo_index, id="p5", refresh=True)
    resumed = _ingest(*args)
    assert resumed.exit_code == 0 and f"1 written, {COUNT - 1} already indexed" in resumed.output


@pytest.mark.parametrize("problem", ["dimension", "nan", "extra"])
def test_bad_vectors_are_refused_in_one_line_before_any_index(
        tmp_path: Path, os_client: Any, os_url: str, byo_index: str, tiny_bert_path: Path,
        problem: str) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", COUNT)
    ids = [f"p{i}" for i in range(COUNT)] + (["zz"] if problem == "extra" else [])
    matrix = np.ones((len(ids), 16 if problem == "dimension" else 32), dtype=np.float16)
    if problem == "nan":
        matrix[7, 3] = np.nan
    np.save(tmp_path / "v.npy", matrix)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    result = _ingest(*_args(corpus, None, byo_index, os_url, tiny_bert_path),
                     "--passage-vectors", str(tmp_path / "v.npy"),
                     "--passage-vector-ids", str(tmp_path / "ids.txt"))
    if problem == "extra":  # vectors without a passage: a notice, not an error
        assert result.exit_code == 0, result.output
        assert f"notice: 1 of the {COUNT + 1} passage vectors" in result.output
        assert os_client.count(index=byo_index)["count"] == COUNT
        return
    assert result.exit_code != 0
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert ("gives 32-d vectors but the passage vectors are 16-d" if problem == "dimension"
            else "1 row(s) hold NaN or infinity (first: row 7, passage 'p7')") in errors[0]
    assert not os_client.indices.exists(index=byo_index)
