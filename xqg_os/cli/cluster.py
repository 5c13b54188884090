"""``xqg-os cluster``: start, stop and inspect the local single-node OpenSearch, plain or secured
(``--secure``: TLS, users; see ``opensearch-secure.sh`` beside the node script)."""

from __future__ import annotations

import os
import subprocess
from importlib import resources

import click

from xqg_os.cli.common import XQGGroup


def _script() -> str:
    return str(resources.files("xqg_os").joinpath("opensearch", "opensearch-local"))


def _run(action: str, port: int | None, secure: bool = False) -> None:
    env = dict(os.environ)
    if port is not None:
        env["XQG_OS_PORT"] = str(port)
    code = subprocess.call(["bash", _script(), action, *(["--secure"] if secure else [])],
                           env=env)
    if code:
        raise SystemExit(code)


@click.group(cls=XQGGroup)
def cluster() -> None:
    """Run a local OpenSearch node with the k-NN plugin (no Docker needed).

    Artifacts come from Maven Central on first start and are cached (~/.cache/xqg-os, or
    /var/cache/xqg-os as root); later starts take seconds. As root, the node runs as user
    `xqgos`. With --secure, a separate node (port 9243 by default) runs the security plugin:
    TLS with a local CA, and user admin with the password XQG_OS_ADMIN_PASSWORD (or a
    generated one, kept in a 0600 file).
    """


_port = click.option("--port", type=click.IntRange(1, 65535), default=None,
                     help="HTTP port (default 9200, 9243 with --secure, or XQG_OS_PORT).")
_secure = click.option("--secure", is_flag=True,
                       help="The secured node: TLS on HTTP and transport, users and roles.")


@cluster.command()
@_port
@_secure
def start(port: int | None, secure: bool) -> None:
    """Fetch (once), start and wait for green; prints the URL."""
    _run("start", port, secure)


@cluster.command()
@_port
@_secure
def stop(port: int | None, secure: bool) -> None:
    """Stop the node started on this port (only that process)."""
    _run("stop", port, secure)


@cluster.command()
@_port
@_secure
def status(port: int | None, secure: bool) -> None:
    """Say whether the node runs, with its cluster health."""
    _run("status", port, secure)


@cluster.command()
@_port
def env(port: int | None) -> None:
    """Print export lines for the secured node (URL, user, CA, password file; never the
    password): eval "$(xqg-os cluster env)"."""
    _run("env", port, secure=True)
