"""A disk that fills up mid-run (a real 64 KiB tmpfs): one line naming the output, nothing
already written lost, and the rerun after space is freed completes the same query store as an
uninterrupted run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "xqg_os" / "sample"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs the right to mount, as root in a container has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _generate(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xqg_os.cli", "generate", "--corpus", str(SAMPLE / "corpus.jsonl"),
         "--generator", "precomputed", "--precomputed", str(SAMPLE / "precomputed_queries.jsonl"),
         "--languages", "ja,ru,fr,de", "--n", "2", "--out", str(out)],
        capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})


def _records(store: Path) -> list[bytes]:
    """The store's lines (bytes: a line torn by the full disk may end inside a character)."""
    return sorted(line for path in store.glob("*/queries*.jsonl")
                  for line in path.read_bytes().splitlines())


def test_a_full_disk_is_one_line_and_the_rerun_completes_the_store(small_disk: Path,
                                                                    tmp_path: Path) -> None:
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 40 * 1024)  # leaves room for part of the store only
    out = small_disk / "queries"
    full = _generate(out)
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stdout + full.stderr
    lines = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: No space left on device while writing '{out}'; what was written "
                     "is kept: fix that, then rerun the same command to resume"], full.stderr
    written = _records(out)
    assert written  # part of the store made it to disk

    filler.unlink()
    rerun = _generate(out)
    assert rerun.returncode == 0, rerun.stderr
    whole = _generate(tmp_path / "reference")
    assert whole.returncode == 0, whole.stderr
    assert _records(out) == _records(tmp_path / "reference")
