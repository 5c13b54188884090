"""What the cases of :mod:`tests.bad_inputs` prepare before they run: bad files in the case's
folder, and indexes or aliases on the node. Each setup is called with the case's folder and
:class:`Names` (the node's URL and the index names the case may use)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[1] / "xqg_os" / "sample"


@dataclass(frozen=True)
class Names:
    """The node and the index names of one case: ``index`` (and ``index``-real, the index behind
    an alias) are deleted after it."""

    url: str
    index: str
    values: dict[str, str] = field(default_factory=dict)  # placeholders a setup adds
    closing: list[Callable[[], None]] = field(default_factory=list)  # run after the case

    @property
    def made(self) -> tuple[str, ...]:
        """Every index a case may create."""
        return (self.index, f"{self.index}-real")


Setup = Callable[[Path, Names], None]


def files(**contents: bytes | str) -> Setup:
    """Write files into the case's folder (``afile=""``: an empty file named afile)."""

    def setup(tmp: Path, names: Names) -> None:
        for name, content in contents.items():
            data = content.encode() if isinstance(content, str) else content
            (tmp / name.replace("__", ".")).write_bytes(data)

    return setup


NOT_UTF8 = b'{"id": "p1", "title": "Caf\xe9", "text": "caf\xe9 au lait"}\n'
NOT_JSON = '{"id": "p1", "title": "t", "text": "an unterminated line\n'
NOT_UTF8_QUERIES = b'{"id": "q1", "text": "caf\xe9", "lang": "fr"}\n'


def _client(names: Names) -> Any:
    from xqg_os.opensearch.client import ClientConfig, make_client

    return make_client(ClientConfig(url=names.url))


def index_of_dim(dimension: int) -> Setup:
    """An empty xQG index ``names.index`` whose vectors have ``dimension`` dimensions."""

    def setup(tmp: Path, names: Names) -> None:
        from xqg_os.opensearch.index import IndexSpec, create_index

        create_index(_client(names), IndexSpec(name=names.index, dimension=dimension))

    return setup


def alias(tmp: Path, names: Names) -> None:
    """``names.index`` as an alias of an empty index ``names.index``-real."""
    client = _client(names)
    client.indices.create(index=f"{names.index}-real")
    client.indices.put_alias(index=f"{names.index}-real", name=names.index)


def cleanup(names: Names) -> None:
    """Delete what a case may have created on the node."""
    client = _client(names)
    for name in names.made:
        if client.indices.exists_alias(name=name):
            continue  # deleted with the index behind it
        client.indices.delete(index=name, ignore_unavailable=True)


def unwritable(tmp: Path) -> str:
    """A folder path nobody may create: under a read-only folder (mode 0555), or for root, who
    ignores permission bits, under /proc."""
    if os.geteuid() == 0:
        return "/proc/xqg-bad-inputs/out"
    folder = tmp / "readonly"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o555)
    return str(folder / "out")


def query_store(languages: str) -> Setup:
    """A query store in ``{tmp}/q`` holding the sample's precomputed queries in ``languages``."""

    def setup(tmp: Path, names: Names) -> None:
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "xqg_os.cli", "generate", "--corpus",
                        str(SAMPLE / "corpus.jsonl"), "--generator", "precomputed",
                        "--precomputed", str(SAMPLE / "precomputed_queries.jsonl"),
                        "--languages", languages, "--n", "2", "--out", str(tmp / "q"),
                        "--quiet"], check=True, capture_output=True)

    return setup


def tls_server(tmp: Path, names: Names) -> None:
    """An HTTPS server with a self-signed certificate, as ``{tls}`` (host:port), stopped after
    the case: a cluster whose CA the user did not give, and a TLS port to send http to."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.fixtures.sigv4 import make_certificate

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = b'{"version": {"number": "3.4.0", "distribution": "opensearch"}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    certificate = make_certificate(tmp)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    names.values["tls"] = f"127.0.0.1:{server.server_address[1]}"
    names.closing.extend([server.shutdown, server.server_close])
