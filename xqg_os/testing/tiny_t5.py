"""A tiny random T5 query generator, built locally in seconds.

No model hub is reachable at test time, so tests and benchmarks build this stand-in for the mT5
docTquery model: a unigram tokenizer trained on a few multilingual sentences and a
``T5ForConditionalGeneration`` with random (seeded) weights. Its queries are gibberish, but every
code path of the seq2seq generator (tokenization, truncation, batching, sampling, decoding) runs
for real.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xqg_os.testing.seeded import seeded_model

SAMPLE_TEXT: tuple[str, ...] = (
    "Paris is the capital and most populous city of France.",
    "The Nile is a major north-flowing river in northeastern Africa.",
    "Generate a question for this passage about the history of the city.",
    "Arabic Bengali Finnish Japanese Korean Russian Telugu English question passage",
    "القاهرة هي عاصمة جمهورية مصر العربية وأكبر مدنها.",
    "ঢাকা বাংলাদেশের রাজধানী এবং বৃহত্তম শহর।",
    "Helsinki on Suomen pääkaupunki ja väkirikkain kaupunki.",
    "東京は日本の首都であり、最大の都市です。",
    "서울은 대한민국의 수도이자 최대 도시이다.",
    "Москва — столица и крупнейший город России.",
    "హైదరాబాద్ తెలంగాణ రాష్ట్ర రాజధాని.",
    "What is the capital of France? Who wrote this book? When was it founded?",
)


def build_tiny_t5(folder: str | Path, *, d_model: int = 32, num_layers: int = 2,
                  num_heads: int = 2, vocab_size: int = 400, seed: int = 0,
                  model_max_length: int = 512, texts: Iterable[str] = SAMPLE_TEXT) -> Path:
    """Train a tiny tokenizer, build a random tiny T5 and save both to ``folder``.

    Args:
        folder: output folder (created); loadable with ``AutoTokenizer`` /
            ``AutoModelForSeq2SeqLM.from_pretrained``.
        d_model, num_layers, num_heads: model size (feed-forward is ``2 * d_model``).
        vocab_size: upper bound on the trained vocabulary.
        seed: torch seed for the random weights.
        model_max_length: the tokenizer's input limit (the generator truncates to it).
        texts: training text for the tokenizer.

    Returns:
        The folder.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import UnigramTrainer
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    corpus = list(texts)
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = UnigramTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"],
                             unk_token="<unk>", show_progress=False)
    tokenizer.train_from_iterator(corpus * 4, trainer)
    eos_id = tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos_id)])
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>",
                                      eos_token="</s>", unk_token="<unk>",
                                      model_max_length=model_max_length)
    pad_id = tokenizer.token_to_id("<pad>")
    config = T5Config(vocab_size=tokenizer.get_vocab_size(), d_model=d_model, d_ff=2 * d_model,
                      d_kv=max(1, d_model // num_heads), num_layers=num_layers,
                      num_decoder_layers=num_layers, num_heads=num_heads,
                      pad_token_id=pad_id, eos_token_id=eos_id)
    config.decoder_start_token_id = pad_id  # T5 starts decoding from the pad token
    model = seeded_model(T5ForConditionalGeneration, config, seed)
    model.save_pretrained(folder)
    wrapped.save_pretrained(folder)
    return folder
