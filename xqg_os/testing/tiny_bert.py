"""Tiny models built from scratch for tests and benchmarks (no network, fixed seeds).

``build_tiny_bert`` writes a 2-layer, 32-d BERT with random weights and a WordPiece tokenizer
trained on :data:`TINY_TEXTS` (a few sentences in several scripts), loadable by transformers'
``AutoModel`` / ``AutoTokenizer``. ``build_tiny_sentence_transformer`` wraps such a folder as a
sentence-transformers model (Transformer + Pooling [+ Normalize]).
"""

from __future__ import annotations

from pathlib import Path

from xqg_os.testing.seeded import seeded_model

# Parallel-ish sentences in the paper's languages and English: enough to give the WordPiece
# vocabulary pieces of every script the tests use.
TINY_TEXTS: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital and most populous city of France.",
    "The Amazon river flows through South America into the Atlantic Ocean.",
    "Who wrote the novel War and Peace?",
    "When was the first computer invented?",
    "Mount Everest is the highest mountain above sea level.",
    "باريس هي عاصمة فرنسا وأكبر مدنها.",
    "من كتب رواية الحرب والسلام؟",
    "প্যারিস ফ্রান্সের রাজধানী এবং সবচেয়ে জনবহুল শহর।",
    "যুদ্ধ এবং শান্তি উপন্যাসটি কে লিখেছেন?",
    "Pariisi on Ranskan pääkaupunki ja suurin kaupunki.",
    "Kuka kirjoitti romaanin Sota ja rauha?",
    "パリはフランスの首都であり最大の都市です。",
    "戦争と平和を書いたのは誰ですか？",
    "파리는 프랑스의 수도이자 가장 큰 도시입니다.",
    "전쟁과 평화를 쓴 사람은 누구입니까?",
    "Париж — столица и крупнейший город Франции.",
    "Кто написал роман Война и мир?",
    "పారిస్ ఫ్రాన్స్ రాజధాని మరియు అతిపెద్ద నగరం.",
    "యుద్ధం మరియు శాంతి నవల ఎవరు రాశారు?",
)
_SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_tiny_bert(path: str | Path, seed: int = 0, hidden_size: int = 32, layers: int = 2,
                    heads: int = 2, vocab_size: int = 600, max_positions: int = 256) -> Path:
    """Write a tiny BERT (random weights from ``seed``) and its WordPiece tokenizer to ``path``.

    Returns:
        ``path``, a folder that ``AutoModel`` / ``AutoTokenizer.from_pretrained`` load.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    # BertTokenizerFast is an alias of BertTokenizer in transformers 5, unknown to type checkers
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(_SPECIAL))
    tokenizer.train_from_iterator(list(TINY_TEXTS), trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    fast = BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", sep_token="[SEP]",
                             pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
                             do_lower_case=False, model_max_length=max_positions)
    fast.save_pretrained(path)

    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden_size,
                        num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=hidden_size * 2, max_position_embeddings=max_positions,
                        pad_token_id=tokenizer.token_to_id("[PAD]"))
    model = seeded_model(BertModel, config, seed)
    model.eval()
    model.save_pretrained(path)
    return path


def build_tiny_sentence_transformer(bert_path: str | Path, path: str | Path,
                                    pooling: str = "mean", normalize: bool = False) -> Path:
    """Wrap the model at ``bert_path`` as a sentence-transformers model saved to ``path``.

    Args:
        bert_path: a folder from :func:`build_tiny_bert` (or any BERT-like model folder).
        path: output folder (gets ``modules.json``).
        pooling: a sentence-transformers pooling mode (``mean``, ``cls``, ...).
        normalize: end the chain with a Normalize module.
    """
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers 6 moved the modules; older versions only have .models
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:
        from sentence_transformers import models  # type: ignore[no-redef,attr-defined]

    transformer = models.Transformer(str(bert_path), max_seq_length=128)
    # sentence-transformers 5.2+ renamed get_word_embedding_dimension
    dimension = getattr(transformer, "get_embedding_dimension", None)
    if dimension is None:
        dimension = transformer.get_word_embedding_dimension
    modules = [transformer, models.Pooling(dimension(), pooling_mode=pooling)]
    if normalize:
        modules.append(models.Normalize())
    model = SentenceTransformer(modules=modules, device="cpu")
    path = Path(path)
    model.save(str(path))
    return path
