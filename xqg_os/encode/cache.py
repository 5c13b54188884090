"""A resumable on-disk store of embeddings, keyed by what produced them.

One store is one folder, named by a fingerprint of (encoder description, role, input
fingerprint, dtype), in the vector format of :mod:`xqg_os.data.vectors`:

- ``meta.json``: what the fingerprint covers, plus dimension and dtype;
- ``vectors.npy``: an appendable ``.npy`` (``np.load(..., mmap_mode="r")`` reads it);
- ``ids.jsonl``: one JSON string per line, row ``i`` of the vectors belongs to line ``i``; the
  commit record (see :class:`~xqg_os.data.vectors.CommittedRows` for the write order and the
  crash recovery).

One process writes at a time (an advisory lock taken by the first ``add``). For studies on
subsets: a production ingest keeps nothing per query (see DESIGN.md).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Self

import numpy as np
from tqdm.auto import tqdm

from xqg_os.data.vectors import CommittedRows
from xqg_os.encode.base import Encoder, check_role, encode_texts
from xqg_os.errors import InputError
from xqg_os.fingerprint import fingerprint

STORE_DTYPES = ("float32", "float16")
_FORMAT = 1


def store_key(encoder_desc: dict[str, Any], role: str, input_fp: str, dtype: str) -> str:
    """The folder name of a store: role plus a fingerprint of everything its vectors depend on."""
    return f"{role}-" + fingerprint({"encoder": encoder_desc, "role": role, "input": input_fp,
                                     "dtype": dtype, "format": _FORMAT})


class EmbeddingStore:
    """Append-only vectors with string ids; see the module docstring for the layout.

    Use :meth:`open_or_create`; ``len(store)`` is the number of committed vectors.
    """

    def __init__(self, path: Path, dim: int, dtype: str) -> None:
        self.path = path
        self.dim = dim
        self.dtype = dtype
        self._rows = CommittedRows(path, {"vectors": (dim, dtype)})
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self._lock: IO[bytes] | None = None
        self._recover()

    @classmethod
    def open_or_create(cls, root: str | Path, encoder_desc: dict[str, Any], role: str,
                       input_fp: str, dim: int, dtype: str = "float32") -> EmbeddingStore:
        """Open the store for these keys under ``root``, creating it when absent.

        Args:
            root: cache folder holding many stores.
            encoder_desc: ``Encoder.describe()`` of the encoder that makes the vectors.
            role: ``query`` or ``passage`` (which encoder settings were used).
            input_fp: fingerprint of the texts' source (corpus or query store).
            dim: vector dimension.
            dtype: ``float32`` or ``float16`` on disk; :meth:`get` always returns float32.
        """
        check_role(role)
        if dtype not in STORE_DTYPES:
            raise InputError(f"unknown store dtype {dtype!r}; use one of {', '.join(STORE_DTYPES)}")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InputError(f"dimension must be a positive integer, not {dim!r}")
        path = Path(root) / store_key(encoder_desc, role, input_fp, dtype)
        meta = {"format": _FORMAT, "encoder": encoder_desc, "role": role, "input": input_fp,
                "dim": dim, "dtype": dtype}
        meta_path = path / "meta.json"
        if meta_path.exists():
            recorded = json.loads(meta_path.read_text(encoding="utf-8"))
            if recorded.get("dim") != dim or recorded.get("dtype") != dtype:
                raise InputError(f"embedding store {path} holds {recorded.get('dim')}-d "
                                 f"{recorded.get('dtype')} vectors, not {dim}-d {dtype}")
        else:
            path.mkdir(parents=True, exist_ok=True)
            tmp = path / "meta.json.tmp"
            tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str),
                           encoding="utf-8")
            os.replace(tmp, meta_path)
        return cls(path, dim, dtype)

    # -- reading ----------------------------------------------------------------------------

    @property
    def vectors_path(self) -> Path:
        return self.path / "vectors.npy"

    @property
    def ids_path(self) -> Path:
        return self._rows.ids_path

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item: object) -> bool:
        return item in self._index

    @property
    def ids(self) -> list[str]:
        """Committed ids, in row order."""
        return list(self._ids)

    def missing(self, ids: Iterable[str]) -> list[str]:
        """The ids not in the store, first occurrence order, without duplicates."""
        seen: set[str] = set()
        result: list[str] = []
        for item in ids:
            if item not in self._index and item not in seen:
                seen.add(item)
                result.append(item)
        return result

    def get(self, ids: Sequence[str]) -> np.ndarray:
        """float32 ``[len(ids), dim]`` vectors for ``ids`` (repeats allowed).

        Raises:
            InputError: naming ids that are not stored.
        """
        absent = [item for item in ids if item not in self._index]
        if absent:
            raise InputError(f"{len(absent)} id(s) not in embedding store {self.path}: "
                             + ", ".join(map(str, absent[:5])))
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = np.fromiter((self._index[item] for item in ids), dtype=np.int64, count=len(ids))
        data = self._rows.arrays["vectors"].read(len(self._ids))
        return np.asarray(data[rows], dtype=np.float32)

    # -- writing ----------------------------------------------------------------------------

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> int:
        """Append vectors for ``ids``; ids already stored (or repeated) keep their first vector.

        Returns:
            How many vectors were added.

        Raises:
            InputError: for a shape that does not match ``ids`` and the store's dimension, or
                another process writing the same store.
        """
        vectors = np.asarray(vectors)
        if vectors.shape != (len(ids), self.dim):
            raise InputError(f"expected vectors of shape ({len(ids)}, {self.dim}), "
                             f"got {vectors.shape}")
        self._acquire()
        keep: list[int] = []
        new_ids: list[str] = []
        seen: set[str] = set()
        for i, item in enumerate(ids):
            item = str(item)
            if item not in self._index and item not in seen:
                seen.add(item)
                keep.append(i)
                new_ids.append(item)
        if not keep:
            return 0
        start = len(self._ids)
        self._rows.append(start, new_ids, {"vectors": vectors[keep]})
        for offset, item in enumerate(new_ids):
            self._index[item] = start + offset
        self._ids.extend(new_ids)
        return len(new_ids)

    def close(self) -> None:
        """Release the write lock (if this store took it)."""
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # closing the handle releases the lock; fcntl may be gone at interpreter exit
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()

    # -- recovery ---------------------------------------------------------------------------

    def _acquire(self) -> None:
        if self._lock is not None:
            return
        # held open until close(): the lock lives as long as this handle
        handle = open(self.path / "lock", "ab")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise InputError(f"embedding store {self.path} is being written by another "
                             "process") from None
        self._lock = handle
        # another writer may have added rows since this store was opened
        self._recover(repair=True)

    def _recover(self, repair: bool = False) -> None:
        """Read the committed ids; with ``repair`` (only under the write lock, so a writer's
        uncommitted rows are never cut by a reader) also cut uncommitted data."""
        self._ids = self._rows.recover(repair)
        self._index = {item: row for row, item in enumerate(self._ids)}


def encode_cached(encoder: Encoder, store: EmbeddingStore, ids: Sequence[str],
                  texts: Sequence[str], role: str, chunk_size: int = 1024,
                  progress: bool = True) -> np.ndarray:
    """Vectors for ``texts`` (identified by ``ids``), encoding only those not yet stored.

    Encodes the missing texts in chunks of ``chunk_size`` and commits each chunk, so an
    interrupted run loses at most one chunk and a re-run encodes nothing already stored.

    Returns:
        float32 ``[len(ids), dim]`` in the order of ``ids``.

    Raises:
        InputError: when ids and texts differ in length or the encoder does not fit the store.
    """
    check_role(role)
    if len(ids) != len(texts):
        raise InputError(f"{len(ids)} ids but {len(texts)} texts")
    if encoder.dimension != store.dim:
        raise InputError(f"encoder gives {encoder.dimension}-d vectors, the store at "
                         f"{store.path} holds {store.dim}-d ones")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be positive, not {chunk_size}")
    text_of: dict[str, str] = {}
    for item, text in zip(ids, texts, strict=True):
        text_of.setdefault(item, text)
    todo = store.missing(ids)
    with tqdm(total=len(todo), desc=f"encode {role} texts", unit="text",
              disable=not progress or not todo) as bar:
        for start in range(0, len(todo), chunk_size):
            chunk = todo[start:start + chunk_size]
            store.add(chunk, encode_texts(encoder, [text_of[i] for i in chunk], role))
            bar.update(len(chunk))
    return store.get(list(ids))
