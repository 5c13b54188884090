"""The study scripts name real commands and flags: every ``$X <command>`` line of
scripts/paper-study-gpu (untested on a GPU here) and scripts/manpages-study, with the flags of
the arrays they expand, is checked against the CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.test_cli_vocabulary import commands, flags

ROOT = Path(__file__).resolve().parent.parent


def _lines(text: str) -> list[list[str]]:
    joined = re.sub(r"\\\n\s*", " ", text)
    arrays = {name: shlex.split(body.replace("\n", " ")) for name, body in
              re.findall(r"^(\w+)=\((.*?)\)$", joined, flags=re.S | re.M)}
    found = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        match = re.match(r'^(?:exec\s+)?(?:nice -n \d+ )?(?:\$X|\.venv/bin/xqg-os)\s+(.*)$', line)
        if not match:
            continue
        tokens = []
        for token in shlex.split(match.group(1)):
            array = re.fullmatch(r'\$\{(\w+)\[@\]\}', token)
            tokens += arrays[array.group(1)] if array else [token]
        found.append(tokens)
    return found


@pytest.mark.parametrize("script", ["paper-study-gpu", "manpages-study"])
def test_script_command_lines_use_existing_flags(script: str) -> None:
    every = commands()
    checked = 0
    for tokens in _lines((ROOT / "scripts" / script).read_text(encoding="utf-8")):
        path = next(p for p in sorted(every, key=len, reverse=True)
                    if tokens[:len(p.split())] == p.split())
        used = {t.split("=")[0] for t in tokens if t.startswith("--")}
        assert used <= flags(every[path]), (path, used - flags(every[path]))
        checked += 1
    assert checked >= (7 if script == "paper-study-gpu" else 1)
