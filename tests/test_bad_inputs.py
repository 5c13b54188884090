"""The bad-input catalogue (tests/bad_inputs.py): every case ends in its exit code and one clear
line, never a traceback. Cases that need the node are integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bad_inputs import CASES, Case, message_lines, problems, run_case


def _param(one: Case) -> object:
    marks = [pytest.mark.integration] if one.node else []
    if one.known:
        marks.append(pytest.mark.xfail(reason=one.known, strict=False))
    return pytest.param(one, id=one.id, marks=marks)


def test_catalogue_is_large_and_unique() -> None:
    ids = [one.id for one in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 45
    assert all(one.code != 0 for one in CASES)


def test_message_lines_drop_usage_preamble_progress_and_notices() -> None:
    usage = "Usage: xqg-os x [OPTIONS]\nTry 'xqg-os x -h' for help.\n\nError: bad\n"
    assert message_lines(usage, warnings=False) == ["Error: bad"]
    bars = "ingest: 0doc [00:00, ?doc/s]\ringest:  40%|####  | 4/10\nwarning: w\nerror: e\n"
    assert message_lines(bars, warnings=False) == ["warning: w", "error: e"]
    assert message_lines(bars, warnings=True) == ["error: e"]


@pytest.mark.parametrize("one", [_param(one) for one in CASES if not one.node])
def test_bad_input(one: Case, tmp_path: Path) -> None:
    outcome = run_case(one, tmp_path, "http://127.0.0.1:9")
    assert not problems(one, outcome), outcome.output


@pytest.mark.parametrize("one", [_param(one) for one in CASES if one.node])
def test_bad_input_on_the_node(one: Case, tmp_path: Path, os_client: object,
                               os_url: str) -> None:
    outcome = run_case(one, tmp_path, os_url)
    assert not problems(one, outcome), outcome.output
