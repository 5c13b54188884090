"""Unit: the flags of rebuilds and of xQG in an existing index combine only where they make
sense (checked before anything loads or connects), and versioned index names sort by time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.ingest.rebuild import versioned_name

CORPUS = str(Path(__file__).resolve().parent.parent / "xqg_os" / "sample" / "corpus.jsonl")


@pytest.mark.parametrize(("extra", "message"), [
    ([], "give --index (or --alias for a rebuild)"),
    (["--index", "x", "--delete-old"], "--delete-old goes with --alias"),
    (["--alias", "x", "--into-existing"], "--into-existing with neither --alias nor"),
    (["--index", "x", "--into-existing", "--save-vectors", "v"],
     "--into-existing with neither --alias nor --save-vectors"),
    (["--alias", "x", "--ray"], "--alias and --into-existing are not available with --ray"),
])
def test_flags_that_do_not_combine_are_one_usage_error(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["ingest", "--corpus", CORPUS, "--url",
                                       "http://127.0.0.1:1", *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_versioned_names_are_lowercase_and_sort_by_time() -> None:
    early = versioned_name("docs", datetime(2026, 11, 28, 9, 5, 7, tzinfo=UTC))
    late = versioned_name("docs", datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC))
    assert early == "docs-20261128t090507" and early == early.lower()
    assert early < late
