"""The seq2seq generator on the tiny local T5: shapes, seeding, truncation, beams, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError, ModelError
from xqg_os.generate import (
    DEFAULT_TEMPLATE,
    DecodingConfig,
    QueryGenerator,
    QueryRequest,
    render_prompt,
)
from xqg_os.generate.sampling import SeededSampler, gumbel_noise
from xqg_os.generate.seq2seq import Seq2SeqConfig, Seq2SeqGenerator

torch.set_num_threads(1)


def _sample(sampler: SeededSampler, logits: torch.Tensor) -> torch.Tensor:
    """The token each row draws (the only finite score the sampler leaves)."""
    ids = torch.zeros((logits.shape[0], 2), dtype=torch.long)
    return sampler(ids, logits).argmax(dim=-1)  # type: ignore[arg-type]

PASSAGES = [Passage("a", "Paris is the capital of France.", "Paris"),
            Passage("b", "Москва — столица России.", ""),
            Passage("c", "東京は日本の首都です。" * 3, "Tokyo"),
            Passage("d", "The Nile flows north through Africa into the sea.", "Nile")]


def make(tiny_t5: Path, **overrides: object) -> Seq2SeqGenerator:
    decoding = overrides.pop("decoding", DecodingConfig(max_new_tokens=6))
    return Seq2SeqGenerator(Seq2SeqConfig(model=str(tiny_t5), decoding=decoding,  # type: ignore[arg-type]
                                          device="cpu", **overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def generator(tiny_t5: Path) -> Seq2SeqGenerator:
    return make(tiny_t5, batch_size=3)


def test_is_a_query_generator(generator: Seq2SeqGenerator) -> None:
    assert isinstance(generator, QueryGenerator)
    info = generator.describe()
    assert info["kind"] == "seq2seq" and info["template"] == DEFAULT_TEMPLATE
    assert info["decoding"]["top_k"] == 10 and info["decoding"]["do_sample"] is True
    assert info["seed"] == 42 and info["revision"].startswith("sha256:")


def test_shapes_and_n_per_language(generator: Seq2SeqGenerator) -> None:
    result = generator.generate(PASSAGES, ["ar", "ja", "te"], 3)
    assert len(result) == len(PASSAGES)
    for per_passage in result:
        assert list(per_passage) == ["ar", "ja", "te"]
        for queries in per_passage.values():
            assert len(queries) == 3 and all(isinstance(q, str) for q in queries)


def test_seeded_output_is_independent_of_batching_and_order(tiny_t5: Path,
                                                            generator: Seq2SeqGenerator) -> None:
    first = generator.generate(PASSAGES, ["ar", "ko"], 2)
    again = generator.generate(PASSAGES, ["ar", "ko"], 2)
    other = make(tiny_t5, batch_size=1).generate(PASSAGES[::-1], ["ko", "ar"], 2)[::-1]
    assert first == again == other
    reseeded = make(tiny_t5, decoding=DecodingConfig(max_new_tokens=6, seed=7))
    assert reseeded.generate(PASSAGES, ["ar", "ko"], 2) != first
    # the n sequences of one input are distinct draws
    assert any(len(set(qs)) > 1 for p in first for qs in p.values())


def test_truncation_is_counted_per_passage(tiny_t5: Path) -> None:
    long = Passage("long", "Helsinki on Suomen pääkaupunki. " * 40, "Helsinki")
    gen = make(tiny_t5, max_input_length=80)  # the short prompt takes 56 tokens
    out = gen.generate([PASSAGES[0], long], ["fi", "ru"], 1)
    assert gen.counts() == {"truncated": 1}
    assert len(out[1]["fi"]) == 1
    ids = gen._encode([QueryRequest(long, "fi")], 1)
    assert len(ids[0]) == 80 and ids[0][-1] == gen.tokenizer.eos_token_id


def test_beam_mode_is_deterministic_and_needs_enough_beams(tiny_t5: Path) -> None:
    gen = make(tiny_t5, decoding=DecodingConfig(max_new_tokens=5, num_beams=3))
    first = gen.generate(PASSAGES[:2], ["ar"], 3)
    assert first == gen.generate(PASSAGES[:2], ["ar"], 3)
    assert all(len(p["ar"]) == 3 for p in first)
    assert gen.describe()["sampler"] == "beam"
    with pytest.raises(InputError, match="num_beams 3 < n 4") as info:
        gen.generate(PASSAGES[:1], ["ar"], 4)
    assert info.value.param == ("num_beams", "n")


def test_prompt_template() -> None:
    passage = Passage("x", "Some text.", "")
    assert render_prompt(DEFAULT_TEMPLATE, passage, "bn") == \
        "Generate a Bengali question for this passage: Some text."
    with pytest.raises(InputError, match="unknown placeholder.*bogus"):
        Seq2SeqConfig(template="{bogus} {passage}")


def test_bad_decoding_values() -> None:
    with pytest.raises(InputError, match="top_p") as info:
        DecodingConfig(top_p=1.5)
    assert info.value.param == "top_p"
    with pytest.raises(InputError, match="temperature"):
        DecodingConfig(temperature=0)


def test_missing_model_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="path does not exist"):
        Seq2SeqGenerator(Seq2SeqConfig(model=str(tmp_path / "nope"), device="cpu"))
    with pytest.raises(ModelError, match="cannot load query generator 'nobody/no-such-model'"):
        Seq2SeqGenerator(Seq2SeqConfig(model="nobody/no-such-model", device="cpu"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="local folder could not be loaded"):
        Seq2SeqGenerator(Seq2SeqConfig(model=str(tmp_path / "empty"), device="cpu"))


def test_seeded_sampler_draws_from_the_filtered_distribution() -> None:
    rows = 4000
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(rows, 1)
    sampler = SeededSampler(torch.arange(rows), top_k=3, top_p=None, temperature=1.0)
    chosen = _sample(sampler, logits)
    freq = torch.bincount(chosen, minlength=4).float() / rows
    expected = torch.tensor([0.5, 0.3, 0.15, 0.0]) / 0.95
    assert torch.allclose(freq, expected, atol=0.03)
    nucleus = SeededSampler(torch.arange(rows), top_k=None, top_p=0.6, temperature=1.0)
    picked = _sample(nucleus, logits)
    assert set(picked.tolist()) == {0, 1}
    noise = gumbel_noise(torch.tensor([[1], [2]]), 3, torch.tensor([[5, 6], [5, 6]]))
    assert torch.equal(noise, gumbel_noise(torch.tensor([[1], [2]]), 3,
                                           torch.tensor([[5, 6], [5, 6]])))
    assert not torch.equal(noise[0], noise[1])
