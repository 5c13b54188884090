"""``xqg-os index``: create, delete and inspect xQG k-NN indexes."""

from __future__ import annotations

import json
from typing import Any

import click

from xqg_os.cli.common import XQGGroup, cluster_options
from xqg_os.opensearch.index import ENGINES, SPACE_TYPES, IndexSpec


@click.group(cls=XQGGroup)
def index() -> None:
    """Create, delete and inspect k-NN indexes (mapping from mappings/, _meta included)."""


@index.command(renamed={"--name": "--index"})
@click.option("--index", "name", required=True, help="Index name (lowercase).")
@click.option("--dim", "dimension", required=True, type=int, help="Vector dimension (1-16000).")
@click.option("--engine", type=click.Choice(ENGINES), default="lucene", show_default=True,
              help="k-NN engine; faiss needs a cluster with the plugin's native libraries.")
@click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
              show_default=True)
@click.option("--m", type=int, default=16, show_default=True, help="HNSW graph degree.")
@click.option("--ef-construction", type=int, default=128, show_default=True)
@click.option("--recreate", is_flag=True, help="Delete an existing index of that name first.")
@cluster_options
def create(name: str, dimension: int, engine: str, space_type: str, m: int,
           ef_construction: int, recreate: bool, client_config: Any) -> None:
    """Create an empty xQG index (fields passage_vector and xqg_vector)."""
    from xqg_os.opensearch.client import make_client
    from xqg_os.opensearch.index import create_index

    spec = IndexSpec(name=name, dimension=dimension, engine=engine, space_type=space_type,
                     m=m, ef_construction=ef_construction)
    client = make_client(client_config)
    create_index(client, spec, meta={"created_by": "xqg-os index create"}, recreate=recreate)
    click.echo(f"created index {name} (dim {dimension}, {engine}, {space_type})")


@index.command()
@click.argument("name")
@click.option("--missing-ok", is_flag=True, help="Succeed when the index does not exist.")
@cluster_options
def delete(name: str, missing_ok: bool, client_config: Any) -> None:
    """Delete an index."""
    from xqg_os.opensearch.client import make_client
    from xqg_os.opensearch.index import delete_index

    deleted = delete_index(make_client(client_config), name, missing_ok=missing_ok)
    click.echo(f"deleted index {name}" if deleted else f"index {name} did not exist")


@index.command()
@click.argument("name")
@cluster_options
def info(name: str, client_config: Any) -> None:
    """Print an index's document count, _meta and mapping as JSON."""
    from xqg_os.opensearch.client import make_client
    from xqg_os.opensearch.index import index_info

    click.echo(json.dumps(index_info(make_client(client_config), name), indent=2,
                          ensure_ascii=False))
