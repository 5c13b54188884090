"""Random weights that depend on a seed only, drawn without touching the caller's stream."""

from __future__ import annotations

from typing import Any


def seeded_model(model_class: Any, config: Any, seed: int) -> Any:
    """``model_class(config)`` with weights drawn from ``seed``; torch's global random state is
    restored afterwards, so the caller's random stream is left as it was."""
    import torch

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return model_class(config)
    finally:
        torch.random.set_rng_state(state)
