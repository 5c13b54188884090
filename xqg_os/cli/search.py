"""``xqg-os search``: query an xQG index from the shell."""

from __future__ import annotations

import json
import shutil
from typing import Any

import click

from xqg_os.cli.common import XQGCommand, cluster_options
from xqg_os.opensearch.index import VECTOR_FIELDS


@click.command(cls=XQGCommand, renamed={"--k": "--depth"})
@click.argument("text", nargs=-1, required=True)
@click.option("--index", required=True, help="Index (or alias) written by xqg-os ingest.")
@click.option("--depth", "k", type=click.IntRange(1, 10000), default=10, show_default=True,
              help="Passages retrieved.")
@click.option("--field", type=click.Choice(VECTOR_FIELDS), default="xqg_vector",
              show_default=True, help="xqg_vector (augmented) or passage_vector (baseline).")
@click.option("--lang", default=None, help="Only passages of this language (a filter).")
@click.option("--ef-search", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.option("--allow-encoder-mismatch", is_flag=True,
              help="Search even if --encoder differs from the index's encoder.")
@click.option("--encoder", default=None,
              help="Encoder to use instead of the one recorded in the index _meta.")
@cluster_options
def search(text: tuple[str, ...], index: str, k: int, field: str, lang: str | None,
           ef_search: int, as_json: bool, allow_encoder_mismatch: bool, encoder: str | None,
           client_config: Any) -> None:
    """Search INDEX for TEXT (any language): encode it as the index's encoder does and run a
    k-NN query. Prints rank, score, id, lang and the start of title/text."""
    from xqg_os.opensearch.client import make_client
    from xqg_os.search.knn import XQGSearcher

    query = " ".join(text)
    custom = None
    if encoder:
        from xqg_os.encode import EncoderConfig, load_encoder

        custom = load_encoder(EncoderConfig(model=encoder))
    searcher = XQGSearcher(make_client(client_config), index, encoder=custom,
                           allow_encoder_mismatch=allow_encoder_mismatch, ef_search=ef_search,
                           field=field)
    filter_ = {"term": {"lang": lang}} if lang else None
    hits = searcher.search(query, k=k, filter=filter_)
    if as_json:
        for hit in hits:
            click.echo(json.dumps({"rank": hit.rank, "id": hit.id, "score": hit.score,
                                   "lang": hit.lang, "title": hit.title, "text": hit.text},
                                  ensure_ascii=False))
        return
    width = max(40, shutil.get_terminal_size((100, 20)).columns - 40)
    click.echo(f"{'rank':>4}  {'score':>8}  {'id':<12} {'lang':<4}  title / text")
    for hit in hits:
        snippet = (f"{hit.title}: " if hit.title else "") + hit.text.replace("\n", " ")
        click.echo(f"{hit.rank:>4}  {hit.score:8.4f}  {hit.id:<12} {hit.lang:<4}  "
                   f"{snippet[:width]}")
    if not hits:
        click.echo("(no hits)")
