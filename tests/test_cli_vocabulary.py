"""One vocabulary across the CLI: library errors in the user's flags, old flag spellings as
deprecated aliases, and the README's vocabulary table and command lines against ``--help``."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.cli.common import XQGCommand, rename_flags
from xqg_os.cli.flags import flag_message
from xqg_os.errors import InputError
from xqg_os.generate import QueryStore

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "xqg_os" / "sample"
CORPUS, QUERIES = str(SAMPLE / "corpus.jsonl"), str(SAMPLE / "queries.jsonl")


def commands() -> dict[str, click.Command]:
    """Every leaf command by its path (``"study sweep"``)."""
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            found[path] = command

    walk(main, "")
    return found


def flags(command: click.Command) -> set[str]:
    return {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}


def parse(path: str, args: list[str]) -> dict[str, object]:
    """The values ``xqg-os PATH ARGS`` hands to the command (parsed, not run)."""
    ctx = click.Context(main, info_name="xqg-os")
    command: click.Command = main
    for name in path.split():
        assert isinstance(command, click.Group)
        sub = command.get_command(ctx, name)
        assert sub is not None, name
        command, ctx = sub, click.Context(sub, info_name=name, parent=ctx)
    command.parse_args(ctx, list(args))
    return dict(ctx.params)


# (command, the command's required flags, old spelling + value, new spelling + value)
STUDY = ["--corpus", CORPUS, "--queries", QUERIES, "--out", "study.csv"]
TRAIN = [*STUDY, "--pairs", "pairs.jsonl", "--checkpoints", "ckpts"]
ALIASES = [
    ("ingest", ["--corpus", CORPUS, "--index", "x"], ["--queries", "gen"], ["--generated", "gen"]),
    ("ingest", ["--corpus", CORPUS, "--index", "x"], ["--queries-out", "gen"],
     ["--generated", "gen"]),
    ("generate", ["--corpus", CORPUS, "--out", "o"], ["--queries-file", "q.jsonl"],
     ["--precomputed", "q.jsonl"]),
    ("evaluate", ["--queries", QUERIES], ["--alpha", "0.01"], ["--significance", "0.01"]),
    ("study sweep", STUDY, ["--significance-level", "0.01"], ["--significance", "0.01"]),
    ("study sweep", STUDY, ["--store-dtype", "float16"], ["--cache-dtype", "float16"]),
    ("study train", TRAIN, ["--significance-level", "0.01"], ["--significance", "0.01"]),
    ("study train", TRAIN, ["--store-dtype", "float16"], ["--cache-dtype", "float16"]),
    ("study train", TRAIN, ["--backend", "loop"], ["--trainer", "loop"]),
    ("index create", ["--dim", "8"], ["--name", "x"], ["--index", "x"]),
    ("search", ["--index", "x", "text"], ["--k", "3"], ["--depth", "3"]),
]


def test_every_old_spelling_has_an_alias_test() -> None:
    renamed = {(path, old, new) for path, command in commands().items()
               if isinstance(command, XQGCommand) for old, new in command.renamed.items()}
    assert renamed == {(path, old[0], new[0]) for path, _, old, new in ALIASES}


@pytest.mark.parametrize(("path", "base", "old", "new"), ALIASES,
                         ids=[f"{a[0]} {a[2][0]}" for a in ALIASES])
def test_old_spelling_is_accepted_with_a_notice_and_the_same_effect(
        path: str, base: list[str], old: list[str], new: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    expected = parse(path, [*base, *new])
    assert capsys.readouterr().err == ""
    assert parse(path, [*base, *old]) == expected
    notice = f"warning: {old[0]} is deprecated for '{path}'; use {new[0]}\n"
    assert capsys.readouterr().err == notice
    assert parse(path, [*base, f"{old[0]}={old[1]}"]) == expected  # --old=value
    assert capsys.readouterr().err == notice


@pytest.mark.parametrize("path", sorted({a[0] for a in ALIASES}))
def test_old_spellings_do_not_show_in_help(path: str) -> None:
    result = CliRunner().invoke(main, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    command = commands()[path]
    assert isinstance(command, XQGCommand)
    for old, new in command.renamed.items():
        assert re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", result.output) is None, old
        assert new in result.output


def test_old_and_new_spelling_together_is_one_clear_error() -> None:
    base = ["ingest", "--corpus", CORPUS, "--index", "x"]
    for extra in (["--queries", "a", "--generated", "b"], ["--queries", "a", "--queries-out", "b"]):
        result = CliRunner().invoke(main, [*base, *extra])
        assert result.exit_code == 2, result.output
        assert "given together" in result.output and "give --generated once" in result.output
        assert "warning" not in result.output


def test_values_that_look_like_old_flags_are_left_alone() -> None:
    command = commands()["ingest"]
    ctx = click.Context(command, info_name="ingest")
    args = ["--corpus", "--queries", "--queries", "x", "--", "--queries"]
    assert rename_flags(args, {"--queries": "--generated"}, command, ctx) == [
        "--corpus", "--queries", "--generated", "x", "--", "--queries"]


def test_an_old_spelling_really_runs(tmp_path: Path) -> None:
    """generate with ``--queries-file`` writes the same store as with ``--precomputed``."""
    common = ["generate", "--corpus", CORPUS, "--generator", "precomputed", "--languages",
              "ja,ru", "--n", "2", "--quiet"]
    source = str(SAMPLE / "precomputed_queries.jsonl")
    new = CliRunner().invoke(main, [*common, "--precomputed", source, "--out",
                                    str(tmp_path / "new")])
    old = CliRunner().invoke(main, [*common, "--queries-file", source, "--out",
                                    str(tmp_path / "old")])
    assert new.exit_code == 0 and old.exit_code == 0, (new.output, old.output)
    assert "deprecated" not in new.stderr
    assert old.stderr.splitlines()[0] == (
        "warning: --queries-file is deprecated for 'generate'; use --precomputed")
    ids = [f"p{i:02d}" for i in range(1, 61)]
    stored = QueryStore.open(tmp_path / "new").get(ids, ["ja", "ru"], 2)
    assert stored and QueryStore.open(tmp_path / "old").get(ids, ["ja", "ru"], 2) == stored


def test_library_param_becomes_the_running_commands_flag(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x"}\n{"id": "b", "text": \n', encoding="utf-8")
    result = CliRunner().invoke(main, ["generate", "--corpus", str(bad), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "pass --skip-bad-lines" in result.output and "skip_bad_lines" not in result.output

    # out-of-range values are refused by the option parser, which names the flag itself
    result = CliRunner().invoke(main, ["index", "create", "--index", "x", "--dim", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--dim': 0 is not in the range" in result.output

    # the same library name, another flag: EncoderConfig.model in ingest is --encoder
    result = CliRunner().invoke(main, ["ingest", "--corpus", CORPUS, "--index", "x",
                                       "--encoder", ""])
    assert result.exit_code == 1
    assert result.output.startswith("error: --encoder is empty; give a name or folder")

    # EvalConfig.significance, through the study's --significance
    result = CliRunner().invoke(main, ["study", "sweep", *STUDY[:4], "--qrels",
                                       str(SAMPLE / "qrels.txt"), "--significance", "2",
                                       "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 2
    assert "Invalid value for '--significance': 2.0 is not in the range" in result.output


def test_flag_message_replaces_whole_words_only() -> None:
    generate = commands()["generate"]
    error = InputError("n must be >= 1 (n-gram num_beams n_best: n)", param="n")
    assert flag_message(error, generate) == "--n must be >= 1 (n-gram num_beams n_best: --n)"
    unknown = InputError("shards must be positive", param="shards")
    assert flag_message(unknown, generate) == "shards must be positive"
    assert flag_message(InputError("plain"), generate) == "plain"


def _table(readme: str, heading: str) -> list[tuple[list[str], str, set[str]]]:
    """Rows of the table under ``heading``: the flags of the first column, the second column,
    the commands of the last."""
    section = readme.split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`--"):
            names = [m.split()[0] for m in re.findall(r"`(--[^`]+)`", cells[0])]
            rows.append((names, cells[1], {c.strip() for c in cells[2].split(",")}))
    return rows


def test_readme_vocabulary_table_matches_the_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = _table(readme, "### Vocabulary")
    assert len(rows) > 20
    every = commands()
    for names, _, listed in rows:
        for name in names:
            assert listed == {path for path, c in every.items() if name in flags(c)}, name
    documented = {(path, old, new.strip("`")) for olds, new, paths in
                  _table(readme, "#### Old spellings") for old in olds for path in paths}
    assert documented == {(path, old, new) for path, command in every.items()
                          if isinstance(command, XQGCommand)
                          for old, new in command.renamed.items()}


def _command_lines(text: str) -> list[list[str]]:
    """``xqg-os ...`` command lines of shell text (continuations joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0]
        if line.lstrip().startswith("xqg-os "):
            found.append(shlex.split(line.replace("$", "")))
    return found


def test_readme_and_demo_command_lines_use_existing_flags() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    lines = [t for block in blocks for t in _command_lines(block)]
    lines += _command_lines((ROOT / "scripts" / "demo").read_text(encoding="utf-8"))
    every = commands()
    checked = 0
    for tokens in lines:
        path = next((p for p in sorted(every, key=len, reverse=True)
                     if tokens[1:1 + len(p.split())] == p.split()), None)
        if path is None:  # a group's subcommand list (cluster start|stop|status) or help
            continue
        used = {t.split("=")[0] for t in tokens if t.startswith("--")}
        assert used <= flags(every[path]), (path, used - flags(every[path]))
        checked += 1
    assert checked >= 8
