"""Library errors in the user's flags.

The library names its own parameters in errors (``XQGError(..., param="skip_bad_lines")``);
:func:`flag_message` turns that name into the flag of the running command that feeds it, found
from the command's options (python name -> first long flag), where the library's name differs
from the option's through :data:`PARAM_OPTIONS`, and otherwise as another command's flag (an
error that points at an earlier step: ``--save-vectors (xqg-os ingest)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import click

from xqg_os.errors import XQGError

# library parameter -> python names of the options that feed it, where the two differ (tried
# when the running command has no option of the library's name)
PARAM_OPTIONS: dict[str, tuple[str, ...]] = {
    "backend": ("trainer",),           # TrainConfig.backend
    "dtype": ("cache_dtype",),         # SweepConfig.dtype: the embedding cache's dtype
    "learning_rate": ("lr",),          # TrainConfig.learning_rate
    "queries_file": ("precomputed",),  # GeneratorSpec.queries_file
    "qrels": ("local_qrels",),         # the mteb bridge's local task
    "k": ("depth",),                   # searchers' k: passages retrieved per query
    "query_store": ("generated",),     # the study's query store
}


def _replace_word(message: str, word: str, new: str) -> str:
    """``word`` replaced by ``new`` wherever it stands alone (not inside a longer name)."""
    return re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lambda _: new, message)


def _long_flag(option: click.Option) -> str:
    return next((opt for opt in option.opts if opt.startswith("--")), option.opts[0])


def flag_for(command: click.Command, param: str) -> str | None:
    """The flag of ``command`` that feeds the library parameter ``param``, if it has one."""
    options = {p.name: p for p in command.params if isinstance(p, click.Option)}
    for name in (param, *PARAM_OPTIONS.get(param, ())):
        if name in options:
            return _long_flag(options[name])
    return None


def _other_command_flag(param: str) -> str | None:
    """``--flag (xqg-os COMMAND)`` for the first other command that has an option named
    ``param`` (a message pointing at another step, e.g. the ingest that saves vectors)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or not isinstance(ctx.find_root().command, click.Group):
        return None
    pending: list[tuple[str, click.Command]] = [("", ctx.find_root().command)]
    while pending:
        path, command = pending.pop(0)
        if isinstance(command, click.Group):
            pending += [(f"{path} {name}".strip(), sub) for name, sub in command.commands.items()]
        elif param in {p.name for p in command.params if isinstance(p, click.Option)}:
            return f"{flag_for(command, param)} (xqg-os {path})"
    return None


def flag_message(exc: XQGError, command: click.Command | None) -> str:
    """The error's message, its parameters (``exc.params``) written as ``command``'s flags, or
    as another command's where the running one has no such option."""
    message = str(exc)
    if command is None:
        return message
    for param in exc.params:
        flag = flag_for(command, param) or _other_command_flag(param)
        if flag:
            message = _replace_word(message, param, flag)
    return message


@contextmanager
def feeding(**options: str) -> Iterator[None]:
    """Map library parameters to the options that feed them, for one library call whose names
    clash with other options of the command (``EncoderConfig.batch_size`` is
    ``--encode-batch-size`` where ``--batch-size`` is the command's own)."""
    try:
        yield
    except XQGError as exc:
        if not any(param in options for param in exc.params):
            raise
        message = str(exc)
        for param in exc.params:
            if param in options:
                message = _replace_word(message, param, options[param])
        raise type(exc)(message, param=tuple(options.get(p, p) for p in exc.params)) from None


