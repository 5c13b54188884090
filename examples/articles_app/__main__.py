"""``python -m examples.articles_app setup|search``: the application's two steps.

``setup`` creates the application's index and loads its articles, whose ``headline`` and
``body`` ``xqg-os ingest --into-existing --text-fields headline,body`` then reads from the index
itself; ``search`` prints two k-NN pages and the hybrid top
hits for a query. The node is ``--url``, by default ``XQG_OPENSEARCH_URL`` or the local one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from opensearchpy import OpenSearch
from opensearchpy.exceptions import OpenSearchException

from examples.articles_app.articles import CATEGORIES, create_index, load
from examples.articles_app.search import article_filter, serve, show
from xqg_os.errors import XQGError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m examples.articles_app",
                                     description="A tiny articles application with xQG search.")
    parser.add_argument("--url", default=os.environ.get("XQG_OPENSEARCH_URL",
                                                        "http://127.0.0.1:9200"))
    steps = parser.add_subparsers(dest="step", required=True)
    setup = steps.add_parser("setup", help="create the index and load the articles")
    setup.add_argument("--index", default="articles")
    search = steps.add_parser("search", help="k-NN pages and hybrid hits for a query")
    search.add_argument("--index", default="articles")
    search.add_argument("--category", choices=sorted(CATEGORIES))
    search.add_argument("--since", type=int, help="articles from this year on")
    search.add_argument("--size", type=int, default=5, help="hits per page")
    search.add_argument("text")
    return parser


def _setup(url: str, index: str) -> None:
    client = OpenSearch(url)
    if client.indices.exists(index=index):
        sys.exit(f"error: index {index!r} exists already: delete it (xqg-os index delete "
                 f"{index}) or choose another --index")
    create_index(client, index)
    print(f"created {index}: {load(client, index)} articles loaded")


def _search(args: argparse.Namespace) -> None:
    if args.size < 1:
        sys.exit("error: --size must be positive")
    described = ", ".join([f"category {args.category}"] * bool(args.category)
                          + [f"since {args.since}"] * (args.since is not None)) or "no filter"
    results = asyncio.run(serve(args.url, args.index, args.text, args.size,
                                article_filter(args.category, args.since)))
    print(show(results, described))


def main(argv: list[str] | None = None) -> None:
    """Run one step; a problem (no node, no index, an index without xQG) is one line, exit 1."""
    args = _parser().parse_args(argv)
    try:
        if args.step == "setup":
            _setup(args.url, args.index)
        else:
            _search(args)
    except (XQGError, OpenSearchException) as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
