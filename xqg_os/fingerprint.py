"""Stable fingerprints for caches: a short hash of a JSON-serialisable description."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def fingerprint(obj: Any, length: int = 16) -> str:
    """Return a short hex digest of ``obj`` serialised as canonical JSON."""
    payload = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:length]


def file_fingerprint(path: str | Path, length: int = 16) -> str:
    """Digest of a file's bytes (streamed, so large corpora cost no memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]
