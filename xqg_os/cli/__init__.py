"""The ``xqg-os`` command group: a thin shell over the library. Each command lives in its own
module of this package and is registered here."""

from __future__ import annotations

import click

from xqg_os import __version__
from xqg_os.cli.cluster import cluster
from xqg_os.cli.common import XQGGroup
from xqg_os.cli.data import data
from xqg_os.cli.evaluate import evaluate
from xqg_os.cli.generate import generate
from xqg_os.cli.index import index
from xqg_os.cli.ingest import ingest
from xqg_os.cli.search import search
from xqg_os.cli.study import study


@click.group(cls=XQGGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="xqg-os")
def main() -> None:
    """xQG for OpenSearch: generate cross-lingual queries, ingest query-augmented passage
    vectors into k-NN indexes, search them, evaluate and study the gain."""


main.add_command(cluster)
main.add_command(index)
main.add_command(ingest)
main.add_command(search)
main.add_command(generate)
main.add_command(evaluate)
main.add_command(study)
main.add_command(data)
