"""What the generators that run a local model share: the model placed on its device and dtype,
batches longest prompt first, and one seed per generated row."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from xqg_os.generate.base import GeneratorBase, QueryRequest, derive_seed
from xqg_os.modelfiles import resolve_device, resolve_dtype

# (model, revision, dtype) -> (tokenizer, model, model id, revision found)
Loader = Callable[[str, "str | None", Any], tuple[Any, Any, str, "str | None"]]


class LocalModelGenerator(GeneratorBase):
    """A generator over a model loaded into this process (seq2seq, causal)."""

    def __init__(self, load: Loader, model: str, revision: str | None, device: str,
                 dtype: str) -> None:
        """Load ``model`` with ``load`` in the dtype for ``device`` and move it there."""
        super().__init__()
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.tokenizer, loaded, self.model_id, self.revision = load(model, revision, self.dtype)
        self.model = loaded.to(self.device)


def longest_first(ids: Sequence[Sequence[int]], size: int) -> Iterator[list[int]]:
    """Positions of ``ids`` in batches of ``size``, longest first (ties in order): batches of
    similar length pad little."""
    order = sorted(range(len(ids)), key=lambda k: (-len(ids[k]), k))
    for start in range(0, len(order), size):
        yield order[start:start + size]


def row_seeds(seed: int, requests: Sequence[QueryRequest], n: int) -> list[int]:
    """The seed of each of the ``n`` rows generated per request, in request order
    (:func:`~xqg_os.generate.base.derive_seed`: independent of batching)."""
    return [derive_seed(seed, r.passage.id, r.lang, j) for r in requests for j in range(n)]
