"""Records and readers for corpora: JSONL (``id``, ``title``, ``text``), BEIR ``corpus.jsonl``
(``_id``, ``title``, ``text``) and TSV (id, text, title); any of them gzipped (``.gz``).

Readers stream: they never hold the corpus in memory. :func:`scan_corpus` makes one validating
pass first (bad lines, duplicate ids, empty passages, count for progress bars), so a run fails
before it writes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xqg_os.data.jsonl import JsonObject, malformed_line, plain_suffix, read_jsonl, read_lines
from xqg_os.errors import InputError

CORPUS_FORMATS = ("auto", "jsonl", "beir", "tsv")
SKIP_PARAM = "skip_bad_lines"  # the parameter a malformed-line error names as the way out


@dataclass(frozen=True)
class Passage:
    """One passage of a corpus."""

    id: str
    text: str
    title: str = ""
    lang: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


@dataclass
class CorpusStats:
    """What a pass over a corpus saw."""

    passages: int = 0
    empty: int = 0
    bad_lines: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def detect_format(path: str | Path) -> str:
    """Guess the corpus format from the file name and, for JSONL, the first record's keys."""
    path = Path(path)
    if plain_suffix(path) in (".tsv", ".tab"):
        return "tsv"
    # the first valid record decides; the reading pass reports bad lines with their numbers
    for _, record in read_jsonl(path, "corpus", bad_lines=[]):
        return "beir" if "_id" in record else "jsonl"
    return "jsonl"


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputError(f"corpus file not found: {path}")
    if path.is_dir():
        candidate = path / "corpus.jsonl"
        raise InputError(
            f"{path} is a folder; pass the corpus file"
            + (f" ({candidate})" if candidate.exists() else "")
        )


def _passage(record: JsonObject, id_key: str) -> Passage:
    """The passage of one JSONL record; ``ValueError`` naming what it lacks."""
    raw_id = record.get(id_key, record.get("id", record.get("_id")))
    if raw_id is None or str(raw_id).strip() == "":
        raise ValueError(f"no '{id_key}' field")
    text = record.get("text")
    if text is None:
        raise ValueError("no 'text' field")
    return Passage(id=str(raw_id), text=str(text), title=str(record.get("title") or ""),
                   lang=str(record.get("lang") or ""))


def _jsonl_records(path: Path, fmt: str, skip_bad_lines: bool, stats: CorpusStats,
                   skip_param: str | None) -> Iterator[Passage]:
    id_key = "_id" if fmt == "beir" else "id"
    bad_lines = stats.bad_lines if skip_bad_lines else None
    for number, record in read_jsonl(path, "corpus", bad_lines, skip_param):
        try:
            passage = _passage(record, id_key)
        except ValueError as exc:
            if not skip_bad_lines:
                raise malformed_line(path, number, str(exc), skip_param) from None
            stats.bad_lines.append(number)
            continue
        yield passage


def _tsv_records(path: Path, skip_bad_lines: bool, stats: CorpusStats,
                 skip_param: str | None) -> Iterator[Passage]:
    # fields hold no quoting: split on tabs, as csv with QUOTE_NONE would
    bad_lines = stats.bad_lines if skip_bad_lines else None
    for number, line in read_lines(path, "corpus", bad_lines, skip_param):
        row = line.split("\t")
        if number == 1 and row[0].strip().lower() in ("id", "_id", "docid", "pid"):
            continue  # header
        if len(row) < 2 or not row[0].strip():
            if not skip_bad_lines:
                raise malformed_line(path, number, "expected id<TAB>text[<TAB>title]",
                                     skip_param)
            stats.bad_lines.append(number)
            continue
        yield Passage(id=row[0].strip(), text=row[1], title=row[2] if len(row) > 2 else "")


def read_corpus(path: str | Path, fmt: str = "auto", skip_bad_lines: bool = False,
                stats: CorpusStats | None = None, skip_param: str | None = SKIP_PARAM
                ) -> Iterator[Passage]:
    """Stream the passages of a corpus file, in file order.

    Args:
        path: the corpus file.
        fmt: one of :data:`CORPUS_FORMATS`.
        skip_bad_lines: count malformed lines in ``stats`` instead of raising.
        stats: optional accumulator for bad lines.
        skip_param: the parameter a malformed-line error names as the way out
            (``skip_bad_lines``); None for a caller that does not offer skipping.

    Raises:
        InputError: for a missing file or, unless ``skip_bad_lines``, a malformed line.
    """
    path = Path(path)
    _check_exists(path)
    if fmt not in CORPUS_FORMATS:
        raise InputError(f"unknown corpus format {fmt!r}; use one of {', '.join(CORPUS_FORMATS)}")
    if fmt == "auto":
        fmt = detect_format(path)
    stats = stats if stats is not None else CorpusStats()
    if fmt == "tsv":
        yield from _tsv_records(path, skip_bad_lines, stats, skip_param)
    else:
        yield from _jsonl_records(path, fmt, skip_bad_lines, stats, skip_param)


def scan_corpus(path: str | Path, fmt: str = "auto", skip_bad_lines: bool = False,
                max_reported: int = 10, each: Callable[[Passage], None] | None = None
                ) -> CorpusStats:
    """Validate a corpus in one streaming pass.

    Counts passages and empty passages, collects bad line numbers (with ``skip_bad_lines``) and
    raises :class:`InputError` naming duplicate ids, so that nothing is written for a corpus that
    cannot be processed. Memory: one set of ids. ``each`` is called with every passage read, in
    file order (another check made in the same pass).
    """
    stats = CorpusStats()
    seen: set[str] = set()
    for passage in read_corpus(path, fmt, skip_bad_lines, stats):
        stats.passages += 1
        if each is not None:
            each(passage)
        if passage.is_empty:
            stats.empty += 1
        if passage.id in seen:
            stats.duplicates.append(passage.id)
        else:
            seen.add(passage.id)
    if stats.duplicates:
        shown = ", ".join(sorted(set(stats.duplicates))[:max_reported])
        more = len(set(stats.duplicates)) - max_reported
        raise InputError(f"{path}: duplicate passage ids: {shown}"
                         + (f" (and {more} more)" if more > 0 else ""))
    return stats


def passage_input(passage: Passage, sep: str = " ") -> str:
    """The text an encoder sees for a passage: ``title + sep + text`` (title optional)."""
    return f"{passage.title}{sep}{passage.text}" if passage.title else passage.text
