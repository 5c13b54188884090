"""Index layouts: unit tests of the bodies, and on the real node a lean index (xqg_vector only)
and one whose vectors are left out of ``_source``, through ingest, search and evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.errors import InputError
from xqg_os.opensearch.index import IndexSpec, index_body

WORDS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest",
         "planet", "language", "bridge", "castle"]


def test_bodies_follow_the_layout() -> None:
    lean = index_body(IndexSpec("x", 8, vector_fields="xqg", quantization="sq",
                                source_vectors="derived", shards=3, replicas=1))
    properties = lean["mappings"]["properties"]
    assert "passage_vector" not in properties
    assert properties["xqg_vector"]["method"]["parameters"]["encoder"] == {"name": "sq"}
    assert properties["generated_queries"] == {"type": "object", "enabled": False}
    settings = lean["settings"]["index"]
    assert settings["knn.derived_source.enabled"] is True
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (3, 1)
    layout = lean["mappings"]["_meta"]["index"]
    assert layout["vector_fields"] == ["xqg_vector"] and layout["quantization"] == "sq"
    assert (layout["shards"], layout["replicas"], layout["layout"]) == (3, 1, "xqg")

    both = index_body(IndexSpec("x", 8, source_vectors="excluded"), major=2)
    assert set(both["mappings"]["_source"]["excludes"]) == {"passage_vector", "xqg_vector"}
    assert "knn.derived_source.enabled" not in both["settings"]["index"]  # unknown to old 2.x
    assert "encoder" not in both["mappings"]["properties"]["xqg_vector"]["method"]["parameters"]
    stored = index_body(IndexSpec("x", 8, source_vectors="stored"), major=3)
    assert stored["settings"]["index"]["knn.derived_source.enabled"] is False
    assert "knn.derived_source.enabled" not in index_body(IndexSpec("x", 8))["settings"]["index"]


def test_layouts_resolved_per_node_version() -> None:
    spec = IndexSpec("x", 8)
    assert spec.for_node(3).source_vectors == "derived"
    assert spec.for_node(2).source_vectors == "stored"
    assert IndexSpec("x", 8, source_vectors="excluded").for_node(2).source_vectors == "excluded"
    with pytest.raises(InputError, match="^quantization 'sq' is supported on OpenSearch 3.x "
                                         "only \\(this node runs 2.19.1\\); use 'none'$"):
        IndexSpec("x", 8, quantization="sq").for_node(2, "2.19.1")
    with pytest.raises(InputError, match="needs OpenSearch 3.x") as refused:
        IndexSpec("x", 8, source_vectors="derived").for_node(2)
    assert refused.value.params == ("source_vectors",)
    for bad in ({"vector_fields": "all"}, {"quantization": "pq"}, {"replicas": -1},
                {"source_vectors": "none"}):
        with pytest.raises(InputError):
            IndexSpec("x", 8, **bad)  # type: ignore[arg-type]


def test_default_ef_search_is_a_multiple_of_the_depth() -> None:
    from xqg_os.opensearch.knn import EF_SEARCH_MULTIPLE, default_ef_search

    assert default_ef_search(10) == 100  # never below the plugin's own default
    assert default_ef_search(100) == 100 * EF_SEARCH_MULTIPLE
    assert default_ef_search(1000, multiple=1.5) == 1500


# --- on the real node -------------------------------------------------------------------------

def _inputs(folder: Path, count: int = 40) -> dict[str, Path]:
    paths = {name: folder / f"{name}.{ext}" for name, ext in (
        ("corpus", "jsonl"), ("queries", "jsonl"), ("qrels", "txt"))}
    with open(paths["corpus"], "w", encoding="utf-8") as corpus, \
            open(paths["queries"], "w", encoding="utf-8") as queries, \
            open(paths["qrels"], "w", encoding="utf-8") as qrels:
        for i in range(count):
            words = " ".join(WORDS[(i * 5 + j) % len(WORDS)] for j in range(5))
            corpus.write(json.dumps({"id": f"d{i}", "title": f"T{i}",
                                     "text": f"Item {i} about {words}."}) + "\n")
            if i % 4 == 0:
                queries.write(json.dumps({"id": f"q{i}", "lang": "en",
                                          "text": f"{words.split()[0]} item {i}"}) + "\n")
                qrels.write(f"q{i} 0 d{i} 1\n")
    return paths


def _ingest(paths: dict[str, Path], index: str, url: str, model: Path, *extra: str) -> Any:
    return CliRunner().invoke(main, [
        "ingest", "--corpus", str(paths["corpus"]), "--index", index, "--url", url,
        "--encoder", str(model), "--device", "cpu", "--batch-size", "16", *extra])


def _evaluate(paths: dict[str, Path], url: str, *extra: str) -> Any:
    return CliRunner().invoke(main, ["evaluate", "--queries", str(paths["queries"]),
                                     "--qrels", str(paths["qrels"]), "--url", url,
                                     "--depth", "10", *extra])


@pytest.mark.integration
def test_lean_index_holds_the_augmented_vector_only(tmp_path: Path, os_client: Any, os_url: str,
                                                    index_name: str,
                                                    tiny_bert_path: Path) -> None:
    from xqg_os.opensearch.index import node_major
    from xqg_os.search.exact import ExactSearcher
    from xqg_os.search.knn import XQGSearcher

    major, _ = node_major(os_client)
    paths = _inputs(tmp_path)
    sq = ["--quantization", "sq"] if major >= 3 else []
    result = _ingest(paths, index_name, os_url, tiny_bert_path, "--vector-fields", "xqg",
                     "--concurrency", "3", "--chunk-size", "7", "--save-vectors",
                     str(tmp_path / "vectors"), *sq)
    assert result.exit_code == 0, result.output
    assert "40 written" in result.output
    mapping = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert "passage_vector" not in mapping["properties"]
    assert mapping["_meta"]["index"]["vector_fields"] == ["xqg_vector"]
    assert mapping["_meta"]["encoder"]["pooling"] == "cls"
    doc = os_client.get(index=index_name, id="d3")["_source"]
    assert set(doc) >= {"generated_queries", "text", "xqg_vector"} and "passage_vector" not in doc

    # exact search reads the vectors back (derived on 3.x, stored on 2.x) as ingest saved them
    from_index = ExactSearcher.from_index(os_client, index_name)
    saved = ExactSearcher.from_folder(tmp_path / "vectors")
    assert sorted(from_index.ids) == sorted(saved.ids)
    row = from_index.ids.index("d3")
    assert from_index.matrix[row].tolist() == pytest.approx(
        saved.matrix[saved.ids.index("d3")].tolist(), rel=1e-6)

    with pytest.raises(InputError, match="has no passage_vector"):
        XQGSearcher(os_client, index_name, field="passage_vector")
    out = tmp_path / "eval"
    result = _evaluate(paths, os_url, "--index", index_name, "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "evaluation.json").read_text())
    assert set(report["systems"]) == {f"{index_name}:xqg_vector"}
    recall = json.loads((out / "ann_recall.json").read_text())
    assert recall[0]["ef_search"] == 100 and recall[0]["queries"] == 10
    assert recall[0]["recall"] >= (0.8 if sq else 0.95)
    assert f"ANN recall@10 against exact search, {index_name}:xqg_vector" in result.output
    result = _evaluate(paths, os_url, "--index", index_name, "--fields", "passage_vector")
    assert result.exit_code == 1
    assert f"index '{index_name}' has no passage_vector; it holds xqg_vector" in result.output
    assert "--fields" in result.output

    # an ingest that would write both fields into it is refused before writing
    result = _ingest(paths, index_name, os_url, tiny_bert_path)
    assert result.exit_code == 1 and "--vector-fields 'xqg'" in result.output


@pytest.mark.integration
def test_vectors_excluded_from_source(tmp_path: Path, os_client: Any, os_url: str,
                                      index_name: str, tiny_bert_path: Path) -> None:
    paths = _inputs(tmp_path, 24)
    result = _ingest(paths, index_name, os_url, tiny_bert_path, "--source-vectors", "excluded",
                     "--save-vectors", str(tmp_path / "vectors"))
    assert result.exit_code == 0, result.output
    doc = os_client.get(index=index_name, id="d4")["_source"]
    assert "xqg_vector" not in doc and "passage_vector" not in doc
    assert doc["generated_queries"] == {} and doc["text"].startswith("Item 4")

    exact = _evaluate(paths, os_url, "--index", index_name, "--exact")
    assert exact.exit_code == 1
    lines = exact.output.strip().splitlines()
    assert len(lines) == 1 and "cannot read them back" in lines[0]
    assert "(--vectors)" in lines[0] and "derived source" in lines[0]

    knn = _evaluate(paths, os_url, "--index", index_name)  # k-NN still works
    assert knn.exit_code == 0, knn.output
    assert "passage_vector" in knn.output and "not measured" in knn.output
    saved = _evaluate(paths, os_url, "--vectors", str(tmp_path / "vectors"))
    assert saved.exit_code == 0, saved.output
