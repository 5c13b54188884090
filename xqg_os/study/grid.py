"""The sweep grid: values of n, alpha, formula and language subset, and the points they span.

A language subset is ``all`` (every generated language), ``same`` (only the query's language),
``others`` (every generated language but the query's) or an explicit list joined by ``+``
(``ar+bn``). ``same`` and ``others`` depend on the query's language, so the passage vectors of
one grid point differ per query language.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from xqg_os.augment import FORMULAS
from xqg_os.errors import InputError
from xqg_os.languages import LANGUAGE_NAMES

LANGUAGE_MODES = ("all", "same", "others")


def parse_language_spec(spec: str) -> str:
    """Validate one language subset (``all``, ``same``, ``others`` or ``ar+bn``); return it
    normalised (explicit lists lower-cased, de-duplicated, in order).

    Raises:
        InputError: for an empty spec or an unknown language code.
    """
    text = spec.strip().lower()
    if text in LANGUAGE_MODES:
        return text
    codes = list(dict.fromkeys(code.strip() for code in text.split("+") if code.strip()))
    if not codes:
        raise InputError(f"empty language subset {spec!r}; use all, same, others or e.g. ar+bn")
    unknown = [code for code in codes if code not in LANGUAGE_NAMES]
    if unknown:
        raise InputError(f"unknown language code(s) {', '.join(unknown)} in subset {spec!r}; "
                         "use all, same, others or codes joined by + (ar+bn)")
    return "+".join(codes)


def resolve_languages(spec: str, query_lang: str | None, generated: Sequence[str]
                      ) -> list[str]:
    """The generated languages a subset means for queries in ``query_lang``.

    Args:
        spec: a normalised subset (see :func:`parse_language_spec`).
        query_lang: the queries' language; needed by ``same`` and ``others``.
        generated: the languages that have generated queries, in order.

    Raises:
        InputError: when ``same``/``others`` is asked without a query language.
    """
    if spec == "all":
        return list(generated)
    if spec in ("same", "others"):
        if not query_lang:
            raise InputError(f"language subset {spec!r} needs the queries' language")
        if spec == "same":
            return [lang for lang in generated if lang == query_lang]
        return [lang for lang in generated if lang != query_lang]
    return [lang for lang in spec.split("+") if lang in generated]


def depends_on_query_language(spec: str) -> bool:
    """Whether the subset differs per query language (``same``, ``others``)."""
    return spec in ("same", "others")


def _positive_ints(values: Sequence[int], what: str) -> tuple[int, ...]:
    result = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{what} must be non-negative integers, not {value!r}")
        result.append(value)
    return tuple(sorted(set(result)))


@dataclass(frozen=True)
class Grid:
    """The values a sweep crosses.

    Attributes:
        ns: generated queries per passage and language (0 is the un-augmented baseline).
        alphas: mixing weights in [0, 1].
        formulas: ``sum`` and/or ``mean`` (``none`` is the n=0 baseline).
        languages: language subsets (see the module docstring).
    """

    ns: tuple[int, ...] = (0, 1, 2, 4, 8)
    alphas: tuple[float, ...] = (0.01,)
    formulas: tuple[str, ...] = ("sum",)
    languages: tuple[str, ...] = ("all",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ns", _positive_ints(self.ns, "n values"))
        if not self.ns:
            raise InputError("the grid needs at least one n")
        alphas = []
        for alpha in self.alphas:
            if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) \
                    or not math.isfinite(alpha) or not 0.0 <= alpha <= 1.0:
                raise InputError(f"alpha values must be numbers in [0, 1], not {alpha!r}")
            alphas.append(float(alpha))
        if not alphas:
            raise InputError("the grid needs at least one alpha")
        object.__setattr__(self, "alphas", tuple(sorted(set(alphas))))
        for formula in self.formulas:
            if formula not in FORMULAS or formula == "none":
                raise InputError(f"unknown sweep formula {formula!r}; use sum and/or mean")
        if not self.formulas:
            raise InputError("the grid needs at least one formula")
        object.__setattr__(self, "formulas", tuple(dict.fromkeys(self.formulas)))
        specs = tuple(dict.fromkeys(parse_language_spec(s) for s in self.languages))
        if not specs:
            raise InputError("the grid needs at least one language subset")
        object.__setattr__(self, "languages", specs)

    @classmethod
    def parse(cls, ns: str, alphas: str, formulas: str, languages: str) -> Grid:
        """Build a grid from comma-separated CLI values (``"0,1,2,4,8"``, ``"0.01,0.1"``,
        ``"sum,mean"``, ``"all,same,others"``)."""
        try:
            n_values = tuple(int(v) for v in _items(ns))
        except ValueError:
            raise InputError(f"ns must be comma-separated integers, not {ns!r}",
                             param="ns") from None
        try:
            alpha_values = tuple(float(v) for v in _items(alphas))
        except ValueError:
            raise InputError(f"alphas must be comma-separated numbers, not {alphas!r}",
                             param="alphas") from None
        return cls(n_values, alpha_values, tuple(_items(formulas)), tuple(_items(languages)))

    @property
    def max_n(self) -> int:
        """The largest n (what the query store must hold)."""
        return max(self.ns)

    def points(self) -> Iterator[tuple[int, float, str, str]]:
        """Every ``(n, alpha, formula, languages)``, n slowest."""
        yield from itertools.product(self.ns, self.alphas, self.formulas, self.languages)

    def __len__(self) -> int:
        return len(self.ns) * len(self.alphas) * len(self.formulas) * len(self.languages)

    def describe(self) -> dict[str, list[object]]:
        """JSON-ready values."""
        return {"n": list(self.ns), "alpha": list(self.alphas), "formula": list(self.formulas),
                "languages": list(self.languages)}


def _items(text: str) -> list[str]:
    return [item.strip() for item in str(text).split(",") if item.strip()]


@dataclass(frozen=True)
class Point:
    """One measured configuration: a row group of the study CSV.

    Attributes:
        arm: ``xqg`` (augmentation of the base encoder), ``train`` (a fine-tuned checkpoint,
            no augmentation) or ``train+xqg`` (augmentation on top of a checkpoint).
        n / alpha / formula / languages: the augmentation (n=0: none).
        train_pairs: training pairs the encoder was fine-tuned on (0: the base encoder).
        model: the encoder's name (a checkpoint folder name for trained ones).
        task: the evaluation data's name.
    """

    arm: str
    n: int
    alpha: float
    formula: str
    languages: str
    train_pairs: int = 0
    model: str = ""
    task: str = ""

    @property
    def is_plain(self) -> bool:
        """True when no query changes the passage vectors (n=0, alpha=0)."""
        return self.n == 0 or self.alpha == 0.0 or self.formula == "none"

    def system(self) -> str:
        """A unique, readable system name for the evaluator."""
        if self.is_plain:
            mix = "plain"
        else:
            mix = f"n={self.n} alpha={self.alpha:g} {self.formula} lang={self.languages}"
        return f"{self.arm} pairs={self.train_pairs} {self.model} {mix}"
