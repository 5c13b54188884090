"""``xqg-os search``: query an xQG index from the shell."""

from __future__ import annotations

import json
import shutil
from typing import Any

import click

from xqg_os.cli.common import XQGCommand, cluster_options, comma_list
from xqg_os.opensearch.index import VECTOR_FIELDS
from xqg_os.opensearch.knn import EF_SEARCH_FLOOR, EF_SEARCH_MULTIPLE

# what --json prints of each hit: the fields of xqg_os.search.base.Hit
JSON_FIELDS = ("index", "id", "score", "rank", "lang", "title", "text", "source", "highlight")


class JSONObject(click.ParamType):
    """A JSON object (an OpenSearch query clause) given on the command line."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not JSON ({exc.msg} at character {exc.pos}): {value!r}", param, ctx)
        if not isinstance(parsed, dict) or not parsed:
            self.fail(f"a query clause is a JSON object such as "
                      f"'{{\"term\": {{\"lang\": \"en\"}}}}', not {value!r}", param, ctx)
        return parsed


def _source(includes: str | None, excludes: str | None) -> dict[str, list[str]] | None:
    """The ``source`` option of the two flags (None: the default, all but the vectors)."""
    if includes is None and excludes is None:
        return None
    return {"includes": comma_list(includes), "excludes": comma_list(excludes)}


@click.command(cls=XQGCommand, renamed={"--k": "--depth"})
@click.argument("text", nargs=-1, required=True)
@click.option("--index", required=True, help="Index (or alias) written by xqg-os ingest.")
@click.option("--depth", "k", type=click.IntRange(1, 10000), default=10, show_default=True,
              help="Passages retrieved.")
@click.option("--field", type=click.Choice(VECTOR_FIELDS), default="xqg_vector",
              show_default=True, help="xqg_vector (augmented) or passage_vector (baseline).")
@click.option("--lang", default=None, help="Only passages of this language (a filter).")
@click.option("--filter", "filter_json", type=JSONObject(), default=None, metavar="JSON",
              help="Only passages matching this query clause (an efficient k-NN filter), "
                   "e.g. '{\"terms\": {\"lang\": [\"en\", \"fr\"]}}'.")
@click.option("--from", "from_", type=click.IntRange(0), default=0, show_default=True,
              help="Passages skipped: print ranks --from + 1 to --depth (a page).")
@click.option("--source-includes", default=None, metavar="FIELDS",
              help="_source fields returned (comma-separated; default: all but the vectors).")
@click.option("--source-excludes", default=None, metavar="FIELDS",
              help="_source fields left out (comma-separated; the vectors always, unless "
                   "included).")
@click.option("--highlight", is_flag=True,
              help="Highlight the words of TEXT in title and text.")
@click.option("--ef-search", type=click.IntRange(1), default=None,
              help="k-NN candidate list size (HNSW) [default: "
                   f"{EF_SEARCH_MULTIPLE} x --depth, at least {EF_SEARCH_FLOOR}].")
@click.option("--json", "as_json", is_flag=True,
              help="JSON lines (index, id, score, rank, lang, title, text, source, highlight) "
                   "instead of a table.")
@click.option("--hybrid", default=None, metavar="FUSION",
              help="Fuse BM25 with the k-NN hits: rrf, min_max or l2, optionally :WEIGHT, the "
                   "BM25 weight in [0, 1] (min_max:0.3).")
@click.option("--allow-encoder-mismatch", is_flag=True,
              help="Search even if --encoder differs from the index's encoder.")
@click.option("--encoder", default=None,
              help="Encoder to use instead of the one recorded in the index _meta.")
@cluster_options
def search(text: tuple[str, ...], index: str, k: int, field: str, lang: str | None,
           filter_json: dict[str, Any] | None, from_: int, source_includes: str | None,
           source_excludes: str | None, highlight: bool, ef_search: int | None, as_json: bool,
           allow_encoder_mismatch: bool, encoder: str | None, client_config: Any,
           hybrid: str | None = None) -> None:
    """Search INDEX for TEXT (any language): encode it as the index's encoder does and run a
    k-NN query. Prints rank, score, id, lang and the start of title/text (or the highlighted
    fragments), or with --json the fields of the library's Hit."""
    from xqg_os.opensearch.client import make_client
    from xqg_os.search.fusion import parse_fusion
    from xqg_os.search.knn import XQGSearcher

    query = " ".join(text)
    fusion = parse_fusion(hybrid) if hybrid else None  # a bad --hybrid fails before loading
    source = _source(source_includes, source_excludes)
    custom = None
    if encoder:
        from xqg_os.encode import EncoderConfig, load_encoder

        custom = load_encoder(EncoderConfig(model=encoder))
    searcher = XQGSearcher(make_client(client_config), index, encoder=custom,
                           allow_encoder_mismatch=allow_encoder_mismatch, ef_search=ef_search,
                           field=field)
    clauses = [c for c in ({"term": {"lang": lang}} if lang else None, filter_json) if c]
    filter_ = clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}} if clauses \
        else None
    marked = {"fields": {"title": {}, "text": {}}, "highlight_query": {
        "multi_match": {"query": query, "fields": ["title", "text"]}}} if highlight else None
    if fusion:  # highlights come from the BM25 side of the fusion
        from xqg_os.search.hybrid import HybridSearcher

        hits = HybridSearcher(searcher, fusion).search(query, k=k, filter=filter_, from_=from_,
                                                       source=source, highlight=marked)
    else:
        hits = searcher.search(query, k=k, filter=filter_, from_=from_, source=source,
                               highlight=marked)
    if as_json:
        for hit in hits:
            click.echo(json.dumps({name: getattr(hit, name) for name in JSON_FIELDS},
                                  ensure_ascii=False, default=dict))
        return
    width = max(40, shutil.get_terminal_size((100, 20)).columns - 40)
    click.echo(f"{'rank':>4}  {'score':>8}  {'id':<12} {'lang':<4}  title / text")
    for hit in hits:
        fragments = [part for parts in hit.highlight.values() for part in parts]
        snippet = " … ".join(fragments) if fragments else (
            (f"{hit.title}: " if hit.title else "") + hit.text)
        snippet = snippet.replace("\n", " ")
        click.echo(f"{hit.rank:>4}  {hit.score:8.4f}  {hit.id:<12} {hit.lang:<4}  "
                   f"{snippet[:width]}")
    if not hits:
        click.echo("(no hits)")
