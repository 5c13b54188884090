"""Integration: zero-downtime rebuilds behind an alias (a searcher querying the alias in a loop
sees no failed request while the alias moves), and index commands given an alias."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.errors import InputError
from xqg_os.ingest.config import IngestConfig
from xqg_os.opensearch.alias import alias_targets
from xqg_os.opensearch.index import VECTOR_FIELDS

pytestmark = pytest.mark.integration

WORDS = ["river", "mountain", "city", "music", "science", "history", "ocean", "forest",
         "planet", "language", "bridge", "castle"]
DOCS = 30
K = 5


def _corpus(path: Path, count: int = DOCS, bad: bool = False) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(count):
            words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(5))
            handle.write(json.dumps({"id": f"d{i}", "title": f"T{i}",
                                     "text": f"Code{i} about {words}."}) + "\n")
        if bad:  # a keyword over 32766 bytes is refused (an "immense term"): one failed document
            handle.write(json.dumps({"id": "bad", "text": "bad lang", "lang": "x" * 40000})
                         + "\n")
    return path


@pytest.fixture(scope="module")
def encoder(tiny_bert_path: Path) -> Any:
    from xqg_os.encode import EncoderConfig, load_encoder

    return load_encoder(EncoderConfig(model=str(tiny_bert_path), device="cpu"))


@pytest.fixture
def alias(os_client: Any) -> Iterator[str]:
    """A fresh alias name; every index of it is deleted after the test."""
    name = f"test-alias-{uuid.uuid4().hex[:8]}"
    yield name
    os_client.indices.delete(index=f"{name}*", ignore_unavailable=True)


def _config(corpus: Path, alias: str, fields: str = "xqg") -> IngestConfig:
    return IngestConfig(corpus=str(corpus), index=alias, languages=("ja",), batch_size=8,
                        vector_fields=fields)


@dataclass
class SearchLoop:
    """Searches the alias with the library searcher in a thread until stopped."""

    searcher: Any
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            self.requests += 1
            try:
                hits = self.searcher.search(WORDS[self.requests % len(WORDS)], k=K)
                if len(hits) != K:
                    self.failures.append(f"{len(hits)} hits")
            except Exception as exc:  # every failed request is counted, none is lost
                self.failures.append(repr(exc))

    def wait_for(self, count: int, timeout: float = 120.0) -> None:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while self.requests < count and not deadline.wait(0.05):
                pass
        finally:
            timer.cancel()


@pytest.mark.parametrize("delete_old", [False, True], ids=["old-kept", "old-deleted"])
def test_swap_while_searching_the_alias_fails_no_request(
        os_client: Any, encoder: Any, alias: str, tmp_path: Path, delete_old: bool) -> None:
    from xqg_os.ingest.rebuild import rebuild
    from xqg_os.search.knn import XQGSearcher

    corpus = _corpus(tmp_path / "corpus.jsonl")
    first = rebuild(os_client, _config(corpus, alias), encoder, alias=alias)
    assert not first.failed and first.written == DOCS
    (old,) = alias_targets(os_client, alias)

    loop = SearchLoop(XQGSearcher(os_client, alias))
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        loop.wait_for(100)  # searching the old index before the rebuild starts
        summary = rebuild(os_client, _config(corpus, alias, fields="both"), encoder, alias=alias,
                          delete_old=delete_old, grace_seconds=1.0)
        at_swap = loop.requests
        loop.wait_for(at_swap + 100)  # and the new one after the swap
    finally:
        loop.stop.set()
        thread.join(timeout=60)
    print(f"alias loop ({'old deleted' if delete_old else 'old kept'}): {loop.requests} "
          f"requests, {at_swap} before the swap returned, {len(loop.failures)} failed")
    assert loop.failures == []
    assert loop.requests >= 200
    assert not summary.failed and summary.written == DOCS
    (new,) = alias_targets(os_client, alias)
    assert new != old and new.startswith(f"{alias}-")
    assert os_client.indices.exists(index=old) is not delete_old
    assert XQGSearcher(os_client, alias).fields == VECTOR_FIELDS  # the new build behind it
    assert any(f"now points to {new}" in notice for notice in summary.notices)


def test_failed_rebuild_never_moves_the_alias_and_the_rerun_resumes(
        os_client: Any, encoder: Any, alias: str, tmp_path: Path) -> None:
    from xqg_os.ingest.rebuild import rebuild, unfinished_index

    good = _corpus(tmp_path / "good.jsonl")
    rebuild(os_client, _config(good, alias), encoder, alias=alias)
    (old,) = alias_targets(os_client, alias)

    corpus = _corpus(tmp_path / "corpus.jsonl", bad=True)
    failed = rebuild(os_client, _config(corpus, alias, fields="both"), encoder, alias=alias)
    assert len(failed.failed) == 1 and failed.written == DOCS
    assert alias_targets(os_client, alias) == [old]  # not moved
    assert any("not moved" in notice for notice in failed.notices)
    unfinished = sorted(os_client.indices.get(index=f"{alias}-*"))
    assert len(unfinished) == 2
    (partial,) = set(unfinished) - {old}
    meta = os_client.indices.get_mapping(index=partial)[partial]["mappings"]["_meta"]
    assert unfinished_index(os_client, alias, meta, meta["index"], [old]) == (partial, [])
    other_layout = {**meta["index"], "m": meta["index"]["m"] + 1}
    assert unfinished_index(os_client, alias, meta, other_layout, [old]) == (None, [partial])
    assert unfinished_index(os_client, alias, meta, meta["index"], [partial]) == (None, [])

    _corpus(corpus)  # the bad passage removed; the same command again
    resumed = rebuild(os_client, _config(corpus, alias, fields="both"), encoder, alias=alias)
    assert not resumed.failed
    assert (resumed.already_indexed, resumed.written) == (DOCS, 0)
    (new,) = alias_targets(os_client, alias)
    assert new == next(name for name in unfinished if name != old)
    assert any(f"resuming the unfinished index {new}" in n for n in resumed.notices)

    # another build after that starts a new index (the finished ones are not resumed)
    other = rebuild(os_client, _config(corpus, alias), encoder, alias=alias)
    assert alias_targets(os_client, alias)[0] not in (old, new)
    assert other.written == DOCS


def test_an_index_named_like_the_alias_is_replaced_only_on_request(
        os_client: Any, encoder: Any, alias: str, tmp_path: Path) -> None:
    from xqg_os.ingest.rebuild import rebuild

    corpus = _corpus(tmp_path / "corpus.jsonl")
    os_client.indices.create(index=alias)
    with pytest.raises(InputError, match="delete_old"):
        rebuild(os_client, _config(corpus, alias), encoder, alias=alias)
    assert os_client.indices.get(index=f"{alias}*").keys() == {alias}  # nothing created
    rebuild(os_client, _config(corpus, alias), encoder, alias=alias, delete_old=True)
    (new,) = alias_targets(os_client, alias)
    assert new.startswith(f"{alias}-") and os_client.count(index=alias)["count"] == DOCS


def test_cli_rebuild_then_evaluate_info_delete_and_recreate_on_the_alias(
        os_url: str, alias: str, tmp_path: Path, tiny_bert_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl")
    queries, qrels = tmp_path / "queries.jsonl", tmp_path / "qrels.txt"
    queries.write_text("".join(json.dumps({"id": f"q{i}", "text": f"Code{i} {WORDS[i % 12]}",
                                           "lang": "ja"}) + "\n" for i in range(0, DOCS, 5)))
    qrels.write_text("".join(f"q{i} 0 d{i} 1\n" for i in range(0, DOCS, 5)))
    ingest = ["ingest", "--corpus", str(corpus), "--alias", alias, "--url", os_url,
              "--encoder", str(tiny_bert_path), "--device", "cpu"]
    runner = CliRunner()
    result = runner.invoke(main, ingest)
    assert result.exit_code == 0, result.output
    (index,) = alias_targets_url(os_url, alias)
    assert f"alias '{alias}' now points to {index} (before: nothing)" in result.output

    for extra in ([], ["--exact"]):
        evaluated = runner.invoke(main, ["evaluate", "--queries", str(queries), "--qrels",
                                         str(qrels), "--index", alias, "--url", os_url,
                                         "--out", str(tmp_path / "eval"), *extra])
        assert evaluated.exit_code == 0, evaluated.output
        assert "xqg_vector" in evaluated.output

    info = runner.invoke(main, ["index", "info", alias, "--url", os_url])
    assert info.exit_code == 0, info.output
    payload = json.loads(info.output)
    assert payload["index"] == index and payload["aliases"] == [alias]
    assert payload["docs"] == DOCS and payload["meta"]["encoder"]

    deleted = runner.invoke(main, ["index", "delete", alias, "--url", os_url])
    assert deleted.exit_code == 1 and len(deleted.output.strip().splitlines()) == 1
    assert f"'{alias}' is an aliased name for {index}: deleting it refused" in deleted.output
    assert "Traceback" not in deleted.output

    recreated = runner.invoke(main, [*ingest[:3], "--index", alias, *ingest[5:], "--recreate"])
    errors = [line for line in recreated.output.splitlines() if "error" in line.lower()]
    assert recreated.exit_code == 1 and "Traceback" not in recreated.output
    assert len(errors) == 1 and errors[0].startswith("error: ")  # beside progress bars
    assert "--recreate refused; pass --alias to rebuild behind it" in errors[0]
    assert alias_targets_url(os_url, alias) == [index]  # nothing changed

    # with --index, the rebuild writes that index; --delete-old drops the one it replaces
    result = runner.invoke(main, [*ingest, "--index", f"{alias}-v2", "--delete-old"])
    assert result.exit_code == 0, result.output
    assert alias_targets_url(os_url, alias) == [f"{alias}-v2"]
    assert f"(before: {index}, deleted)" in result.output


def alias_targets_url(url: str, alias: str) -> list[str]:
    from xqg_os.opensearch.client import ClientConfig, make_client

    return alias_targets(make_client(ClientConfig(url=url)), alias)


def test_ingest_through_an_alias_of_several_indexes_is_refused_before_writing(
        tmp_path: Path, alias: str, os_client: Any, encoder: Any) -> None:
    """An alias over two indexes cannot take writes: one line naming them, nothing written."""
    from xqg_os.ingest.pipeline import ingest

    for part in ("a", "b"):
        os_client.indices.create(index=f"{alias}-{part}")
    os_client.indices.update_aliases(body={"actions": [
        {"add": {"index": f"{alias}-{part}", "alias": alias}} for part in ("a", "b")]})
    with pytest.raises(InputError, match=rf"{alias}-a, {alias}-b\), which cannot take writes"):
        ingest(os_client, _config(_corpus(tmp_path / "c.jsonl"), alias), encoder)
    os_client.indices.refresh(index=alias)
    assert os_client.count(index=alias)["count"] == 0
