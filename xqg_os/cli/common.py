"""Shared CLI plumbing: one-line errors, cluster connection options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from xqg_os.encode.base import DEFAULT_MODEL, KINDS, POOLINGS
from xqg_os.errors import XQGError


def comma_list(value: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (an empty or missing value gives ``[]``)."""
    return [item.strip() for item in str(value or "").split(",") if item.strip()]


def int_list(value: str | None, option: str) -> tuple[int, ...]:
    """``"2000,5000"`` -> ``(2000, 5000)``; a non-integer is a one-line error naming ``option``."""
    try:
        return tuple(int(item) for item in comma_list(value))
    except ValueError:
        raise XQGError(f"{option} takes comma-separated integers, got {value!r}") from None


class XQGGroup(click.Group):
    """A click group that turns :class:`XQGError` (and Ctrl-C) into one line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except XQGError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; rerun the same command to resume", err=True)
            ctx.exit(130)


def cluster_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command that talks to OpenSearch takes; passes a ``client_config``."""

    @click.option("--url", envvar="XQG_OPENSEARCH_URL", default="http://127.0.0.1:9200",
                  show_default=True, help="OpenSearch URL (env XQG_OPENSEARCH_URL).")
    @click.option("--user", envvar="XQG_OPENSEARCH_USER", default=None,
                  help="Basic-auth user (env XQG_OPENSEARCH_USER).")
    @click.option("--password", envvar="XQG_OPENSEARCH_PASSWORD", default=None,
                  help="Basic-auth password (env XQG_OPENSEARCH_PASSWORD).")
    @click.option("--ca-certs", envvar="XQG_OPENSEARCH_CA_CERTS", default=None,
                  type=click.Path(dir_okay=False), help="CA bundle for TLS verification.")
    @click.option("--insecure", is_flag=True, default=False,
                  help="Do not verify TLS certificates (local development only).")
    @functools.wraps(func)
    def wrapper(*args: Any, url: str, user: str | None, password: str | None,
                ca_certs: str | None, insecure: bool, **kwargs: Any) -> Any:
        from xqg_os.opensearch.client import ClientConfig

        kwargs["client_config"] = ClientConfig(url=url, user=user, password=password,
                                               ca_certs=ca_certs, verify_certs=not insecure)
        return func(*args, **kwargs)

    return wrapper


def encoder_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Encoder flags shared by ingest and the study; passes an ``encoder_config``."""

    @click.option("--encoder", default=DEFAULT_MODEL, show_default=True,
                  help="Encoder: hub id, local folder, 'all-MiniLM-L6-v2' (shipped) or 'usem'.")
    @click.option("--encoder-kind", type=click.Choice(KINDS), default="auto", show_default=True)
    @click.option("--pooling", type=click.Choice(POOLINGS), default="cls", show_default=True)
    @click.option("--normalize", is_flag=True, help="L2-normalise vectors.")
    @click.option("--query-max-length", type=int, default=32, show_default=True)
    @click.option("--passage-max-length", type=int, default=128, show_default=True)
    @click.option("--query-prefix", default="", help="e.g. 'query: ' for e5 models.")
    @click.option("--passage-prefix", default="", help="e.g. 'passage: ' for e5 models.")
    @click.option("--device", default="auto", show_default=True)
    @click.option("--encode-batch-size", type=int, default=64, show_default=True)
    @functools.wraps(func)
    def wrapper(*args: Any, encoder: str, encoder_kind: str, pooling: str, normalize: bool,
                query_max_length: int, passage_max_length: int, query_prefix: str,
                passage_prefix: str, device: str, encode_batch_size: int, **kwargs: Any) -> Any:
        from xqg_os.encode import EncoderConfig

        kwargs["encoder_config"] = EncoderConfig(
            model=encoder, kind=encoder_kind, pooling=pooling, normalize=normalize,
            query_max_length=query_max_length, passage_max_length=passage_max_length,
            query_prefix=query_prefix, passage_prefix=passage_prefix, device=device,
            batch_size=encode_batch_size)
        return func(*args, **kwargs)

    return wrapper
