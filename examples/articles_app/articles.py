"""The application's own index: its mapping and its articles.

The articles are the passages of the bundled sample (``xqg_os/sample/corpus.jsonl``) with the
application's fields: ``headline`` and ``body`` (text), ``category`` and ``url`` (keyword),
``year`` (integer). The index is created with ``index.knn: true`` (fixed at creation, needed
for the xQG vectors added later) and a strict mapping; ``_meta`` records the application's
schema, which ``xqg-os ingest --into-existing`` keeps beside its own ``xqg`` record. xqg-os
reads the articles' text from the index itself (``--text-fields headline,body``): nothing is
exported.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from importlib import resources
from typing import Any

from opensearchpy import OpenSearch, helpers

__all__ = ["APP_META", "MAPPING", "articles", "create_index", "load"]

APP_META = {"app": "articles", "schema_version": 2}
MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": APP_META,
    "properties": {
        "headline": {"type": "text"},
        "body": {"type": "text"},
        "category": {"type": "keyword"},
        "year": {"type": "integer"},
        "url": {"type": "keyword"},
    },
}
# the sample's passage ids by the application's category
CATEGORIES = {
    "science": "p03 p05 p06 p08 p17 p25 p29 p34 p44 p51 p53 p58",
    "geography": "p02 p07 p09 p12 p16 p35 p36 p37 p43 p60",
    "history": "p04 p13 p20 p24 p28 p31 p33 p38 p40 p46 p48 p52 p56",
    "culture": "p10 p14 p15 p21 p22 p23 p27 p32 p39 p47 p49 p54 p55",
    "food": "p18 p30 p41 p50 p59",
    "technology": "p01 p11 p19 p26 p42 p45 p57",
}
CATEGORY_OF = {pid: name for name, ids in CATEGORIES.items() for pid in ids.split()}


def articles() -> Iterator[tuple[str, dict[str, Any]]]:
    """The application's articles: ``(id, document)`` for each passage of the sample."""
    sample = resources.files("xqg_os").joinpath("sample", "corpus.jsonl")
    for line in sample.read_text(encoding="utf-8").splitlines():
        passage = json.loads(line)
        pid, number = passage["id"], int(passage["id"][1:])
        ascii_title = unicodedata.normalize("NFKD", passage["title"]).encode("ascii", "ignore")
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.decode().lower()).strip("-")
        yield pid, {"headline": passage["title"], "body": passage["text"],
                    "category": CATEGORY_OF[pid], "year": 2012 + number % 12,
                    "url": f"https://articles.example/{slug}"}


def create_index(client: OpenSearch, index: str) -> None:
    """Create the application's index (``index.knn: true``, its strict mapping and ``_meta``)."""
    client.indices.create(index=index, body={"settings": {"index": {"knn": True}},
                                             "mappings": MAPPING})


def load(client: OpenSearch, index: str) -> int:
    """Index the articles by id (a rerun overwrites them); returns how many were written."""
    actions = ({"_index": index, "_id": pid, "_source": doc} for pid, doc in articles())
    written, _ = helpers.bulk(client, actions, refresh=True)
    return int(written)

