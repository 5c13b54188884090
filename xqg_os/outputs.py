"""Whether an output path can be written, asked before a job starts its work.

A job that writes its results at the end (a query store, saved vectors, a summary, a report)
should learn that it cannot before hours of work, not after: :func:`writable_problem` says why a
path cannot be written (a file where a folder is needed or the other way round, a read-only or
missing parent that cannot be created), :func:`check_writable` raises it as an
:class:`~xqg_os.errors.InputError`. Nothing is created; the check writes and removes one empty
probe file in the nearest existing folder, because permission bits do not tell (root ignores
them, read-only mounts and /proc refuse anyway).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from xqg_os.errors import InputError


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (the current folder at the latest)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def _probe(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (None: one can)."""
    try:
        handle, name = tempfile.mkstemp(prefix=".xqg-write-probe-", dir=folder)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(handle)
    os.unlink(name)
    return None


def writable_problem(path: str | os.PathLike[str], folder: bool) -> str | None:
    """Why ``path`` cannot be written as an output, in a few words; None when it can.

    Args:
        path: the output: a folder (created if missing, with its parents) or a file.
        folder: whether the output is a folder (else a file, created or overwritten).

    Returns:
        e.g. ``"'out.txt' is a file, not a folder"``, or None.
    """
    target = Path(path)
    if target.exists():
        if folder and not target.is_dir():
            return f"'{target}' is a file, not a folder"
        if not folder and target.is_dir():
            return f"'{target}' is a folder, not a file"
        if not folder:
            return None if os.access(target, os.W_OK) else f"'{target}' is not writable"
        reason = _probe(target)
        return f"cannot write in '{target}': {reason}" if reason else None
    existing = _nearest_existing(target.parent)
    if not existing.is_dir():
        return f"cannot create '{target}': '{existing}' is a file, not a folder"
    reason = _probe(existing)
    return f"cannot create '{target}': {reason} in '{existing}'" if reason else None


def check_writable(path: str | os.PathLike[str], folder: bool, param: str | None = None
                   ) -> None:
    """Raise :class:`~xqg_os.errors.InputError` when ``path`` cannot be written.

    Args:
        path: the output path.
        folder: whether the output is a folder (else a file).
        param: the library parameter that holds ``path``, named in the message.
    """
    problem = writable_problem(path, folder)
    if problem:
        where = f"{param}: " if param else ""
        raise InputError(f"{where}{problem}", param=param)
