"""Stable fingerprints for caches: a short hash of a JSON-serialisable description."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(obj: Any, length: int = 16) -> str:
    """Return a short hex digest of ``obj`` serialised as canonical JSON."""
    payload = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:length]

