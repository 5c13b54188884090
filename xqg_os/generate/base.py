"""The query-generation interface: records, decoding configuration, prompt templates and the
:class:`QueryGenerator` protocol that every backend (seq2seq, OpenAI-compatible, precomputed)
implements.

A generator turns (passage, language) requests into ``n`` queries each. It streams its output
batch by batch (:meth:`QueryGenerator.stream`) so that the caller can append every finished
batch to the query store and a killed run loses at most one batch.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError
from xqg_os.languages import language_name

DEFAULT_MODEL = "ielabgroup/xor-tydi-docTquery-mt5-base"
DEFAULT_TEMPLATE = "Generate a {language} question for this passage: {title} {passage}"
TEMPLATE_FIELDS = frozenset({"language", "lang", "title", "passage", "n"})


@dataclass(frozen=True)
class QueryRequest:
    """Ask for queries in language ``lang`` (ISO 639-1) for one passage."""

    passage: Passage
    lang: str


@dataclass(frozen=True)
class GeneratedQueries:
    """The queries generated for one (passage id, language) pair; one query-store line."""

    id: str
    lang: str
    queries: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The store / precomputed-file layout: ``{"id", "lang", "queries"}``."""
        return {"id": self.id, "lang": self.lang, "queries": list(self.queries)}


@dataclass(frozen=True)
class DecodingConfig:
    """How queries are decoded.

    Sampling (``num_beams == 1``, the paper's setting) draws ``n`` independent sequences with
    top-k / top-p / temperature; beam mode (``num_beams >= n``) is deterministic and returns the
    ``n`` best beams. ``seed`` makes sampling reproducible per (passage id, language).
    """

    top_k: int | None = 10
    top_p: float | None = None
    temperature: float = 1.0
    max_new_tokens: int = 64
    num_beams: int = 1
    seed: int = 42

    def __post_init__(self) -> None:
        if self.top_k is not None and self.top_k < 1:
            raise InputError(f"top_k must be >= 1 (got {self.top_k})", param="top_k")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise InputError(f"top_p must be in (0, 1] (got {self.top_p})", param="top_p")
        if self.temperature <= 0.0:
            raise InputError(f"temperature must be > 0 (got {self.temperature})",
                             param="temperature")
        if self.max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be >= 1 (got {self.max_new_tokens})",
                             param="max_new_tokens")
        if self.num_beams < 1:
            raise InputError(f"num_beams must be >= 1 (got {self.num_beams})", param="num_beams")

    @property
    def do_sample(self) -> bool:
        """Sampling unless beam search was asked for."""
        return self.num_beams == 1

    def check_n(self, n: int) -> None:
        """Refuse ``n`` that the decoding mode cannot deliver (beams need ``num_beams >= n``)."""
        if n < 1:
            raise InputError(f"n must be >= 1 (got {n})", param="n")
        if not self.do_sample and self.num_beams < n:
            raise InputError(f"beam search returns at most num_beams sequences: "
                             f"num_beams {self.num_beams} < n {n}", param=("num_beams", "n"))

    def describe(self) -> dict[str, Any]:
        """JSON-ready parameters, for fingerprints and index ``_meta``."""
        return {**asdict(self), "do_sample": self.do_sample}


def validate_template(template: str) -> str:
    """Check that a prompt template only uses known placeholders; return it.

    Raises:
        InputError: naming the unknown placeholders and the allowed ones.
    """
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InputError(f"malformed template ({exc})", param="template") from None
    unknown = sorted(fields - TEMPLATE_FIELDS)
    if unknown:
        raise InputError(f"unknown placeholder(s) in template: {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(TEMPLATE_FIELDS))}", param="template")
    return template


def render_prompt(template: str, passage: Passage, lang: str, n: int = 1,
                  collapse: bool = True) -> str:
    """Fill a template for one passage and language.

    Args:
        collapse: turn whitespace runs into one space (so an empty title leaves no gap); chat
            prompts keep their line breaks with ``collapse=False``.
    """
    text = template.format(language=language_name(lang), lang=lang, title=passage.title,
                           passage=passage.text, n=n)
    return re.sub(r"\s+", " ", text).strip() if collapse else text.strip()


def derive_seed(seed: int, *parts: object) -> int:
    """A 32-bit seed from a base seed and identifying parts (passage id, language, index).

    Seeds depend only on what they identify, not on batching or order, so a resumed or
    re-sharded run reproduces the queries of an uninterrupted one.
    """
    key = "\x1f".join([str(seed), *map(str, parts)]).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "little")


@runtime_checkable
class QueryGenerator(Protocol):
    """Generates ``n`` queries per (passage, language)."""

    def stream(self, requests: Sequence[QueryRequest], n: int
               ) -> Iterator[list[GeneratedQueries]]:
        """Generate for all ``requests``, yielding each finished batch (any order). A request
        the generator has no queries for (precomputed source lacks it) is left out."""
        ...

    def generate(self, passages: Sequence[Passage], languages: Sequence[str], n: int
                 ) -> list[dict[str, list[str]]]:
        """One dict per passage (same order): language -> its ``n`` queries."""
        ...

    def describe(self) -> dict[str, Any]:
        """Identity of the generator (id, revision, template, decoding, seed): what the output
        depends on. Used for the store fingerprint and index ``_meta``."""
        ...

    def counts(self) -> dict[str, int]:
        """Counters for the run summary (e.g. ``truncated``, ``missing``, ``retries``)."""
        ...


class GeneratorBase:
    """Shared plumbing: :meth:`generate` on top of :meth:`stream`, and counters."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def stream(self, requests: Sequence[QueryRequest], n: int
               ) -> Iterator[list[GeneratedQueries]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def generate(self, passages: Sequence[Passage], languages: Sequence[str], n: int
                 ) -> list[dict[str, list[str]]]:
        """See :meth:`QueryGenerator.generate`."""
        requests = [QueryRequest(passage, lang) for passage in passages for lang in languages]
        found: dict[tuple[str, str], list[str]] = {}
        for batch in self.stream(requests, n):
            for record in batch:
                found[(record.id, record.lang)] = list(record.queries)
        return [{lang: found[(p.id, lang)] for lang in languages if (p.id, lang) in found}
                for p in passages]

    def counts(self) -> dict[str, int]:
        """See :meth:`QueryGenerator.counts`."""
        return dict(self._counts)

    def _count(self, key: str, amount: int = 1) -> None:
        self._counts[key] = self._counts.get(key, 0) + amount
