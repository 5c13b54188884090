"""R@kt against the official definition: the loop of XOR-TyDi's ``eval_xor_retrieve.py``,
written out below as the reference, on hand-made runs where questions are missing from a run
(not counted by default, counted as misses with ``kt_missing="zero"``)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from statistics import mean

import pytest

from xqg_os.data.evalfiles import Query, rank_scores
from xqg_os.evaluate import EvalConfig, WordTokenizer, evaluate_runs

SPLIT = WordTokenizer("test", True, "whitespace", str.split)
TEXTS = {"d1": "alpha beta gamma", "d2": "delta epsilon zeta", "d3": "eta theta iota",
         "d4": "kappa lambda mu"}
QUERIES = [Query("j1", "?", "ja"), Query("j2", "?", "ja"), Query("j3", "?", "ja"),
           Query("r1", "?", "ru"), Query("r2", "?", "ru"), Query("k1", "?", "ko"),
           Query("k2", "?", "ko")]
LANG = {q.id: q.lang for q in QUERIES}
GOLD = {"j1": ["delta"], "j2": ["zeta"], "j3": ["gamma"], "r1": ["yes", "iota"],
        "r2": ["mu"], "k1": ["no"], "k2": ["beta"]}


def official(predictions: Sequence[Mapping[str, object]], gold: Mapping[str, Sequence[str]],
             k: int) -> tuple[dict[str, float], float]:
    """The official loop: iterate over the PREDICTION FILE (id, lang, ctxs = passage texts in
    rank order); skip ids without answers and questions whose answers are all yes/no; count the
    rest; tokenize passages until k tokens; hit when an answer is a substring of the first k
    tokens joined by spaces. Languages with no counted question are dropped; the final score is
    the mean over languages."""
    per_lang: dict[str, list[int]] = {}
    for item in predictions:
        qid, lang, ctxs = str(item["id"]), str(item["lang"]), item["ctxs"]
        assert isinstance(ctxs, list)
        per_lang.setdefault(lang, [0, 0])
        if qid not in gold:
            continue
        spans = [answer for answer in gold[qid] if answer not in ["yes", "no"]]
        if not spans:
            continue
        per_lang[lang][0] += 1
        tokens: list[str] = []
        for text in ctxs:
            tokens += text.split()
            if len(tokens) >= k:
                break
        joined = " ".join(tokens[:k])
        if any(answer in joined for answer in spans):
            per_lang[lang][1] += 1
    scores = {lang: hit / count * 100 for lang, (count, hit) in per_lang.items() if count}
    return scores, mean(scores.values())


def predictions(run: Mapping[str, Mapping[str, float]]) -> list[dict[str, object]]:
    """A run as the official prediction file: one item per query the run has."""
    return [{"id": qid, "lang": LANG[qid],
             "ctxs": [TEXTS[docid] for docid, _ in rank_scores(docs)]}
            for qid, docs in run.items()]


def ours(run: Mapping[str, Mapping[str, float]], k: int, **options: object
         ) -> tuple[dict[str, float], float, int]:
    report = evaluate_runs({"sys": run}, QUERIES, answers=GOLD, passages_text=TEXTS,
                           config=EvalConfig(kt=(k,), **options),  # type: ignore[arg-type]
                           tokenizer=SPLIT)
    name = report.kt_metrics[0]
    per_lang = {lang: value for lang in report.languages
                if (value := report.score("sys", name, lang)) is not None}
    macro = report.score("sys", name, "macro")
    assert macro is not None
    return per_lang, macro, report.kt_missing["sys"]


FULL = {"j1": {"d1": 2.0, "d2": 1.0}, "j2": {"d1": 1.0}, "j3": {"d1": 1.0},
        "r1": {"d3": 1.0}, "r2": {"d1": 1.0}, "k1": {"d1": 1.0}, "k2": {"d2": 1.0}}


@pytest.mark.parametrize("drop", [
    (),                      # every question present
    ("j2",),                 # a missed question absent: ja rises from 2/3 to 2/2
    ("j1", "j3"),            # hits absent: ja falls to 0/1
    ("r1", "r2"),            # a whole language absent: dropped from the macro average
    ("k1",),                 # a yes/no question absent: nothing changes, nothing is missing
    ("k2",),                 # ko left with its yes/no question only: dropped too
])
def test_default_follows_the_official_script(drop: tuple[str, ...]) -> None:
    run = {qid: docs for qid, docs in FULL.items() if qid not in drop}
    for k in (3, 4, 6):
        expected, expected_macro = official(predictions(run), GOLD, k)
        per_lang, macro, missing = ours(run, k)
        assert per_lang == pytest.approx(expected) and macro == pytest.approx(expected_macro)
        assert missing == len([q for q in drop if q not in ("k1",)])


def test_zero_counts_missing_questions_as_misses() -> None:
    run = {qid: docs for qid, docs in FULL.items() if qid not in ("j2", "r1", "r2")}
    # the stricter definition: the prediction file as if it listed every question, absent ones
    # with no passages
    padded = predictions(run) + [{"id": q, "lang": LANG[q], "ctxs": []} for q in ("j2", "r1",
                                                                                 "r2")]
    expected, expected_macro = official(padded, GOLD, 4)
    per_lang, macro, missing = ours(run, 4, kt_missing="zero")
    assert per_lang == pytest.approx(expected) and macro == pytest.approx(expected_macro)
    assert per_lang["ru"] == 0.0 and missing == 3
    skipped, skipped_macro, _ = ours(run, 4)
    assert "ru" not in skipped and skipped_macro > macro


def test_a_question_present_with_no_passages_is_a_miss_either_way() -> None:
    run = {**FULL, "j1": {}}
    expected, _ = official(predictions(run), GOLD, 4)
    for mode in ("skip", "zero"):
        per_lang, _, missing = ours(run, 4, kt_missing=mode)
        assert per_lang == pytest.approx(expected) and missing == 0
        assert per_lang["ja"] == pytest.approx(100 / 3)


def test_randomised_runs_match_the_official_script() -> None:
    rng = random.Random(7)
    docs = sorted(TEXTS)
    for _ in range(60):
        run = {q.id: {d: rng.choice([0.1, 0.2, 0.5]) for d in rng.sample(docs, rng.randint(0, 4))}
               for q in QUERIES if rng.random() < 0.7}
        if not run:
            continue
        k = rng.choice([2, 3, 5, 9, 20])
        expected, expected_macro = official(predictions(run), GOLD, k)
        if not expected:
            continue
        per_lang, macro, _ = ours(run, k)
        assert per_lang == pytest.approx(expected) and macro == pytest.approx(expected_macro)


def test_missing_counts_are_reported_and_tests_pair_common_questions() -> None:
    partial = {qid: docs for qid, docs in FULL.items() if qid not in ("j2", "r2")}
    report = evaluate_runs({"full": FULL, "partial": partial}, QUERIES, answers=GOLD,
                           passages_text=TEXTS, config=EvalConfig(kt=(4,)), tokenizer=SPLIT)
    assert report.kt_missing == {"full": 0, "partial": 2}
    assert report.counts["R@4t"]["all"] == 6  # questions with span answers (k1 is yes/no)
    pooled = report.comparison("partial", "R@4t", "all")
    assert pooled is not None and pooled.queries == 4  # paired on j1, j3, r1, k2
    text = report.to_markdown()
    assert "partial: 2 R@kt questions missing from the run, not counted (XOR-TyDi's " \
           "definition" in text
    assert report.to_dict()["kt_missing"] == {"full": 0, "partial": 2}


def test_kt_missing_is_validated() -> None:
    from xqg_os.errors import InputError

    with pytest.raises(InputError, match="unknown kt_missing 'drop'") as caught:
        EvalConfig(kt_missing="drop")
    assert caught.value.param == "kt_missing"
