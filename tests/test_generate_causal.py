"""The causal-LM generator on a tiny local Llama: prompts (few-shot and chat template), n per
language, seeding independent of batching, stopping at the end of the line, resumable CLI runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.data.corpus import Passage
from xqg_os.errors import InputError, ModelError
from xqg_os.generate import DecodingConfig, QueryGenerator, QueryRequest
from xqg_os.generate.causal import (
    CHAT_TEMPLATE,
    FEW_SHOT_TEMPLATE,
    CausalConfig,
    CausalGenerator,
)
from xqg_os.generate.factory import GeneratorSpec, make_generator
from xqg_os.generate.gguf import gguf_folder

torch.set_num_threads(1)

PASSAGES = [Passage("a", "Paris is the capital of France.", "Paris"),
            Passage("b", "Москва — столица России.", ""),
            Passage("c", "東京は日本の首都です。" * 20, "Tokyo"),
            Passage("d", "The Nile flows north through Africa into the sea.", "Nile")]


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from xqg_os.testing.tiny_causal import build_tiny_causal

    return build_tiny_causal(tmp_path_factory.mktemp("tiny-causal"))


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from xqg_os.testing.tiny_causal import build_tiny_causal

    return build_tiny_causal(tmp_path_factory.mktemp("tiny-chat"), chat=True)


def make(folder: Path, **overrides: object) -> CausalGenerator:
    decoding = overrides.pop("decoding", DecodingConfig(max_new_tokens=8))
    return CausalGenerator(CausalConfig(model=str(folder), decoding=decoding,  # type: ignore[arg-type]
                                        device="cpu", **overrides))  # type: ignore[arg-type]


def test_few_shot_prompt_for_a_base_model(tiny_causal: Path) -> None:
    generator = make(tiny_causal)
    assert isinstance(generator, QueryGenerator)
    info = generator.describe()
    assert info["kind"] == "causal" and info["prompt"] == "few-shot"
    assert info["template"] == FEW_SHOT_TEMPLATE and info["revision"].startswith("sha256:")
    ids = generator.prompt_ids(QueryRequest(PASSAGES[0], "de"), 2)
    text = generator.tokenizer.decode(ids, skip_special_tokens=True)
    assert text.endswith("Passage: Paris Paris is the capital of France.\nGerman question:")


def test_chat_template_when_the_model_has_one(tiny_chat: Path) -> None:
    generator = make(tiny_chat)
    assert generator.describe()["prompt"] == "chat" and generator.template == CHAT_TEMPLATE
    text = generator.tokenizer.decode(generator.prompt_ids(QueryRequest(PASSAGES[3], "ja"), 1))
    assert "<|user|>" in text and "Japanese" in text and text.endswith("<|assistant|>\n")
    assert make(tiny_chat, prompt_mode="few-shot").describe()["prompt"] == "few-shot"


def test_chat_mode_needs_a_chat_template(tiny_causal: Path) -> None:
    with pytest.raises(InputError, match="no chat template"):
        make(tiny_causal, prompt_mode="chat")
    with pytest.raises(InputError, match="prompt mode"):
        CausalConfig(prompt_mode="dialogue")


def test_n_per_language_one_line_each(tiny_causal: Path) -> None:
    result = make(tiny_causal, batch_size=3).generate(PASSAGES, ["de", "fr"], 3)
    assert len(result) == len(PASSAGES)
    for per_passage in result:
        assert set(per_passage) <= {"de", "fr"}
        for queries in per_passage.values():
            assert len(queries) == 3
            assert all(q and "\n" not in q for q in queries)


def test_seeded_and_independent_of_batching(tiny_causal: Path) -> None:
    requests = [QueryRequest(p, lang) for p in PASSAGES for lang in ("de", "ru")]
    by_three = {(r.id, r.lang): r.queries
                for b in make(tiny_causal, batch_size=3).stream(requests, 2) for r in b}
    alone = {(r.id, r.lang): r.queries
             for b in make(tiny_causal, batch_size=1).stream(requests, 2) for r in b}
    assert by_three == alone and len(alone) > 0
    other_seed = make(tiny_causal, decoding=DecodingConfig(max_new_tokens=8, seed=7))
    reseeded = {(r.id, r.lang): r.queries for b in other_seed.stream(requests, 2) for r in b}
    assert reseeded != alone


def test_sampling_matches_plain_decoding_of_the_same_tokens(tiny_causal: Path) -> None:
    """The shared-prefill loop gives the tokens a full forward pass would score highest after
    the sampler: check by re-scoring one generated row from scratch."""
    generator = make(tiny_causal, decoding=DecodingConfig(max_new_tokens=5, top_k=1))
    request = QueryRequest(PASSAGES[0], "de")
    prompt = generator.prompt_ids(request, 1)
    ids, mask = generator._pad([prompt])
    tokens = generator._sample(ids, mask, torch.tensor([1]), 1)[0]
    sequence = list(prompt)
    for token in tokens:
        logits = generator.model(input_ids=torch.tensor([sequence])).logits[0, -1]
        assert int(logits.argmax()) == token
        sequence.append(token)


def test_long_passages_are_cut_and_counted(tiny_causal: Path) -> None:
    generator = make(tiny_causal, max_passage_tokens=8)
    generator.generate([PASSAGES[2]], ["ja"], 1)
    assert generator.counts().get("truncated") == 1


def test_beam_mode_is_deterministic(tiny_causal: Path) -> None:
    decoding = DecodingConfig(max_new_tokens=6, num_beams=2)
    first = make(tiny_causal, decoding=decoding).generate(PASSAGES[:2], ["fi"], 2)
    assert first == make(tiny_causal, decoding=decoding).generate(PASSAGES[:2], ["fi"], 2)


def test_factory_and_missing_models(tiny_causal: Path, tmp_path: Path) -> None:
    spec = GeneratorSpec(kind="causal", model=str(tiny_causal), device="cpu",
                         max_input_length=16)
    generator = make_generator(spec)
    assert isinstance(generator, CausalGenerator) and generator.config.max_passage_tokens == 16
    with pytest.raises(ModelError, match="does not exist"):
        make_generator(GeneratorSpec(kind="causal", model=str(tmp_path / "nope") + "/"))
    with pytest.raises(ModelError, match="GGUF file does not exist"):
        gguf_folder(str(tmp_path / "model.gguf"))
    assert gguf_folder(str(tiny_causal)) is None


def _summary(output: str) -> dict[str, object]:
    line = next(line for line in output.splitlines() if '"fingerprint"' in line)
    return dict(json.loads(line[line.index('{"'):]))


def test_cli_generates_into_a_store_and_resumes(tiny_causal: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": p.id, "title": p.title, "text": p.text}) + "\n"
                              for p in PASSAGES), encoding="utf-8")
    template = tmp_path / "prompt.txt"
    template.write_text("Passage: {passage}\n{language} question:\n", encoding="utf-8")
    args = ["generate", "--corpus", str(corpus), "--languages", "de,fr", "--n", "2",
            "--out", str(tmp_path / "gen"), "--generator", "causal", "--model", str(tiny_causal),
            "--template", f"@{template}", "--max-new-tokens", "6", "--device", "cpu",
            "--quiet", "--json"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    summary = _summary(first.output)
    assert summary["records"] + summary["incomplete"] * 2 >= 1
    manifest = json.loads((Path(summary["store"]) / "manifest.json").read_text())
    assert manifest["generator"]["template"] == "Passage: {passage}\n{language} question:"
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0
    assert _summary(again.output)["records"] <= summary["incomplete"] * 2
    missing = CliRunner().invoke(main, [*args[:-4], "--template", "@" + str(tmp_path / "no")])
    assert missing.exit_code != 0 and "cannot read the --template file" in missing.output
