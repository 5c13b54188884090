"""``xqg-os index``: create, delete and inspect xQG k-NN indexes."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import click

from xqg_os.cli.common import XQGGroup, cluster_options
from xqg_os.opensearch.index import (
    ENGINES,
    QUANTIZATIONS,
    SOURCE_VECTORS,
    SPACE_TYPES,
    VECTOR_LAYOUTS,
    IndexSpec,
)


def layout_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The index layout flags of ``index create`` and ``ingest``; passes a ``layout`` dict of
    :class:`~xqg_os.opensearch.index.IndexSpec` keyword arguments."""

    @click.option("--vector-fields", type=click.Choice(tuple(VECTOR_LAYOUTS)), default="both",
                  show_default=True,
                  help="Vector fields of the index: xqg (xqg_vector only, what production "
                       "needs) or both (passage_vector too: the baseline, for evaluation).")
    @click.option("--source-vectors", type=click.Choice(SOURCE_VECTORS), default="auto",
                  show_default=True,
                  help="Vectors in the stored _source: derived (left out, rebuilt on read; "
                       "3.x), stored (kept as JSON), excluded (left out for good; exact "
                       "search then needs saved vectors), auto (derived on 3.x, stored on "
                       "2.x). Generated queries are always stored.")
    @click.option("--quantization", type=click.Choice(QUANTIZATIONS), default="none",
                  show_default=True,
                  help="Vector quantisation: none (float32) or sq (scalar quantisation; 3.x).")
    @click.option("--shards", type=click.IntRange(1), default=1, show_default=True,
                  help="Primary shards of the index.")
    @click.option("--replicas", type=click.IntRange(0), default=0, show_default=True,
                  help="Replicas per shard (restored after a bulk load).")
    @functools.wraps(func)
    def wrapper(*args: Any, vector_fields: str, source_vectors: str, quantization: str,
                shards: int, replicas: int, **kwargs: Any) -> Any:
        kwargs["layout"] = {"vector_fields": vector_fields, "source_vectors": source_vectors,
                            "quantization": quantization, "shards": shards,
                            "replicas": replicas}
        return func(*args, **kwargs)

    return wrapper


@click.group(cls=XQGGroup)
def index() -> None:
    """Create, delete and inspect k-NN indexes (mapping from mappings/, _meta included)."""


@index.command(renamed={"--name": "--index"})
@click.option("--index", "name", required=True, help="Index name (lowercase).")
@click.option("--dim", "dimension", required=True, type=click.IntRange(1, 16000),
              help="Vector dimension.")
@click.option("--engine", type=click.Choice(ENGINES), default="lucene", show_default=True,
              help="k-NN engine; faiss needs a cluster with the plugin's native libraries.")
@click.option("--space-type", type=click.Choice(SPACE_TYPES), default="innerproduct",
              show_default=True)
@click.option("--m", type=click.IntRange(2), default=16, show_default=True,
              help="HNSW graph degree.")
@click.option("--ef-construction", type=click.IntRange(1), default=128, show_default=True)
@click.option("--recreate", is_flag=True, help="Delete an existing index of that name first.")
@layout_options
@cluster_options
def create(name: str, dimension: int, engine: str, space_type: str, m: int,
           ef_construction: int, recreate: bool, layout: dict[str, Any],
           client_config: Any) -> None:
    """Create an empty xQG index (vector fields per --vector-fields, layout in _meta)."""
    from xqg_os.opensearch.client import make_client
    from xqg_os.opensearch.index import create_index

    spec = IndexSpec(name=name, dimension=dimension, engine=engine, space_type=space_type,
                     m=m, ef_construction=ef_construction, **layout)
    client = make_client(client_config)
    create_index(client, spec, meta={"created_by": "xqg-os index create"}, recreate=recreate)
    click.echo(f"created index {name} (dim {dimension}, {engine}, {space_type}, "
               f"{', '.join(spec.fields)}, quantization {spec.quantization})")


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
    """Print an index's document count, aliases, _meta and mapping as JSON (NAME: an index or
    an alias, whose index is shown)."""
    from xqg_os.opensearch.alias import aliases_of
    from xqg_os.opensearch.client import make_client
    from xqg_os.opensearch.meta import index_info

    client = make_client(client_config)
    data = index_info(client, name)
    data = {"index": data["index"], "aliases": aliases_of(client, data["index"]), **data}
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
