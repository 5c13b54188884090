"""The README's secured-cluster block runs as written, through bash, against the local secured
test node (its ``start --secure`` finds the node running and prints the URL)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.secure]

ROOT = Path(__file__).resolve().parent.parent


def secured_block() -> str:
    """The first bash block of the README's "Secured clusters" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Secured clusters\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_secured_block_runs_as_written(secure_node: Any) -> None:
    parts = urlsplit(secure_node.url)
    if parts.hostname != "127.0.0.1" or secure_node.folder is None:
        pytest.skip("the block drives the local secured node (opensearch-local)")
    block = secured_block()
    assert "scripts/opensearch-local start --secure" in block
    env = {k: v for k, v in os.environ.items() if not k.startswith("XQG_OPENSEARCH_")}
    env |= {"XQG_OS_PORT": str(parts.port),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == secure_node.url
    assert "created index secured-demo" in result.stdout
    assert '"index": "secured-demo"' in result.stdout
    assert secure_node.password not in result.stdout + result.stderr
