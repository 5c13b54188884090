"""R@kt: answer recall within the top k retrieved tokens, as XOR-TyDi's official
``eval_xor_retrieve.py`` defines it.

For a question, take its answers other than exactly ``"yes"`` and ``"no"`` (a question left with
none is not counted). Tokenize the retrieved passages' texts (text only, no title) with
``nltk.word_tokenize``, in rank order, until at least k tokens are collected; keep exactly the
first k and join them with single spaces. The question is a hit when any answer is a
case-sensitive substring of that string, so an answer may straddle two passages. A language's
score is ``100 * hits / counted questions``; the overall score is the unweighted mean over
languages. The script reads the prediction file, so a question absent from it is not counted
at all (a question present with no passages is a miss); xqg-os does the same by default and
counts such questions (``EvalConfig.kt_missing``). Per-query values here are 100.0 (hit) or
0.0 (miss), so their mean over a language is that language's score.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from xqg_os.data.evalfiles import rank_scores
from xqg_os.errors import InputError

if TYPE_CHECKING:
    from tqdm import tqdm

YES_NO_ANSWERS = ("yes", "no")

TextSource = Mapping[str, str] | Callable[[str], str]
"""Passage texts by doc id: a mapping, or a function that returns the text (or raises
KeyError)."""


def kt_metric_name(k: int) -> str:
    """The report name of R@kt for k tokens: ``R@2kt`` for 2000, ``R@1500t`` for 1500."""
    return f"R@{k // 1000}kt" if k % 1000 == 0 else f"R@{k}t"


def span_answers(answers: Iterable[str]) -> list[str]:
    """The answers R@kt searches for: every answer except exactly ``yes`` and ``no``."""
    return [answer for answer in answers if answer not in YES_NO_ANSWERS]


def top_tokens(token_lists: Iterable[list[str]], k: int) -> list[str]:
    """The first ``k`` tokens of the passages' token lists taken in order (fewer if they run
    out). Stops reading passages as soon as ``k`` tokens are collected."""
    tokens: list[str] = []
    for passage_tokens in token_lists:
        tokens.extend(passage_tokens)
        if len(tokens) >= k:
            break
    return tokens[:k]


def kt_hits_from_tokens(token_lists: Iterable[list[str]], answers: Sequence[str],
                        ks: Sequence[int]) -> dict[int, bool] | None:
    """Whether any span answer occurs in the top-k token string, for each k in ``ks``.

    ``token_lists`` are the ranked passages' tokens, read lazily up to the largest k. Returns
    None when the question has no span answers (only yes/no, or none): it is not counted.
    """
    spans = span_answers(answers)
    if not spans:
        return None
    tokens = top_tokens(token_lists, max(ks))
    hits: dict[int, bool] = {}
    for k in ks:
        joined = " ".join(tokens[:k])
        hits[k] = any(answer in joined for answer in spans)
    return hits


def kt_hits(texts: Iterable[str], answers: Sequence[str], ks: Sequence[int],
            tokenize: Callable[[str], list[str]]) -> dict[int, bool] | None:
    """:func:`kt_hits_from_tokens` over ranked passage texts, tokenized lazily with
    ``tokenize`` (``nltk.word_tokenize`` for official numbers)."""
    return kt_hits_from_tokens(map(tokenize, texts), answers, ks)


class PassageTokens:
    """Tokens of passages by doc id, computed once and kept in a bounded LRU cache (systems
    retrieve many of the same passages)."""

    def __init__(self, texts: TextSource, tokenize: Callable[[str], list[str]],
                 max_cached: int = 100_000) -> None:
        self._texts = texts
        self._tokenize = tokenize
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._max_cached = max_cached

    def _text(self, docid: str) -> str:
        try:
            if callable(self._texts):
                text = self._texts(docid)
            else:
                text = self._texts[docid]
        except KeyError:
            text = None
        if text is None:
            raise InputError(f"no passage text for doc {docid!r}, which a run retrieved; R@kt "
                             "needs the text of every retrieved passage (pass the corpus)")
        return str(text)

    def tokens(self, docid: str) -> list[str]:
        """The word tokens of one passage's text."""
        cached = self._cache.get(docid)
        if cached is not None:
            self._cache.move_to_end(docid)
            return cached
        tokens = self._tokenize(self._text(docid))
        self._cache[docid] = tokens
        if len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)
        return tokens

    def ranked_tokens(self, docids: Iterable[str]) -> Iterator[list[str]]:
        """Token lists of ``docids`` in order, lazily (only as far as the caller reads)."""
        for docid in docids:
            yield self.tokens(docid)


def per_query_kt(ranked_docids: Mapping[str, Sequence[str]], answers: Mapping[str, Sequence[str]],
                 ks: Sequence[int], passages: PassageTokens,
                 tick: Callable[[int], object] | None = None) -> dict[int, dict[str, float]]:
    """Per-query R@kt values (100.0 hit, 0.0 miss) for one system.

    Args:
        ranked_docids: ``{qid: doc ids in rank order}``; a query absent here retrieved nothing.
        answers: ``{qid: answers}`` for the queries to evaluate.
        ks: token budgets, e.g. ``(2000, 5000)``.
        passages: passage tokens by doc id.
        tick: called with 1 after each question (a progress bar's ``update``).

    Returns:
        ``{k: {qid: value}}`` over the questions that have span answers.
    """
    values: dict[int, dict[str, float]] = {k: {} for k in ks}
    for qid, question_answers in answers.items():
        hits = kt_hits_from_tokens(passages.ranked_tokens(ranked_docids.get(qid, ())),
                                   question_answers, ks)
        if tick is not None:
            tick(1)
        if hits is None:
            continue
        for k, hit in hits.items():
            values[k][qid] = 100.0 if hit else 0.0
    return values


def kt_values_by_system(runs: Mapping[str, Mapping[str, Mapping[str, float]]],
                        gold: Mapping[str, Sequence[str]], ks: Sequence[int],
                        passages: PassageTokens, zero_missing: bool, bar: tqdm
                        ) -> tuple[dict[str, dict[int, dict[str, float]]], dict[str, int],
                                   list[str]]:
    """Per system: per-query R@kt values and the number of questions (with span answers) that
    its run has no entry for, which count as misses with ``zero_missing`` and not at all
    without (XOR-TyDi's script reads the prediction file, so a question absent from it is not
    counted); then the questions with span answers, in ``gold`` order. ``bar`` (a tqdm bar)
    advances once per system and question of ``gold``."""
    countable = [qid for qid, values in gold.items() if span_answers(values)]
    values: dict[str, dict[int, dict[str, float]]] = {}
    missing: dict[str, int] = {}
    for system, run in runs.items():
        bar.set_description(f"R@kt {system}")
        absent = [qid for qid in countable if qid not in run]
        missing[system] = len(absent)
        asked = gold if zero_missing else {q: a for q, a in gold.items() if q in run}
        ranked = {qid: [docid for docid, _ in rank_scores(run[qid])] for qid in asked
                  if qid in run}
        values[system] = per_query_kt(ranked, asked, ks, passages, tick=bar.update)
        bar.update(len(gold) - len(asked))
    return values, missing, countable
