"""A tiny random decoder-only LM (Llama architecture), built locally in seconds.

Stands in for Gemma, Qwen or Llama in tests of the causal generator: a byte-level BPE tokenizer
trained on a few multilingual sentences (so line breaks are tokens of their own) and a
``LlamaForCausalLM`` with random (seeded) weights. ``chat=True`` adds a chat template, so both
prompt modes (chat template, few-shot) run for real.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xqg_os.testing.seeded import seeded_model
from xqg_os.testing.tiny_t5 import SAMPLE_TEXT

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def build_tiny_causal(folder: str | Path, *, hidden: int = 32, layers: int = 2, heads: int = 2,
                      vocab_size: int = 600, seed: int = 0, chat: bool = False,
                      texts: Iterable[str] = SAMPLE_TEXT) -> Path:
    """Train a tiny tokenizer, build a random tiny causal LM and save both to ``folder``.

    Args:
        folder: output folder (created); loadable with ``AutoTokenizer`` /
            ``AutoModelForCausalLM.from_pretrained``.
        hidden, layers, heads: model size (feed-forward is ``2 * hidden``).
        vocab_size: upper bound on the trained vocabulary.
        seed: torch seed for the random weights.
        chat: give the tokenizer a chat template.
        texts: training text for the tokenizer.

    Returns:
        The folder.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    corpus = [*texts, "Passage: question:\nGerman question: French question:\n\n"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"],
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                         show_progress=False)
    tokenizer.train_from_iterator(corpus * 4, trainer)
    bos = tokenizer.token_to_id("<s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", bos)])
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>",
                                      bos_token="<s>", eos_token="</s>")
    if chat:
        wrapped.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden,
                         intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=1024, pad_token_id=tokenizer.token_to_id("<pad>"),
                         bos_token_id=bos, eos_token_id=tokenizer.token_to_id("</s>"))
    model = seeded_model(LlamaForCausalLM, config, seed)
    model.save_pretrained(folder)
    wrapped.save_pretrained(folder)
    return folder
