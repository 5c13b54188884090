"""``xqg-os cluster``: start, stop and inspect the local single-node OpenSearch."""

from __future__ import annotations

import os
import subprocess
from importlib import resources

import click

from xqg_os.cli.common import XQGGroup


def _script() -> str:
    return str(resources.files("xqg_os").joinpath("opensearch", "opensearch-local"))


def _run(action: str, port: int | None) -> None:
    env = dict(os.environ)
    if port is not None:
        env["XQG_OS_PORT"] = str(port)
    code = subprocess.call(["bash", _script(), action], env=env)
    if code:
        raise SystemExit(code)


@click.group(cls=XQGGroup)
def cluster() -> None:
    """Run a local OpenSearch node with the k-NN plugin (no Docker needed).

    Artifacts come from Maven Central on first start and are cached (~/.cache/xqg-os, or
    /var/cache/xqg-os as root); later starts take seconds. As root, the node runs as user
    `xqgos`.
    """


_port = click.option("--port", type=int, default=None,
                     help="HTTP port (default 9200 or XQG_OS_PORT).")


@cluster.command()
@_port
def start(port: int | None) -> None:
    """Fetch (once), start and wait for green; prints the URL."""
    _run("start", port)


@cluster.command()
@_port
def stop(port: int | None) -> None:
    """Stop the node started on this port (only that process)."""
    _run("stop", port)


@cluster.command()
@_port
def status(port: int | None) -> None:
    """Say whether the node runs, with its cluster health."""
    _run("status", port)
