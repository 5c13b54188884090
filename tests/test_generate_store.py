"""The query store: appends, reopening, lookups, torn tails, shards, store discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg_os.errors import InputError
from xqg_os.generate import GeneratedQueries, QueryStore, find_store
from xqg_os.shard import Shard, parse_shard

GENERATOR = {"kind": "seq2seq", "model": "tiny", "revision": None, "template": "t",
             "decoding": {"top_k": 10}, "seed": 42}


def records(*pairs: tuple[str, str]) -> list[GeneratedQueries]:
    return [GeneratedQueries(pid, lang, (f"{pid}-{lang}-1", f"{pid}-{lang}-2", f"{pid}-{lang}-3"))
            for pid, lang in pairs]


def test_append_reopen_and_read(tmp_path: Path) -> None:
    store = QueryStore.create(tmp_path, GENERATOR, 3)
    assert store.path.parent == tmp_path and store.path.name == f"queries-{store.fingerprint}"
    with store.writer() as writer:
        assert writer.pending("p1", ["ar", "ja"]) == ["ar", "ja"]
        writer.append(records(("p1", "ar"), ("p2", "ar")))
        writer.append(records(("p1", "ja")))
        assert writer.pending("p1", ["ar", "ja", "ko"]) == ["ko"]
    lines = (store.path / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"id": "p1", "lang": "ar",
                                    "queries": ["p1-ar-1", "p1-ar-2", "p1-ar-3"]}

    reopened = QueryStore.open(tmp_path)  # the out dir holding exactly one store
    assert reopened.path == store.path and reopened.max_n == 3
    info = reopened.describe()
    assert info["generator"] == GENERATOR and info["n"] == 3
    assert info["languages"] == ["ar", "ja"]
    assert info["counts"] == {"records": 3, "queries": 9, "passages": 2}
    assert reopened.get(["p1", "p2", "zz"], ["ja", "ar"], 2) == {
        "p1": {"ja": ["p1-ja-1", "p1-ja-2"], "ar": ["p1-ar-1", "p1-ar-2"]},
        "p2": {"ar": ["p2-ar-1", "p2-ar-2"]}}
    assert [(r.id, r.lang) for r in reopened.iter_records()] == [("p1", "ar"), ("p2", "ar"),
                                                                 ("p1", "ja")]
    with pytest.raises(InputError, match="holds n=3.*4 asked"):
        reopened.get(["p1"], ["ar"], 4)
    with reopened.writer() as writer:  # a rerun skips what is there
        assert writer.pending("p1", ["ar", "ja"]) == [] and writer.records == 3


def test_same_parameters_same_store_other_parameters_other_store(tmp_path: Path) -> None:
    first = QueryStore.create(tmp_path, GENERATOR, 3)
    assert QueryStore.create(tmp_path, dict(GENERATOR), 3).path == first.path
    other = QueryStore.create(tmp_path, {**GENERATOR, "seed": 1}, 3)
    assert other.path != first.path != QueryStore.create(tmp_path, GENERATOR, 5).path
    with pytest.raises(InputError, match="holds 3 query stores"):
        find_store(tmp_path)
    assert find_store(other.path) == other.path


def test_find_store_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no query store in"):
        find_store(tmp_path)
    with pytest.raises(InputError, match="not found"):
        QueryStore.open(tmp_path / "missing")


def test_torn_last_line_is_cut_and_work_resumes(tmp_path: Path) -> None:
    store = QueryStore.create(tmp_path, GENERATOR, 3)
    with store.writer() as writer:
        writer.append(records(("p1", "ar"), ("p2", "ar")))
    data = store.path / "queries.jsonl"
    intact = data.stat().st_size
    with open(data, "ab") as handle:  # a writer killed in the middle of a line
        handle.write(b'{"id": "p3", "lang": "ar", "quer')
    # readers ignore the torn line without touching the file
    assert [r.id for r in QueryStore.open(store.path).iter_records()] == ["p1", "p2"]
    assert data.stat().st_size > intact
    with store.writer() as writer:
        assert writer.repaired_bytes == len(b'{"id": "p3", "lang": "ar", "quer')
        assert data.stat().st_size == intact
        assert writer.pending("p3", ["ar"]) == ["ar"]
        writer.append(records(("p3", "ar")))
    assert [r.id for r in QueryStore.open(store.path).iter_records()] == ["p1", "p2", "p3"]
    assert all(json.loads(line) for line in data.read_text(encoding="utf-8").splitlines())


def test_corruption_in_the_middle_is_an_error(tmp_path: Path) -> None:
    store = QueryStore.create(tmp_path, GENERATOR, 3)
    with store.writer() as writer:
        writer.append(records(("p1", "ar")))
    with open(store.path / "queries.jsonl", "ab") as handle:
        handle.write(b"not json\n")
        handle.write(json.dumps(records(("p2", "ar"))[0].to_json()).encode() + b"\n")
    with pytest.raises(InputError, match=r"queries.jsonl:2: corrupt query store line"):
        list(store.iter_records())


def test_shards_write_their_own_files_and_reads_merge(tmp_path: Path) -> None:
    store = QueryStore.create(tmp_path, GENERATOR, 3)
    with store.writer(Shard(0, 2)) as writer:
        writer.append(records(("p0", "ar")))
    with store.writer(Shard(1, 2)) as writer:
        writer.append(records(("p1", "ar"), ("p1", "ja")))
        assert writer.pending("p0", ["ar"]) == []  # sees the other shard's work
    names = sorted(p.name for p in store.path.glob("queries*.jsonl"))
    assert names == ["queries.shard-0-of-2.jsonl", "queries.shard-1-of-2.jsonl"]
    info = QueryStore.open(tmp_path).describe()
    assert info["counts"] == {"records": 3, "queries": 9, "passages": 2}
    assert set(QueryStore.open(tmp_path).get(["p0", "p1"], ["ar"], 1)) == {"p0", "p1"}


def test_parse_shard() -> None:
    assert parse_shard("1/4") == Shard(1, 4) and parse_shard(None).is_whole
    assert list(Shard(1, 3).select(range(8))) == [1, 4, 7] and Shard(1, 3).size(8) == 3
    assert Shard(2, 3).size(8) == 2 and Shard(0, 1).size(5) == 5
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(InputError, match="shard"):
            parse_shard(bad)
