"""Shared CLI plumbing: library errors in the user's flags, deprecated flag spellings, cluster and
encoder options.

The library names its own parameters in errors; :mod:`xqg_os.cli.flags` writes them as the
running command's flags. :class:`XQGCommand` accepts old flag spellings for one release: it
rewrites them before parsing and prints a one-line notice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import click

from xqg_os.cli.connection import CLIENT_CONFIG
from xqg_os.cli.connection import cluster_options as cluster_options  # where commands find it
from xqg_os.cli.flags import feeding, flag_message
from xqg_os.cli.params import OUTPUTS, finite_float
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


def _command_name(ctx: click.Context) -> str:
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)) or (ctx.info_name or "")


def rename_flags(args: list[str], renamed: Mapping[str, str], command: click.Command,
                 ctx: click.Context) -> list[str]:
    """``args`` with old flag spellings (``--old`` and ``--old=value``) rewritten to the new
    ones, a notice on stderr for each; an old and a new spelling of one option given together
    is a usage error."""
    if not renamed:
        return args
    options = [p for p in command.params if isinstance(p, click.Option)]
    # options whose value is optional (``--ray [ADDRESS]``) take the next token only when it
    # is no option, which click's parser decides
    takes_value = {opt for p in options if not p.is_flag and not p.count
                   and not getattr(p, "_flag_needs_value", False) for opt in p.opts}
    repeatable = {opt for p in options if p.multiple for opt in p.opts}
    out: list[str] = []
    given: dict[str, list[str]] = {}  # new flag -> the spellings it was given with
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            out += [token, *tokens]
            break
        name, eq, value = token.partition("=")
        new = renamed.get(name, name)
        given.setdefault(new, []).append(name)
        out.append(new + eq + value)
        if new in takes_value and not eq:
            out.append(next(tokens, ""))  # the option's value, whatever it looks like
    for new, names in given.items():
        old = list(dict.fromkeys(name for name in names if name != new))
        if not old:
            continue
        if len(names) > 1 and new not in repeatable:
            spelled = "is the old spelling" if len(old) == 1 else "are old spellings"
            raise click.UsageError(f"{' and '.join(dict.fromkeys(names))} given together: "
                                   f"{', '.join(old)} {spelled} of {new}; give {new} once", ctx)
        for name in old:
            click.echo(f"warning: {name} is deprecated for '{_command_name(ctx)}'; use {new}",
                       err=True)
    return out


class XQGCommand(click.Command):
    """A command that still accepts old flag spellings for one release.

    Args:
        renamed: ``{"--old": "--new"}``; the old spelling is rewritten before parsing, with a
            one-line deprecation notice on stderr, and does not show in ``--help``.
    """

    def __init__(self, *args: Any, renamed: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renamed = dict(renamed or {})

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, rename_flags(args, self.renamed, self, ctx))


class XQGGroup(XQGCommand, click.Group):
    """A click group whose commands are :class:`XQGCommand` s, and that turns
    :class:`XQGError` (in the running command's flags, see :func:`flag_message`) and Ctrl-C
    into one line and exit codes 1 and 130."""

    command_class = XQGCommand
    group_class = type  # subgroups are XQGGroups too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted; rerun the same command to resume", err=True)
            ctx.exit(130)
        except Exception as exc:
            error = exc if isinstance(exc, XQGError) else _cluster_failure(exc, ctx)
            if error is None and isinstance(exc, OSError):
                error = _os_failure(exc, ctx)
            if error is None:
                raise
            name = ctx.invoked_subcommand
            command = self.get_command(ctx, name) if name else self
            click.echo(f"error: {flag_message(error, command)}", err=True)
            ctx.exit(1)


def _cluster_failure(exc: Exception, ctx: click.Context) -> XQGError | None:
    """A cluster failure anywhere in the exception's chain (an OpenSearch client error: TLS,
    credentials, privileges, a lost connection, a timeout, a red index ...; or the connection
    below the client failing) as one line, explained with the running command's cluster
    configuration; None for any other exception."""
    from xqg_os.opensearch.failures import explain_chain

    return explain_chain(exc, ctx.meta.get(CLIENT_CONFIG))


def _os_failure(exc: OSError, ctx: click.Context | None = None) -> XQGError:
    """A file-system failure (a full disk mid-run, a folder gone read-only) as one line, naming
    the file, or else the outputs the command writes; what was written stays (resumable)."""
    if exc.strerror and exc.filename is not None:
        return XQGError(f"{exc.strerror}: '{exc.filename}'")
    outputs = ctx.meta.get(OUTPUTS) if ctx is not None else None
    if exc.strerror and outputs:
        return XQGError(f"{exc.strerror} while writing {', '.join(map(repr, outputs))}; what "
                        "was written is kept: fix that, then rerun the same command to resume")
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return XQGError(lines[0] if lines else type(exc).__name__)


def write_summary(path: str, data: Mapping[str, Any]) -> None:
    """Write a finished job's summary as JSON to ``path``; a failure to write it is a warning,
    not an error: the job's result is kept elsewhere (the path was checked before the job).

    Args:
        path: the summary file (``--summary-json``).
        data: the summary, JSON-serialisable.
    """
    import json

    try:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
    except OSError as exc:
        click.echo(f"warning: the summary was not written: {_os_failure(exc)}", err=True)


def encoder_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Encoder flags shared by ingest and the study; passes an ``encoder_config``."""

    @click.option("--encoder", default=DEFAULT_MODEL, show_default=True,
                  help="Encoder: hub id, local folder, 'all-MiniLM-L6-v2' (shipped) or 'usem'.")
    @click.option("--encoder-kind", type=click.Choice(KINDS), default="auto", show_default=True)
    @click.option("--pooling", type=click.Choice(POOLINGS), default="cls", show_default=True)
    @click.option("--normalize", is_flag=True, help="L2-normalise vectors.")
    @click.option("--query-max-length", type=click.IntRange(1), default=32, show_default=True)
    @click.option("--passage-max-length", type=click.IntRange(1), default=128, show_default=True)
    @click.option("--query-prefix", default="", help="e.g. 'query: ' for e5 models.")
    @click.option("--passage-prefix", default="", help="e.g. 'passage: ' for e5 models.")
    @click.option("--device", default="auto", show_default=True)
    @click.option("--encode-batch-size", type=click.IntRange(1), default=64, show_default=True)
    @functools.wraps(func)
    def wrapper(*args: Any, encoder: str, encoder_kind: str, pooling: str, normalize: bool,
                query_max_length: int, passage_max_length: int, query_prefix: str,
                passage_prefix: str, device: str, encode_batch_size: int, **kwargs: Any) -> Any:
        from xqg_os.encode import EncoderConfig

        with feeding(model="encoder", kind="encoder_kind", batch_size="encode_batch_size"):
            kwargs["encoder_config"] = EncoderConfig(
                model=encoder, kind=encoder_kind, pooling=pooling, normalize=normalize,
                query_max_length=query_max_length, passage_max_length=passage_max_length,
                query_prefix=query_prefix, passage_prefix=passage_prefix, device=device,
                batch_size=encode_batch_size)
        return func(*args, **kwargs)

    return wrapper


def evaluation_options(test_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Evaluation files and settings, one spelling for evaluate and the study: passes the paths
    ``queries``, ``qrels``, ``answers`` and an ``eval_config`` (an EvalConfig; R@kt budgets only
    when answers are given)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False),
                      help="Evaluation queries with languages: JSONL (id, text, lang) or TSV.")
        @click.option("--qrels", type=click.Path(exists=True, dir_okay=False), default=None,
                      help="TREC qrels, for nDCG / recall / MRR.")
        @click.option("--answers", type=click.Path(exists=True, dir_okay=False), default=None,
                      help="XOR-TyDi answers JSONL, for R@kt.")
        @click.option("--metrics", default="nDCG@10,R@100,MRR@10", show_default=True,
                      help="ir-measures names, comma-separated.")
        @click.option("--kt", default="2000,5000", show_default=True,
                      help="R@kt token budgets, comma-separated.")
        @click.option("--test", type=click.Choice(["t", "permutation"]), default="t",
                      show_default=True, help=test_help)
        @click.option("--correction", type=click.Choice(["holm", "bonferroni", "none"]),
                      default="holm", show_default=True,
                      help="Multiple-testing correction, over all tests of a metric.")
        @click.option("--significance", type=finite_float(0, 1, min_open=True, max_open=True),
                      default=0.05, show_default=True, help="Significance level of the tests.")
        @functools.wraps(func)
        def wrapper(*args: Any, metrics: str, kt: str, test: str, correction: str,
                    significance: float, **kwargs: Any) -> Any:
            from xqg_os.evaluate import EvalConfig

            budgets = int_list(kt, "--kt")
            kwargs["eval_config"] = EvalConfig(
                metrics=tuple(comma_list(metrics)), kt=budgets if kwargs["answers"] else (),
                test=test, correction=correction, significance=significance)
            return func(*args, **kwargs)

        return wrapper

    return decorate
