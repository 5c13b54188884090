"""Values and outputs refused while parsing: every numeric option of every command has a range,
floats are finite, outputs that cannot be written are refused before any work, and a
file-system failure during the work is one line."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.cli.common import XQGGroup, write_summary
from xqg_os.cli.params import FiniteFloat, FiniteFloatRange, OutputPath, finite_float
from xqg_os.errors import InputError
from xqg_os.outputs import check_writable, writable_problem


def _commands(group: click.Group, path: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path}{name} ")
        else:
            yield f"{path}{name}", command


COMMANDS = dict(_commands(main))


def _unreadable(tmp_path: Path) -> Path:
    """A folder nobody may create: under a read-only folder, or for root under /proc."""
    if os.geteuid() == 0:
        return Path("/proc/xqg-test/out")
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    return folder / "out"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_number_has_a_range_and_floats_are_finite(name: str) -> None:
    for option in COMMANDS[name].params:
        kind = option.type
        if isinstance(kind, click.types.FloatParamType):
            assert isinstance(kind, FiniteFloat | FiniteFloatRange), (name, option.name)
        if isinstance(kind, click.types.IntParamType):
            assert isinstance(kind, click.IntRange), (name, option.name)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_reads(name: str) -> None:
    result = CliRunner().invoke(main, [*name.split(), "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "x<=None" not in result.output and "None<=" not in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_finite_float_refuses_nan_and_inf(value: str) -> None:
    for kind in (finite_float(), finite_float(0, 1)):
        with pytest.raises(click.BadParameter):
            kind.convert(value, None, None)
    assert finite_float().convert("1e-5", None, None) == 1e-5
    assert finite_float(0, 1, min_open=True).convert("0.5", None, None) == 0.5


def test_alpha_nan_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["ingest", "--corpus", __file__, "--index", "x",
                                       "--alpha", "nan"])
    assert result.exit_code == 2
    assert "'nan' is not a finite number" in result.output


def test_writable_problems(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    assert writable_problem(tmp_path / "new" / "deeper", folder=True) is None
    assert writable_problem(tmp_path / "new.json", folder=False) is None
    assert writable_problem(afile, folder=False) is None
    assert writable_problem(afile, folder=True) == f"'{afile}' is a file, not a folder"
    assert writable_problem(tmp_path, folder=False) == f"'{tmp_path}' is a folder, not a file"
    assert writable_problem(afile / "out", folder=True) == (
        f"cannot create '{afile / 'out'}': '{afile}' is a file, not a folder")
    assert "cannot create" in str(writable_problem(_unreadable(tmp_path), folder=True))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "readonly") == ["afile"]
    with pytest.raises(InputError, match="^out: ") as caught:
        check_writable(afile / "x", folder=False, param="out")
    assert caught.value.params == ("out",)


def test_output_path_is_checked_while_parsing(tmp_path: Path) -> None:
    @click.command()
    @click.option("--out", type=OutputPath(folder=True))
    def command(out: str) -> None:
        raise AssertionError("the work must not start")

    result = CliRunner().invoke(command, ["--out", str(_unreadable(tmp_path))])
    assert result.exit_code == 2 and "cannot create" in result.output


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device", "/data/vectors/part-3.npy"),
    PermissionError(errno.EACCES, "Permission denied", "/data/out"),
])
def test_os_errors_during_the_work_are_one_line(error: OSError) -> None:
    @click.group(cls=XQGGroup)
    def group() -> None:
        pass

    @group.command()
    def work() -> None:
        raise error

    result = CliRunner().invoke(group, ["work"])
    assert result.exit_code == 1
    assert result.output == f"error: {error.strerror}: '{error.filename}'\n"


def test_a_summary_that_cannot_be_written_is_a_warning(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    target = tmp_path / "summary.json"
    write_summary(str(target), {"written": 3})
    assert json.loads(target.read_text()) == {"written": 3}
    (tmp_path / "afile").write_text("")
    write_summary(str(tmp_path / "afile" / "summary.json"), {"written": 3})
    err = capsys.readouterr().err
    assert err.startswith("warning: the summary was not written: ") and err.count("\n") == 1


def test_a_query_store_that_cannot_be_written_is_refused_first(tmp_path: Path) -> None:
    from xqg_os.generate.factory import GeneratorSpec
    from xqg_os.ingest.sources import open_query_source

    (tmp_path / "afile").write_text("")
    spec = GeneratorSpec(kind="seq2seq", model=str(tmp_path / "no-model"))
    with (pytest.raises(InputError, match="^generated: cannot create") as caught,
          open_query_source(tmp_path / "afile" / "q", ["ja"], 1, spec)):
        pass
    assert caught.value.params == ("generated",)
