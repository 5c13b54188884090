"""xQG retrieval as an mteb v2 ``SearchProtocol`` model.

``index`` encodes the task's corpus, reads each passage's generated queries from a query store
and pools their vectors (through the embedding stores, so other variants reuse them);
``search`` encodes the task's queries and retrieves exactly over the augmented vectors, which
for the ``same`` / ``others`` language subsets are mixed per query language. The model meta's
name and revision encode the encoder, the generator, the query store and the variant (n,
alpha, formula, languages), so mteb's result cache never mixes two variants up.

mteb itself is imported only to build the :class:`ModelMeta`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from xqg_os.augment import FORMULA_VERSION, FORMULAS
from xqg_os.data.corpus import Passage
from xqg_os.data.evalfiles import Run
from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError
from xqg_os.fingerprint import fingerprint
from xqg_os.generate.store import QueryStore
from xqg_os.opensearch.index import SPACE_TYPES
from xqg_os.study.bank import VectorBank, build_bank, encode_texts_cached
from xqg_os.study.grid import depends_on_query_language, parse_language_spec, resolve_languages
from xqg_os.study.mteb.langs import subset_query_language
from xqg_os.study.sweep import exact_run

logger = logging.getLogger(__name__)
_SIMILARITY = {"innerproduct": "dot", "cosinesimil": "cosine", "l2": "euclidean"}


@dataclass(frozen=True)
class XQGVariant:
    """One xQG configuration: ``n`` queries per language (0: plain dense retrieval), mixed with
    weight ``alpha`` by ``formula``, from the ``languages`` subset (``all``, ``same``,
    ``others`` or ``ar+bn``)."""

    n: int = 0
    alpha: float = 0.01
    formula: str = "sum"
    languages: str = "all"

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise InputError(f"n must be a non-negative integer, not {self.n!r}")
        if not 0.0 <= float(self.alpha) <= 1.0:
            raise InputError(f"alpha must be in [0, 1], not {self.alpha!r}")
        if self.formula not in FORMULAS:
            raise InputError(f"unknown formula {self.formula!r}; use one of {', '.join(FORMULAS)}")
        object.__setattr__(self, "languages", parse_language_spec(self.languages))

    @property
    def is_plain(self) -> bool:
        """No augmentation: the encoder's own passage vectors."""
        return self.n == 0 or self.alpha == 0.0 or self.formula == "none"

    def describe(self) -> dict[str, Any]:
        """JSON-ready values; a plain variant is described as such (all plain ones are equal)."""
        if self.is_plain:
            return {"n": 0, "alpha": 0.0, "formula": "none", "languages": "none"}
        return {**asdict(self), "alpha": float(self.alpha)}


def model_meta(encoder_desc: dict[str, Any], store_desc: dict[str, Any] | None,
               variant: XQGVariant, space_type: str = "innerproduct",
               id_template: str = "{id}") -> Any:
    """An mteb ``ModelMeta`` whose name and revision identify this exact xQG variant.

    name: ``xqg-os/<encoder>``; revision: ``xqg-<fingerprint>`` of the encoder description, the
    generator and query-store fingerprint, the variant, the space type, the id template and
    the formula version; ``experiment_kwargs`` repeat the variant readably (mteb adds them to
    the result path).
    """
    from mteb.models.model_meta import ModelMeta, ScoringFunction

    model = str(encoder_desc.get("model") or "encoder")
    short = Path(model).name if ("/" in model and Path(model).exists()) else model
    short = short.replace("/", "__").replace(" ", "_") or "encoder"
    generator = (store_desc or {}).get("generator") or {}
    plain = variant.is_plain
    identity = {
        "encoder": {k: v for k, v in encoder_desc.items() if k != "dtype"},
        "dtype": encoder_desc.get("dtype"),
        "generator": None if plain else generator,
        "query_store": None if plain else (store_desc or {}).get("fingerprint"),
        "variant": variant.describe(), "space_type": space_type,
        "id_template": None if plain else id_template, "formula_version": FORMULA_VERSION}
    described = variant.describe()
    kwargs = {**described, "generator": str(generator.get("model") or generator.get("kind")
                                            or "none") if not plain else "none"}
    return ModelMeta.create_empty(overwrites={
        "name": f"xqg-os/{short}", "revision": "xqg-" + fingerprint(identity),
        "embed_dim": int(encoder_desc.get("dimension") or 0) or None,
        "similarity_fn_name": ScoringFunction(_SIMILARITY[space_type]), "framework": ["PyTorch"],
        "use_instructions": False, "adapted_from": model,
        "max_tokens": encoder_desc.get("passage_max_length"), "modalities": ["text"],
        "experiment_kwargs": kwargs})


class XQGSearchModel:
    """An mteb ``SearchProtocol`` over an xqg-os encoder and query store.

    Args:
        encoder: the dense encoder (queries, passages and generated queries).
        query_store: generated queries for the task's documents (needed when ``variant.n > 0``).
        variant: the xQG configuration.
        cache_root: embedding-store folder (default: a temporary one, removed by :meth:`close`).
        id_template: how a document id maps to a query-store id: ``{id}``, with ``{subset}``
            and ``{split}`` available for tasks whose subsets reuse ids.
        space_type: ``innerproduct``, ``cosinesimil`` or ``l2``.
        generated_languages: generated languages to load (default: all in the store).
        progress: show encoding progress bars.
    """

    def __init__(self, encoder: Encoder, query_store: QueryStore | None = None,
                 variant: XQGVariant | None = None, cache_root: str | Path | None = None,
                 id_template: str = "{id}", space_type: str = "innerproduct",
                 generated_languages: Sequence[str] | None = None,
                 progress: bool = False) -> None:
        self.encoder = encoder
        self.variant = variant or XQGVariant()
        if not self.variant.is_plain and query_store is None:
            raise InputError("an xQG variant with n > 0 needs a query store")
        if query_store is not None and self.variant.n > query_store.max_n:
            raise InputError(f"the query store holds n={query_store.max_n} per language; "
                             f"the variant asks for {self.variant.n}")
        if space_type not in SPACE_TYPES:
            raise InputError(f"unknown space type {space_type!r}; use one of "
                             + ", ".join(SPACE_TYPES))
        try:
            id_template.format(id="x", subset="s", split="t")
        except (KeyError, IndexError, ValueError):
            raise InputError(f"bad id template {id_template!r}; use {{id}}, {{subset}}, "
                             "{split}") from None
        self.query_store = query_store
        self.id_template = id_template
        self.space_type = space_type
        self.generated_languages = list(generated_languages) if generated_languages else None
        self.progress = progress
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if cache_root is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="xqg-mteb-")
            cache_root = self._scratch.name
        self.cache_root = Path(cache_root)
        self._meta = model_meta(encoder.describe(), query_store.describe() if query_store
                                else None, self.variant, space_type, id_template)
        self._bank: VectorBank | None = None
        self._corpus_ids: list[str] = []

    @property
    def mteb_model_meta(self) -> Any:
        """The variant's ``ModelMeta`` (see :func:`model_meta`)."""
        return self._meta

    def index(self, corpus: Any, *, task_metadata: Any, hf_split: str, hf_subset: str,
              encode_kwargs: Any, num_proc: int | None = None, **kwargs: Any) -> None:
        """Encode the corpus and pool the generated queries of its documents."""
        columns = set(corpus.column_names)
        titles = corpus["title"] if "title" in columns else [""] * len(corpus)
        self._corpus_ids = [str(i) for i in corpus["id"]]
        passages = [Passage(id=self.id_template.format(id=doc, subset=hf_subset, split=hf_split),
                            text=str(text or ""), title=str(title or ""))
                    for doc, text, title in zip(self._corpus_ids, corpus["text"], titles)]
        plain = self.variant.is_plain
        self._bank = build_bank(self.encoder, passages, self.cache_root,
                                None if plain else self.query_store, self.generated_languages,
                                [] if plain else [self.variant.n], progress=self.progress)
        missing = 0 if plain else self._bank.without_queries()
        if missing:  # e.g. an --id-template that does not match the store's ids
            logger.warning("%s/%s: %d of %d documents have no generated query in the store "
                           "(id template %r); they keep their plain vectors", hf_subset,
                           hf_split, missing, len(passages), self.id_template)

    def search(self, queries: Any, *, task_metadata: Any, hf_split: str, hf_subset: str,
               top_k: int, encode_kwargs: Any, top_ranked: Any = None,
               num_proc: int | None = None, **kwargs: Any) -> Run:
        """Encode the queries and retrieve the top ``top_k`` over the augmented corpus."""
        if self._bank is None:
            raise InputError("index() must run before search()")
        if top_ranked is not None:
            raise InputError("reranking tasks (top_ranked candidates) are not supported; use a "
                             "retrieval task")
        ids = [str(i) for i in queries["id"]]
        texts = [str(t) for t in queries["text"]]
        vectors = encode_texts_cached(self.encoder, self.cache_root, ids, texts, "query",
                                      progress=self.progress)
        if "lang" in queries.column_names:
            langs = [str(lang) for lang in queries["lang"]]
        else:
            langs = [subset_query_language(task_metadata, hf_subset) or ""] * len(ids)
        groups: dict[str, list[int]] = {}
        spec = self.variant.languages
        for row, lang in enumerate(langs):
            groups.setdefault(lang if depends_on_query_language(spec) else "", []).append(row)
        bank, run = self._bank, {}
        for lang, rows in groups.items():
            if self.variant.is_plain:
                matrix = bank.passages
            else:
                if depends_on_query_language(spec) and not lang:
                    raise InputError(f"language subset {spec!r} needs the query language, and "
                                     f"subset {hf_subset!r} names none mteb-wise")
                chosen = resolve_languages(spec, lang or None, bank.languages)
                matrix = bank.mix(self.variant.n, float(self.variant.alpha),
                                  self.variant.formula, chosen)
            run.update(exact_run(self._corpus_ids, matrix, vectors[rows], [ids[r] for r in rows],
                                 top_k, self.space_type))
        return run

    def close(self) -> None:
        """Remove the temporary embedding stores (when no cache folder was given)."""
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
