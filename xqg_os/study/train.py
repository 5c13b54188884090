"""Fine-tune a dense encoder on cross-lingual (query, passage) pairs: the direct-training arm.

Loss: sentence-transformers' ``MultipleNegativesRankingLoss`` (in-batch negatives). Backends:
``trainer`` is ``SentenceTransformerTrainer`` with a no-duplicates batch sampler (needs the
``datasets`` and ``accelerate`` packages, ``pip install 'sentence-transformers[train]'``);
``loop`` is a plain PyTorch loop around the same loss, for installs without them; ``auto``
picks the trainer when it can. A plain transformers model is wrapped as a SentenceTransformer
(Transformer + Pooling with the encoder's pooling, CLS by default) before training.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from xqg_os.errors import InputError
from xqg_os.fingerprint import fingerprint
from xqg_os.modelfiles import (
    check_device,
    has_model_file,
    load_error,
    model_revision,
    resolve_device,
    resolve_model,
)
from xqg_os.study.pairs import TrainPair

BACKENDS = ("auto", "trainer", "loop")
SIMILARITIES = ("dot", "cos")
MARKER = "xqg-train.json"  # written last into a finished checkpoint


@dataclass(frozen=True)
class TrainConfig:
    """How each checkpoint is trained.

    Attributes:
        epochs / batch_size / learning_rate / warmup_ratio: the usual; the batch is also the
            number of in-batch negatives plus one.
        similarity: ``dot`` (scale 1, as DPR/Tevatron train the reference mBERT retriever and
            as an ``innerproduct`` index scores) or ``cos`` (sentence-transformers' default,
            with ``scale``).
        scale: multiplier of the cosine similarities (ignored for ``dot``).
        pooling: pooling of the wrapper for a plain transformers model.
        max_seq_length: tokens per text during training.
        query_prefix / passage_prefix: prepended as the encoder does (e5-style models).
        backend: ``auto``, ``trainer`` or ``loop``.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (see
            :func:`xqg_os.modelfiles.resolve_device`).
        seed: initialisation of the data order and dropout.
    """

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    similarity: str = "dot"
    scale: float = 20.0
    pooling: str = "cls"
    max_seq_length: int = 128
    query_prefix: str = ""
    passage_prefix: str = ""
    backend: str = "auto"
    device: str = "auto"
    seed: int = 42

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(f"unknown backend {self.backend!r} for training; use "
                             + ", ".join(BACKENDS), param="backend")
        if self.similarity not in SIMILARITIES:
            raise InputError(f"unknown similarity {self.similarity!r} for training; use dot "
                             "or cos", param="similarity")
        for name in ("epochs", "batch_size", "max_seq_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, not {value!r}", param=name)
        if self.batch_size < 2:
            raise InputError("batch_size must be at least 2: in-batch negatives need company",
                             param="batch_size")
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, not {self.learning_rate!r}",
                             param="learning_rate")
        if not 0 <= self.warmup_ratio < 1:
            raise InputError(f"warmup_ratio must be in [0, 1), not {self.warmup_ratio!r}",
                             param="warmup_ratio")
        check_device(self.device)


def to_sentence_transformer(model: str, pooling: str = "cls", max_seq_length: int = 128,
                            device: str = "cpu") -> Any:
    """Load ``model`` as a SentenceTransformer, wrapping a plain transformers model with
    Transformer + Pooling(``pooling``).

    Raises:
        ModelError: when the model cannot be loaded.
    """
    from sentence_transformers import SentenceTransformer

    source = resolve_model(model, what="base model")
    try:
        if source.local and has_model_file(source, "modules.json"):
            return SentenceTransformer(source.location, device=device)
        try:  # sentence-transformers 6 moved the modules; older versions only have .models
            from sentence_transformers.sentence_transformer import modules
        except ImportError:
            from sentence_transformers import models as modules  # type: ignore[attr-defined,no-redef]
        if not source.local:
            try:  # a hub model that is a sentence-transformers model keeps its own modules
                return SentenceTransformer(source.location, device=device)
            except Exception:  # noqa: BLE001 - fall back to wrapping the transformers model
                pass
        transformer = modules.Transformer(source.location, max_seq_length=max_seq_length)
        dimension = getattr(transformer, "get_embedding_dimension", None) \
            or transformer.get_word_embedding_dimension
        pool = modules.Pooling(dimension(), pooling_mode=pooling)
        return SentenceTransformer(modules=[transformer, pool], device=device)
    except Exception as exc:  # noqa: BLE001 - transformers raises OSError, ValueError, ...
        raise load_error(source, exc, what="base model for training") from None


def _has_trainer_dependencies() -> bool:
    try:
        import accelerate  # noqa: F401
        import datasets  # noqa: F401
    except ImportError:
        return False
    return True


def _loss(model: Any, config: TrainConfig) -> Any:
    from sentence_transformers import util

    try:  # sentence-transformers 6 moved the losses; older versions only have .losses
        from sentence_transformers.sentence_transformer.losses import (
            MultipleNegativesRankingLoss,
        )
    except ImportError:
        from sentence_transformers.losses import (  # type: ignore[no-redef]
            MultipleNegativesRankingLoss,
        )

    if config.similarity == "dot":
        return MultipleNegativesRankingLoss(model, scale=1.0, similarity_fct=util.dot_score)
    return MultipleNegativesRankingLoss(model, scale=config.scale)


def _train_with_trainer(model: Any, queries: list[str], passages: list[str],
                        config: TrainConfig, device: str, progress: bool) -> None:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    try:  # sentence-transformers 6 moved the training arguments
        from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    except ImportError:
        from sentence_transformers.training_args import (  # type: ignore[no-redef]
            BatchSamplers,
        )

    with tempfile.TemporaryDirectory(prefix="xqg-train-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=config.epochs,
            per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
            warmup_ratio=config.warmup_ratio, seed=config.seed, data_seed=config.seed,
            batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no",
            logging_strategy="no", report_to="none", disable_tqdm=not progress,
            use_cpu=device == "cpu", dataloader_num_workers=0)
        trainer = SentenceTransformerTrainer(
            model=model, args=args, loss=_loss(model, config),
            train_dataset=Dataset.from_dict({"anchor": queries, "positive": passages}))
        trainer.train()


def _train_with_loop(model: Any, queries: list[str], passages: list[str], config: TrainConfig,
                     device: str, progress: bool) -> None:
    import torch
    from sentence_transformers.util import batch_to_device
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    model.to(device)
    model.train()
    loss_fn = _loss(model, config)
    steps = config.epochs * math.ceil(len(queries) / config.batch_size)
    warmup = int(steps * config.warmup_ratio)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / max(1, warmup), max(0.0, (steps - step)
                                                                      / max(1, steps - warmup))))
    order = torch.Generator().manual_seed(config.seed)
    with tqdm(total=steps, desc="train", unit="step", disable=not progress) as bar:
        for _ in range(config.epochs):
            permutation = torch.randperm(len(queries), generator=order).tolist()
            for start in range(0, len(permutation), config.batch_size):
                rows = permutation[start:start + config.batch_size]
                features = [batch_to_device(model.tokenize([texts[i] for i in rows]),
                                            torch.device(device))
                            for texts in (queries, passages)]
                loss = loss_fn(features, torch.zeros(len(rows), device=device))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                bar.update(1)
    model.eval()


def train_checkpoint(base: str, pairs: Sequence[TrainPair], out_dir: str | Path,
                     config: TrainConfig | None = None, progress: bool = True) -> Path:
    """Fine-tune ``base`` on ``pairs`` and save a sentence-transformers model to ``out_dir``.

    A folder that already holds a finished checkpoint of the same base, pairs and settings is
    reused (training is resumable per checkpoint); anything else there is replaced.

    Returns:
        ``out_dir``, loadable with ``load_encoder(EncoderConfig(model=str(out_dir)))``.

    Raises:
        InputError: for fewer pairs than one batch needs, or a missing training backend.
        ModelError: when the base model cannot be loaded.
    """
    config = config or TrainConfig()
    if len(pairs) < 2:
        raise InputError(f"training needs at least 2 pairs, got {len(pairs)}")
    out = Path(out_dir)
    source = resolve_model(base, what="base model")
    # the base's content digest too: a retrained or rebuilt base folder must not reuse these
    identity = {"base": base, "base_revision": model_revision(source) if source.local else None,
                "pairs": fingerprint([[p.query, p.passage] for p in pairs]),
                "count": len(pairs), "config": asdict(config)}
    marker = out / MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")).get("identity") == identity:
                return out
        except ValueError:
            pass
    backend = config.backend
    if backend == "auto":
        backend = "trainer" if _has_trainer_dependencies() else "loop"
    elif backend == "trainer" and not _has_trainer_dependencies():
        raise InputError("backend 'trainer' needs datasets and accelerate "
                         "(pip install 'sentence-transformers[train]'); or use backend 'loop'",
                         param="backend")
    device = resolve_device(config.device)
    model = to_sentence_transformer(base, config.pooling, config.max_seq_length, device)
    model.max_seq_length = config.max_seq_length
    queries = [config.query_prefix + p.query for p in pairs]
    passages = [config.passage_prefix + p.passage for p in pairs]
    if backend == "trainer":
        _train_with_trainer(model, queries, passages, config, device, progress)
    else:
        _train_with_loop(model, queries, passages, config, device, progress)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    marker.write_text(json.dumps({"identity": identity, "backend": backend}, indent=2) + "\n",
                      encoding="utf-8")
    return out
