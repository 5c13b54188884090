"""``xqg-os generate`` end to end on the tiny T5: formats, bad inputs, shards, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from xqg_os.cli import main
from xqg_os.generate import QueryStore

torch.set_num_threads(1)

FAST = ["--n", "2", "--max-new-tokens", "4", "--quiet"]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["generate", *args])


def pairs(out: Path) -> list[tuple[str, str]]:
    return [(r.id, r.lang) for r in QueryStore.open(out).iter_records()]


def write_corpus(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "tsv", "beir"])
def test_each_corpus_format(fmt: str, tiny_t5: Path, corpus_files: dict[str, Path],
                            tmp_path: Path) -> None:
    result = run("--corpus", str(corpus_files[fmt]), "--languages", "ar,te", "--model",
                 str(tiny_t5), "--out", str(tmp_path), "--batch-size", "8", *FAST)
    assert result.exit_code == 0, result.output
    assert "generated queries for 12 passages: 24 (passage, language) pairs, 48 queries" \
        in result.output
    found = pairs(tmp_path)
    assert sorted(found) == sorted((f"p{i:02d}", lang) for i in range(1, 13)
                                   for lang in ("ar", "te"))
    info = QueryStore.open(tmp_path).describe()
    assert info["n"] == 2 and info["languages"] == ["ar", "te"]
    assert info["generator"]["decoding"]["max_new_tokens"] == 4


def test_unknown_language_lists_supported_ones(tmp_path: Path, corpus_files: dict[str, Path]
                                               ) -> None:
    result = run("--corpus", str(corpus_files["jsonl"]), "--languages", "ar,xx", "--out",
                 str(tmp_path), *FAST)
    assert result.exit_code == 1
    assert "unknown language code(s): xx; supported: ar, bn," in result.output


def test_empty_passages_are_skipped_and_counted(tiny_t5: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", [{"id": "a", "text": "Paris"},
                                                 {"id": "b", "text": "   "},
                                                 {"id": "c", "text": "Cairo"}])
    result = run("--corpus", str(corpus), "--languages", "fi", "--model", str(tiny_t5),
                 "--out", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 0, result.output
    assert "skipped 1 empty passages" in result.output
    assert sorted(pairs(tmp_path / "out")) == [("a", "fi"), ("c", "fi")]


def test_duplicate_ids_are_named(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", [{"id": "a", "text": "x"}, {"id": "b", "text": "y"},
                                                 {"id": "a", "text": "z"}])
    result = run("--corpus", str(corpus), "--out", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 1
    assert "duplicate passage ids: a" in result.output
    assert not (tmp_path / "out").exists()  # nothing written, no model loaded


def test_malformed_line_reports_its_number_or_is_skipped(tiny_t5: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "x"}\n{"id": "b", "text": \n{"id": "c", "text": "z"}\n',
                      encoding="utf-8")
    result = run("--corpus", str(corpus), "--out", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 1
    assert "c.jsonl:2: malformed line" in result.output and "--skip-bad-lines" in result.output
    result = run("--corpus", str(corpus), "--languages", "ru", "--model", str(tiny_t5), "--out",
                 str(tmp_path / "out"), "--skip-bad-lines", *FAST)
    assert result.exit_code == 0, result.output
    assert "skipped 1 malformed lines (2)" in result.output
    assert sorted(pairs(tmp_path / "out")) == [("a", "ru"), ("c", "ru")]


def test_missing_model_path(tmp_path: Path, corpus_files: dict[str, Path]) -> None:
    result = run("--corpus", str(corpus_files["jsonl"]), "--model", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 1
    assert result.output.strip() == \
        f"error: query generator model path does not exist: {tmp_path / 'nope'}"


def test_bad_options_are_one_line_errors(tmp_path: Path, corpus_files: dict[str, Path]) -> None:
    base = ["--corpus", str(corpus_files["jsonl"]), "--out", str(tmp_path)]
    for extra, message in ((["--shard", "3/2"], "bad shard 3/2"),
                           (["--num-beams", "2", "--n", "3"], "--num-beams 2 < --n 3"),
                           (["--generator", "openai"], "needs --endpoint")):
        result = run(*base, *extra, "--quiet")
        assert result.exit_code == 1 and message in result.output, result.output
    result = run(*base, "--top-p", "2", "--quiet")  # refused by the option parser
    assert result.exit_code == 2 and "2.0 is not in the range 0<x<=1" in result.output


def test_shards_split_the_corpus(tiny_t5: Path, corpus_files: dict[str, Path],
                                 tmp_path: Path) -> None:
    for part in ("0/3", "1/3", "2/3"):
        result = run("--corpus", str(corpus_files["jsonl"]), "--languages", "ko", "--model",
                     str(tiny_t5), "--out", str(tmp_path), "--shard", part, *FAST)
        assert result.exit_code == 0, result.output
        assert "generated queries for 4 passages" in result.output
    found = pairs(tmp_path)
    assert sorted(found) == [(f"p{i:02d}", "ko") for i in range(1, 13)]
    store = QueryStore.open(tmp_path)
    assert len(store.data_files()) == 3 and store.describe()["counts"]["passages"] == 12


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "xqg_os.cli", "generate", *args]


def test_kill_and_resume_matches_an_uninterrupted_run(tiny_t5: Path, tmp_path: Path) -> None:
    rows = [{"id": f"k{i:03d}", "title": f"T{i}", "text": "Paris is the capital. " * (1 + i % 9)}
            for i in range(60)]
    corpus = write_corpus(tmp_path / "big.jsonl", rows)
    common = ["--corpus", str(corpus), "--languages", "ar,ja", "--model", str(tiny_t5),
              "--batch-size", "1", "--pool-size", "2", "--n", "2", "--max-new-tokens", "6",
              "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    killed_out = tmp_path / "killed"
    # A real process, killed with SIGKILL: no cleanup code runs.
    proc = subprocess.Popen(_cli([*common, "--out", str(killed_out)]), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    data = None
    while time.monotonic() < deadline and proc.poll() is None:
        data = next(killed_out.glob("queries-*/queries.jsonl"), None)
        if data is not None and data.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert data is not None
    assert 10 <= data.read_bytes().count(b"\n") < 120
    with open(data, "ab") as handle:  # as if the kill had landed mid-write
        handle.write(b'{"id": "k1')

    resumed = run(*common, "--out", str(killed_out))  # the rerun, in-process
    assert resumed.exit_code == 0, resumed.output
    assert "cut a torn last line" in resumed.output
    assert "passages already done (resumed)" in resumed.output
    full = run(*common, "--out", str(tmp_path / "full"))
    assert full.exit_code == 0, full.output

    killed_pairs, full_pairs = pairs(killed_out), pairs(tmp_path / "full")
    assert not [p for p, c in Counter(killed_pairs).items() if c > 1]  # nothing twice
    assert set(killed_pairs) == set(full_pairs) == {(r["id"], lang) for r in rows
                                                    for lang in ("ar", "ja")}
    # per-pair seeds: the resumed store holds exactly the uninterrupted run's queries
    ids = [r["id"] for r in rows]
    assert QueryStore.open(killed_out).get(ids, ["ar", "ja"], 2) == \
        QueryStore.open(tmp_path / "full").get(ids, ["ar", "ja"], 2)
