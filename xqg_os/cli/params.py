"""Parameter types that refuse bad values while the command line is parsed, before any work:
finite floats (:func:`finite_float`: no ``nan``, no ``inf``, optionally within a range) and
outputs that can be written (:class:`OutputPath`, checked with :mod:`xqg_os.outputs`).

Integers take ``click.IntRange``; every float option takes :func:`finite_float`, because
``click.FloatRange`` lets ``nan`` through (every comparison with it is false).
"""

from __future__ import annotations

import math
import os
from typing import Any

import click


class _Finite:
    """Mixin for click's float types: the value must be a finite number."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)  # type: ignore[misc]
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)  # type: ignore[attr-defined]
        return number


class FiniteFloat(_Finite, click.types.FloatParamType):
    """A float that is neither ``nan`` nor infinite."""


class FiniteFloatRange(_Finite, click.FloatRange):
    """A finite float within a range (``click.FloatRange`` without ``nan``)."""


def finite_float(min: float | None = None, max: float | None = None, *,
                 min_open: bool = False, max_open: bool = False) -> click.ParamType:
    """The type of a float option: finite, and within ``[min, max]`` where they are given
    (``min_open``/``max_open``: the bound itself is excluded); the range shows in ``--help``."""
    if min is None and max is None:
        return FiniteFloat()
    return FiniteFloatRange(min, max, min_open=min_open, max_open=max_open)


OUTPUTS = "xqg_os.outputs"  # ctx.meta key: the paths the running command writes


class OutputPath(click.Path):
    """A path the command will write: a folder (``folder=True``, created if missing) or a file.
    Refused while parsing when it cannot be written (see :func:`xqg_os.outputs.writable_problem`)
    so that no work is lost to it later.

    Args:
        folder: whether the output is a folder (else a file).
        **kwargs: passed to ``click.Path`` (``path_type``, ``allow_dash``).
    """

    def __init__(self, folder: bool, **kwargs: Any) -> None:
        super().__init__(file_okay=not folder, dir_okay=folder, **kwargs)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        from xqg_os.outputs import writable_problem

        path = super().convert(value, param, ctx)
        if not (self.allow_dash and value == "-"):
            problem = writable_problem(os.fsdecode(path), self.folder)
            if problem:
                self.fail(problem, param, ctx)
            if ctx is not None:  # named by a file-system error that does not name its file
                ctx.meta.setdefault(OUTPUTS, []).append(os.fsdecode(path))
        return path
