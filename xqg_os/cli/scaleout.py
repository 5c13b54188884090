"""The ``--ray [ADDRESS]`` and ``--ray-workers`` flags of ``generate`` and ``ingest``: run the
stage as a Ray Data pipeline (:mod:`xqg_os.ingest.ray`) instead of one process."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click


def ray_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--ray`` and ``--ray-workers``; passes ``ray_options``: a
    :class:`~xqg_os.ingest.ray.RayOptions`, or None for the single-process path."""

    @click.option("--ray", "ray", is_flag=False, flag_value="local", default=None,
                  metavar="[ADDRESS]",
                  help="Run as a Ray Data pipeline: alone, on a Ray instance started for the "
                       "run; 'auto' joins the one running here; ray://HOST:10001 or HOST:6379 "
                       "a remote cluster. Needs pip install 'xqg-os[ray]'.")
    @click.option("--ray-workers", type=click.IntRange(1), default=None,
                  help="[--ray] Model actors (generation, encoding) [default: one per GPU of "
                       "the cluster, or 1].")
    @functools.wraps(func)
    def wrapper(*args: Any, ray: str | None, ray_workers: int | None,
                **kwargs: Any) -> Any:
        options = None
        if ray is not None:
            from xqg_os.ingest.ray import RayOptions, require_ray

            require_ray()  # before anything else: say how to install it
            options = RayOptions(address=ray, workers=ray_workers)
        elif ray_workers is not None:
            raise click.UsageError("--ray-workers needs --ray")
        kwargs["ray_options"] = options
        return func(*args, **kwargs)

    return wrapper
