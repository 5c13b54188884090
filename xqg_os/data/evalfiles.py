"""Records, readers and writers for evaluation inputs: queries, qrels, answers and TREC runs.

Formats:
- queries: JSONL (``id``, ``text``, ``lang``; ``_id`` and ``question`` accepted) or TSV
  (``id<TAB>text[<TAB>lang]``);
- qrels: TREC (``qid iteration docid relevance``, whitespace separated);
- answers: XOR-TyDi JSONL (``id``, ``question`` or ``text``, ``answers`` list, ``lang``);
- runs: TREC (``qid Q0 docid rank score tag``).

Every reader raises :class:`~xqg_os.errors.InputError` naming the file and line of a problem
(bytes that are not UTF-8 included); files whose names end in ``.gz`` are read through gzip.
Rankings follow trec_eval everywhere: score descending as 32-bit floats, ties broken by doc id
descending.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from xqg_os.data.corpus import read_corpus
from xqg_os.data.jsonl import malformed_line, plain_suffix, read_jsonl, read_lines
from xqg_os.errors import InputError

Run = dict[str, dict[str, float]]
"""A run: query id -> doc id -> score (higher is better)."""

QUERY_FORMATS = ("auto", "jsonl", "tsv")


@dataclass(frozen=True)
class Query:
    """One evaluation query."""

    id: str
    text: str
    lang: str


@dataclass(frozen=True)
class Qrel:
    """One relevance judgement."""

    query_id: str
    doc_id: str
    relevance: int
    iteration: str = "0"


@dataclass(frozen=True)
class Answer:
    """The short answers of one question (XOR-TyDi style)."""

    id: str
    answers: tuple[str, ...]
    question: str = ""
    lang: str = ""


def _field(record: Mapping[str, object], *keys: str) -> str:
    for key in keys:
        value = record.get(key)
        if value is not None:
            return str(value)
    return ""


def _query_rows(path: str | Path, fmt: str) -> Iterator[tuple[int, str, str, str]]:
    """``(line number, id, text, lang)`` of each query line of a ``jsonl`` or ``tsv`` file."""
    if fmt == "tsv":
        for number, line in read_lines(path, "queries"):
            cols = line.split("\t")
            if len(cols) < 2 or len(cols) > 3:
                raise malformed_line(path, number, "expected id<TAB>text[<TAB>lang], got "
                                     f"{len(cols)} column(s)")
            yield number, cols[0].strip(), cols[1], cols[2].strip() if len(cols) > 2 else ""
    else:
        for number, record in read_jsonl(path, "queries"):
            yield (number, _field(record, "id", "_id").strip(), _field(record, "text", "question"),
                   _field(record, "lang").strip())


def read_queries(path: str | Path, fmt: str = "auto",
                 default_lang: str | None = None) -> list[Query]:
    """Read queries from JSONL or TSV, in file order.

    Args:
        path: the queries file.
        fmt: ``auto`` (``.tsv``/``.tab`` means TSV), ``jsonl`` or ``tsv``.
        default_lang: language for queries that carry none; without it such a query is an error.

    Raises:
        InputError: missing file, malformed line, empty id or text, missing language, or a
            duplicate id.
    """
    if fmt not in QUERY_FORMATS:
        raise InputError(f"unknown queries format {fmt!r}; use one of {', '.join(QUERY_FORMATS)}")
    if fmt == "auto":
        fmt = "tsv" if plain_suffix(path) in (".tsv", ".tab") else "jsonl"
    queries: list[Query] = []
    seen: set[str] = set()
    for number, qid, text, lang in _query_rows(path, fmt):
        if not qid:
            raise InputError(f"{path}:{number}: query without an id")
        if not text.strip():
            raise InputError(f"{path}:{number}: query {qid!r} has empty text")
        lang = lang or (default_lang or "")
        if not lang:
            raise InputError(f"{path}:{number}: query {qid!r} has no language; add a lang "
                             "field (JSONL) or third column (TSV), or give a default language")
        if qid in seen:
            raise InputError(f"{path}:{number}: duplicate query id {qid!r}")
        seen.add(qid)
        queries.append(Query(id=qid, text=text, lang=lang))
    return queries


def read_qrels(path: str | Path) -> list[Qrel]:
    """Read TREC qrels (``qid iteration docid relevance``).

    Raises:
        InputError: missing file, a line without four fields or with a non-integer relevance,
            or two lines judging the same (query, doc) pair differently.
    """
    qrels: list[Qrel] = []
    judged: dict[tuple[str, str], int] = {}
    for number, line in read_lines(path, "qrels"):
        cols = line.split()
        if len(cols) != 4:
            raise malformed_line(path, number, "expected 'qid 0 docid relevance', got "
                                 f"{len(cols)} field(s)")
        qid, iteration, docid, rel_text = cols
        try:
            rel = int(rel_text)
        except ValueError:
            raise malformed_line(path, number, f"relevance {rel_text!r} is not an integer"
                                 ) from None
        previous = judged.get((qid, docid))
        if previous is not None:
            if previous != rel:
                raise InputError(f"{path}:{number}: query {qid!r} doc {docid!r} judged twice "
                                 f"with different relevance ({previous} and {rel})")
            continue
        judged[(qid, docid)] = rel
        qrels.append(Qrel(query_id=qid, doc_id=docid, relevance=rel, iteration=iteration))
    return qrels


def read_answers(path: str | Path) -> list[Answer]:
    """Read XOR-TyDi style answers: one JSON object per line with ``id`` and ``answers``.

    ``question`` (or ``text``) and ``lang`` are optional here; evaluation takes languages from
    the queries. A bare string in ``answers`` is taken as a one-answer list.

    Raises:
        InputError: missing file, malformed line, missing ``answers``, or a duplicate id.
    """
    answers: list[Answer] = []
    seen: set[str] = set()
    for number, record in read_jsonl(path, "answers"):
        qid = _field(record, "id", "_id").strip()
        if not qid:
            raise InputError(f"{path}:{number}: answer record without an id")
        raw = record.get("answers")
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(a, (str, int, float)) for a in raw):
            raise InputError(f"{path}:{number}: question {qid!r} needs an 'answers' list of "
                             "strings")
        if qid in seen:
            raise InputError(f"{path}:{number}: duplicate question id {qid!r}")
        seen.add(qid)
        answers.append(Answer(id=qid, answers=tuple(str(a) for a in raw),
                              question=_field(record, "question", "text"),
                              lang=_field(record, "lang").strip()))
    return answers


def check_query_ids(ids: Iterable[str], known: Collection[str], what: str,
                    allow_unknown: bool = False, max_listed: int = 5) -> set[str]:
    """Find ids (of qrels, answers, run entries) that name no known query.

    Returns the unknown ids when ``allow_unknown`` (callers drop them and may warn); otherwise
    raises :class:`InputError` listing a few of them.
    """
    unknown = {qid for qid in ids if qid not in known}
    if unknown and not allow_unknown:
        listed = sorted(unknown)
        shown = ", ".join(repr(qid) for qid in listed[:max_listed])
        more = f" and {len(listed) - max_listed} more" if len(listed) > max_listed else ""
        raise InputError(f"{what} name {len(listed)} query id(s) not in the queries: "
                         f"{shown}{more}; pass the matching queries, or allow unknown ids to "
                         "ignore them")
    return unknown


def qrels_to_dict(qrels: Iterable[Qrel]) -> dict[str, dict[str, int]]:
    """Qrels as ``{query id: {doc id: relevance}}``, the layout ir-measures and pytrec_eval use."""
    result: dict[str, dict[str, int]] = {}
    for qrel in qrels:
        result.setdefault(qrel.query_id, {})[qrel.doc_id] = qrel.relevance
    return result


def read_passage_texts(path: str | Path, ids: Collection[str] | None = None,
                       fmt: str = "auto") -> dict[str, str]:
    """Passage texts (text only, no title: what R@kt reads) by id, streamed from a corpus file
    (any :func:`xqg_os.data.read_corpus` format); with ``ids``, only those are kept."""
    return {passage.id: passage.text for passage in read_corpus(path, fmt, skip_param=None)
            if ids is None or passage.id in ids}


def rank_scores(scores: Mapping[str, float], depth: int | None = None) -> list[tuple[str, float]]:
    """Order one query's ``{doc id: score}`` as trec_eval does: score descending, compared as
    32-bit floats (trec_eval's type, so 0.3 and 0.30000000000000004 tie), ties by doc id
    descending (byte order). ``depth`` keeps only the first that many. The scores returned are
    the ones given."""
    by_doc = sorted(scores.items(), key=lambda item: item[0], reverse=True)
    # array('f') rounds each double to the nearest float (inf beyond its range), as C does
    single = array("f", [score for _, score in by_doc])
    order = sorted(range(len(by_doc)), key=lambda i: -single[i])  # stable: ties keep doc order
    ranked = [by_doc[i] for i in order]
    return ranked if depth is None else ranked[:depth]


def read_run(path: str | Path) -> Run:
    """Read a TREC run file (``qid Q0 docid rank score tag``) into ``{qid: {docid: score}}``.

    The rank column is read but ignored, as trec_eval does: order comes from the scores.

    Raises:
        InputError: missing file, a line without six fields, a non-numeric score, or a doc
            listed twice for one query.
    """
    run: Run = {}
    for number, line in read_lines(path, "run"):
        cols = line.split()
        if len(cols) != 6:
            raise malformed_line(path, number, "expected 'qid Q0 docid rank score tag', got "
                                 f"{len(cols)} field(s)")
        qid, _, docid, _, score_text, _ = cols
        try:
            score = float(score_text)
        except ValueError:
            score = math.nan
        if math.isnan(score):
            raise malformed_line(path, number, f"score {score_text!r} is not a number")
        docs = run.setdefault(qid, {})
        if docid in docs:
            raise InputError(f"{path}:{number}: doc {docid!r} listed twice for query {qid!r}")
        docs[docid] = score
    return run


def write_run(run: Mapping[str, Mapping[str, float]], path: str | Path, tag: str,
              depth: int | None = None) -> int:
    """Write a run as a TREC run file, queries in sorted order, docs in trec_eval order.

    Args:
        run: ``{qid: {docid: score}}``.
        path: output file (parent folders are created).
        tag: the run tag (no whitespace).
        depth: keep at most this many docs per query.

    Returns:
        The number of lines written.
    """
    if not tag or any(ch.isspace() for ch in tag):
        raise InputError(f"run tag {tag!r} must be non-empty and contain no whitespace")
    for qid, docs in run.items():
        bad = [i for i in (qid, *docs) if not i or any(ch.isspace() for ch in i)]
        if bad:
            raise InputError(f"ids that are empty or hold whitespace cannot go in a TREC run: "
                             f"{bad[0]!r} (query {qid!r})")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    lines = 0
    with open(partial, "w", encoding="utf-8") as handle:
        for qid in sorted(run):
            for rank, (docid, score) in enumerate(rank_scores(run[qid], depth), start=1):
                handle.write(f"{qid} Q0 {docid} {rank} {float(score)!r} {tag}\n")
                lines += 1
    partial.replace(path)  # a crash mid-write never leaves a truncated run under the real name
    return lines
