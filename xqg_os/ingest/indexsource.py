"""The application's index as the corpus of an ingest into it (``text_fields``).

An application that adds xQG to its own index (:mod:`xqg_os.ingest.existing`) need not export
its documents first: :class:`IndexPassages` reads them from the index, ``search_after`` over
``_id`` (:func:`~xqg_os.opensearch.read.iter_documents`; no scroll, see there), only the
documents that lack the vector yet, and turns each into a :class:`~xqg_os.data.corpus.Passage`
whose id is the document id.

The text fields make the passage as a corpus file's ``title`` and ``text`` would: the first
field is the title and the others, joined by a space, the text (one field: the text alone), so
that the encoder sees ``title + " " + text`` (:func:`~xqg_os.data.corpus.passage_input`), the
same input as for a corpus line ``{"id", "title": headline, "text": body}``. A document whose
text fields are all missing or empty is an empty passage (skipped and counted).

Where the passages came from is recorded in ``_meta.xqg["passages"]``
(:func:`passages_record`), so that a rerun from another source is refused rather than mixing
vectors made from different texts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError
from xqg_os.opensearch.read import iter_documents

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["CORPUS_RECORD", "IndexPassages", "check_same_passages", "passages_record",
           "passage_of"]

# the field types whose values are text an encoder can read
TEXT_TYPES = ("text", "keyword", "match_only_text", "wildcard", "constant_keyword")
# what the side record says of passages read from a corpus file (and, by default, of side
# records written before the key existed)
CORPUS_RECORD: dict[str, Any] = {"source": "corpus"}


def passages_record(text_fields: Sequence[str]) -> dict[str, Any]:
    """What ``_meta.xqg["passages"]`` records of a run's passages: the index's ``text_fields``,
    in order, or (none given) a corpus file."""
    if not text_fields:
        return dict(CORPUS_RECORD)
    return {"source": "index", "index_fields": list(text_fields)}


def _describe(record: dict[str, Any]) -> str:
    fields = record.get("index_fields")
    return f"the index's fields {', '.join(fields)}" if fields else "a corpus file"


def check_same_passages(side: dict[str, Any], wanted: dict[str, Any], index: str) -> None:
    """Refuse a run whose passages come from elsewhere than those of the index's vectors.

    Args:
        side: the index's side record (``_meta.xqg``).
        wanted: this run's ``passages`` record (:func:`passages_record`).
        index: the index, for the message.

    Raises:
        InputError: the side record's passages came from another source or other fields.
    """
    have = side.get("passages", CORPUS_RECORD)
    if have != wanted:
        raise InputError(f"the vectors of index {index!r} were made from {_describe(have)}, "
                         f"this run reads {_describe(wanted)}: give the same "
                         + ("text_fields" if have.get("index_fields") else "corpus") +
                         " as before", param=("corpus", "text_fields"))


def _mapped_field(properties: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The mapping of field ``name`` (dotted through objects), or None."""
    field: dict[str, Any] | None = None
    for part in name.split("."):
        field = properties.get(part)
        if not isinstance(field, dict):
            return None
        properties = field.get("properties") or {}
    return field


def _value(source: dict[str, Any], name: str) -> str:
    """The text of field ``name`` in a document's ``_source`` (dotted through objects, values
    of an array joined by a space; missing: empty)."""
    value: Any = source.get(name)
    if value is None and "." in name:
        value = source
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    values = value if isinstance(value, list) else [value]
    return " ".join(str(v) for v in values if v is not None and not isinstance(v, dict)).strip()


def passage_of(doc_id: str, source: dict[str, Any], text_fields: Sequence[str]) -> Passage:
    """A document as a passage: the first text field the title, the others the text (one
    field: the text); see the module docstring."""
    values = [_value(source, name) for name in text_fields]
    if len(values) == 1:
        return Passage(id=doc_id, text=values[0])
    return Passage(id=doc_id, title=values[0], text=" ".join(v for v in values[1:] if v))


class IndexPassages:
    """The documents of an index that lack ``vector_field``, as passages, ``page`` at a time.

    Iterate for the passages (each pass reads the index again: a later pass leaves out the
    documents that got the vector meanwhile). :attr:`pending` and :attr:`done` count the
    documents without and with the vector when the source was opened.
    """

    def __init__(self, client: OpenSearch, index: str, text_fields: Sequence[str],
                 vector_field: str = "xqg_vector", page: int = 500) -> None:
        """Check the text fields against the index's mapping and count the documents.

        Raises:
            InputError: no text field given, or one the mapping lacks or maps as another type
                than text or keyword.
        """
        from xqg_os.opensearch.meta import index_info

        if not text_fields:
            raise InputError("give the index's text fields to read the passages from",
                             param="text_fields")
        properties = index_info(client, index)["mappings"].get("properties") or {}
        for name in text_fields:
            field = _mapped_field(properties, name)
            if field is None:
                raise InputError(f"index {index!r} maps no field {name!r} (text_fields)",
                                 param="text_fields")
            kind = field.get("type", "object")
            if kind not in TEXT_TYPES:
                raise InputError(f"field {name!r} of index {index!r} is {kind}, not text or "
                                 "keyword (text_fields)", param="text_fields")
        self.client, self.index, self.page = client, index, page
        self.text_fields = tuple(text_fields)
        self.without_text = 0  # documents read that hold none of the text fields
        self._pending_query = {"bool": {"must_not": [{"exists": {"field": vector_field}}]}}
        total = int(client.count(index=index)["count"])
        self.pending = int(client.count(index=index, body={"query": self._pending_query})[
            "count"])
        self.done = total - self.pending

    def __iter__(self) -> Iterator[Passage]:
        for hit in iter_documents(self.client, self.index, self.text_fields, sort_field="_id",
                                  page=self.page, query=self._pending_query):
            source = hit.get("_source") or {}
            if not any(_value(source, name) for name in self.text_fields):
                self.without_text += 1
            yield passage_of(str(hit["_id"]), source, self.text_fields)
