"""Where ingest gets each batch's generated queries: a query store written earlier by
``xqg-os generate``, or a generator run on the fly that writes through a store (so a killed
ingest keeps what was generated and a rerun does not generate it again), or none.

:func:`open_query_source` makes the choice from the run's parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError

if TYPE_CHECKING:
    from xqg_os.generate.base import QueryGenerator
    from xqg_os.generate.factory import GeneratorSpec
    from xqg_os.generate.store import QueryStore

Queries = dict[str, dict[str, list[str]]]
QuerySource = Callable[[list[Passage]], Queries]

# where queries generated during an ingest go when no query store folder is given
DEFAULT_GENERATED = "xqg-queries"


def no_queries(batch: list[Passage]) -> Queries:
    """The baseline: no generated queries (xqg_vector = passage_vector)."""
    return {}


@dataclass(frozen=True)
class ChosenSource:
    """A run's query source and the generator's description for the index ``_meta``
    (``None``: no generated queries)."""

    source: QuerySource = no_queries
    description: dict[str, Any] | None = None

    @property
    def has_queries(self) -> bool:
        """Whether the source can return generated queries at all."""
        return self.description is not None


NO_QUERIES = ChosenSource()


@contextmanager
def open_query_source(generated: str | Path | None, languages: Sequence[str], n: int,
                      generator: GeneratorSpec | None = None) -> Iterator[ChosenSource]:
    """Choose where a run's generated queries come from, for the duration of a ``with`` block.

    Args:
        generated: a query store folder (a store, or an output folder holding one).
        languages: the languages whose queries are mixed in.
        n: queries per language.
        generator: with it, queries the store lacks are generated and appended to the store
            under ``generated`` (default :data:`DEFAULT_GENERATED`); without it the store is
            only read, and without a store either there are no queries (:data:`NO_QUERIES`).
    """
    if generator is not None:
        from xqg_os.generate.factory import make_generator
        from xqg_os.outputs import check_writable

        check_writable(generated or DEFAULT_GENERATED, folder=True, param="generated")
        with GeneratingSource(make_generator(generator), generated or DEFAULT_GENERATED,
                              languages, n) as generating:
            yield ChosenSource(generating, generating.description)
    elif generated:
        source, description = store_source(generated, languages, n)
        yield ChosenSource(source, description)
    else:
        yield NO_QUERIES


def store_source(path: str | Path, languages: Sequence[str], n: int, check: bool = True
                 ) -> tuple[QuerySource, dict[str, Any]]:
    """Read queries from a store; returns the source and the store's generator description.
    ``check``: refuse a store that lacks ``languages`` or ``n`` (:func:`check_store`); off for
    a store still being generated, and where the driver has checked already."""
    from xqg_os.generate.store import QueryStore

    store = QueryStore.open(path)
    if check:
        check_store(store, languages, n)
    return (lambda batch: store.get([p.id for p in batch], list(languages), n)), _described(store)


def check_store(store: QueryStore, languages: Sequence[str], n: int) -> None:
    """Refuse, before anything is created, a store that cannot give what the run asks for.

    Raises:
        InputError: the store holds fewer than ``n`` queries per language, or no query at all
            in one of ``languages`` (naming those and the languages it has).
    """
    if n > store.max_n:
        raise InputError(f"query store {store.path} holds {store.max_n} queries per language; "
                         f"n {n} asks for more", param="n")
    held = stored_languages(store, languages)
    missing = [lang for lang in languages if lang not in held]
    if missing:
        raise InputError(f"query store {store.path} has no queries in {', '.join(missing)} "
                         f"(asked for by languages); it has {', '.join(sorted(held)) or 'none'}",
                         param="languages")


def stored_languages(store: QueryStore, wanted: Sequence[str] = ()) -> set[str]:
    """The languages ``store`` holds queries in: its manifest's, and when some of ``wanted``
    are not among them, those its records hold (a run killed before closing its writer has
    not updated the manifest)."""
    held = set(store.describe().get("languages") or ())
    if any(lang not in held for lang in wanted):
        held.update(record.lang for record in store.iter_records())
    return held


def _described(store: QueryStore) -> dict[str, Any]:
    description = store.describe()
    return {key: description.get(key) for key in ("generator", "n", "fingerprint")}


class GeneratingSource:
    """Generate the queries a batch lacks, append them to the store, return all of them.

    Use as a context manager (it holds the store's writer).
    """

    def __init__(self, generator: QueryGenerator, out: str | Path, languages: Sequence[str],
                 n: int) -> None:
        from xqg_os.generate.store import QueryStore

        self.generator = generator
        self.languages = list(languages)
        self.n = n
        self.store = QueryStore.create(out, generator.describe(), n)
        self.description = _described(self.store)
        self._writer: Any = None

    def __enter__(self) -> GeneratingSource:
        self._writer = self.store.writer().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.__exit__(*exc)

    def __call__(self, batch: list[Passage]) -> Queries:
        from xqg_os.generate.base import QueryRequest

        requests = [QueryRequest(passage=p, lang=lang) for p in batch
                    for lang in self._writer.pending(p.id, self.languages)]
        fresh = {(r.passage.id, r.lang) for r in requests}
        result: Queries = {}
        for records in self.generator.stream(requests, self.n):
            self._writer.append(records)
            for record in records:
                result.setdefault(record.id, {})[record.lang] = list(record.queries[:self.n])
        stored = [p.id for p in batch if any((p.id, lang) not in fresh
                                             for lang in self.languages)]
        if stored:  # pairs generated by an earlier (killed) run
            for pid, by_lang in self.store.get(stored, self.languages, self.n).items():
                for lang, queries in by_lang.items():
                    result.setdefault(pid, {}).setdefault(lang, queries)
        return result
