"""Turn a chat model's free-form answer into a list of queries.

Models asked for "n queries, one per line" answer with numbered or bulleted lists, JSON arrays,
code fences, quotes and the occasional preamble ("Here are 5 questions:"). This module accepts
all of these.
"""

from __future__ import annotations

import json
import re

_FENCE = re.compile(r"```[\w-]*\s*\n?(.*?)```", re.DOTALL)
_MARKER = re.compile(r"""^\s*(?:
      [-*•·‣▪–—]+                 # bullets
    | \(?\d{1,3}\s*[.):\]、．]     # 1.  1)  (1)  1:  1]  1、
    | \#{1,6}                      # markdown headings
    | (?:q(?:uery|uestion)?\s*\d*\s*[:.)])   # Q1:  Query 2.  Question:
    )\s*""", re.VERBOSE | re.IGNORECASE)
_QUOTES = "\"'`“”„«»‘’「」『』"


def _clean(line: str) -> str:
    """Strip list markers, emphasis and surrounding quotes from one line."""
    previous = None
    text = line.strip()
    while text != previous:  # markers and quotes can nest: 1. "**query**"
        previous = text
        text = _MARKER.sub("", text, count=1).strip()
        text = text.strip("*_").strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1].strip()
    return text.rstrip(",").strip()


def _from_json(text: str) -> list[str] | None:
    """Queries from a JSON array (or an object holding one), else None."""
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start < 0:
        return None
    try:
        value = json.loads(text[start:])
    except ValueError:
        return None
    if isinstance(value, dict):
        value = next((v for v in value.values() if isinstance(v, list)), None)
    if not isinstance(value, list):
        return None
    return [str(item.get("query", item.get("question", "")) if isinstance(item, dict) else item)
            for item in value]


def parse_queries(text: str, n: int) -> list[str]:
    """Extract exactly ``n`` queries from a model answer.

    Extra queries are dropped; when fewer came back the list is padded by repeating the ones
    there are (so each passage still mixes ``n`` vectors); an answer with no query gives ``[]``.
    Duplicates are removed before padding.
    """
    body = text.strip()
    fenced = _FENCE.findall(body)
    if fenced:
        body = "\n".join(fenced).strip()
    items = _from_json(body) if body[:1] in "[{" else None
    if items is None:
        items = []
        for line in body.splitlines():
            stripped = line.strip()
            if not stripped or (stripped.endswith(":") and not _MARKER.match(stripped)):
                continue  # blank lines and preambles such as "Here are 5 questions:"
            items.append(stripped)
    queries: list[str] = []
    for item in items:
        query = _clean(str(item))
        if query and query not in queries:
            queries.append(query)
    if not queries:
        return []
    while len(queries) < n:
        queries.extend(queries[:n - len(queries)])
    return queries[:n]
