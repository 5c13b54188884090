"""Line-numbered reading of text inputs, JSON Lines above all: the one reader every JSONL input
(corpora, queries, answers, training pairs) goes through, so that they all treat blank lines,
line endings, encodings and bad lines the same way and report them the same way::

    {path}:{line}: malformed line ({reason})

A gzip file (``.gz``, recognised by its first bytes whatever its name) is decompressed on the
fly; a UTF-8 byte-order mark at the start is ignored.

Readers stream: memory holds one line. Random-access readers that index byte offsets (the query
store, precomputed query files) read their own bytes but parse each line with
:func:`parse_object`.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

from xqg_os.errors import InputError

JsonObject = dict[str, object]
"""One JSONL record: a JSON object."""

NOT_UTF8 = "not UTF-8 text"  # the reason given for a line whose bytes are not UTF-8


def malformed_line(path: str | Path, number: int, reason: str,
                   skip_param: str | None = None) -> InputError:
    """The error for a bad line: ``{path}:{number}: malformed line ({reason})``.

    Args:
        skip_param: the caller's parameter that skips bad lines instead; the message then
            names it as the way out (and the error carries it as ``param``).
    """
    message = f"{path}:{number}: malformed line ({reason})"
    if skip_param:
        return InputError(f"{message}; fix it or pass {skip_param}", param=skip_param)
    return InputError(message)


def parse_object(line: str | bytes) -> JsonObject:
    """Parse one line as a JSON object.

    Raises:
        ValueError: ``invalid JSON: ...`` or ``not a JSON object``, to be wrapped by the
            caller (see :func:`malformed_line`).
    """
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError:  # bytes that are not UTF-8
        raise ValueError(NOT_UTF8) from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    return record


GZIP_MAGIC = b"\x1f\x8b"  # no UTF-8 text starts with these two bytes


def plain_suffix(path: str | Path) -> str:
    """The file's extension without a trailing ``.gz`` (``.tsv`` for ``corpus.tsv.gz``)."""
    path = Path(path)
    return Path(path.stem).suffix.lower() if path.suffix.lower() == ".gz" else \
        path.suffix.lower()


def open_binary(path: str | Path, what: str) -> io.BufferedIOBase:
    """Open a text input for reading bytes, through gzip when it is a gzip file.

    Raises:
        InputError: ``{what} file not found: {path}``, or a folder.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a {what} file")
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115


def _raw_lines(path: Path, what: str) -> Iterator[tuple[int, bytes]]:
    """Numbered raw lines; a gzip stream that is not one, or is cut short, is one clear error."""
    number = 0
    with open_binary(path, what) as handle:
        try:
            for number, raw in enumerate(handle, start=1):
                yield number, raw
        except (OSError, EOFError, zlib.error) as exc:
            if not isinstance(handle, gzip.GzipFile):
                raise
            reason = str(exc) or type(exc).__name__
            raise InputError(f"{path}:{number + 1}: cannot decompress ({reason}); is it a "
                             "complete gzip file?") from None


def _decoded_lines(path: Path, what: str) -> Iterator[tuple[int, str | None]]:
    """``(number, line)`` for non-blank lines, ``(number, None)`` for a line that is not UTF-8."""
    for number, raw in _raw_lines(path, what):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        if number == 1:
            line = line.removeprefix("\ufeff")  # a byte-order mark some editors write
        if line.strip():
            yield number, line.rstrip("\n").rstrip("\r")


def read_lines(path: str | Path, what: str, bad_lines: list[int] | None = None,
               skip_param: str | None = None) -> Iterator[tuple[int, str]]:
    """Stream ``(line number, line)`` for the non-blank lines of a UTF-8 text file.

    Line numbers count every line (blank ones too) from 1; the line ending is removed.

    Args:
        path: the file (``.gz``: decompressed on the fly).
        what: what the file holds (``"queries"``, ``"run"``), for the not-found message.
        bad_lines: when given, lines that are not UTF-8 are skipped and their numbers appended
            here; otherwise the first one raises.
        skip_param: the caller's parameter that turns skipping on, named in the error.

    Raises:
        InputError: ``{what} file not found: {path}``, a folder, a broken gzip stream, or,
            without ``bad_lines``, a line that is not UTF-8.
    """
    for number, line in _decoded_lines(Path(path), what):
        if line is None:
            if bad_lines is None:
                raise malformed_line(path, number, NOT_UTF8, skip_param)
            bad_lines.append(number)
            continue
        yield number, line


def read_jsonl(path: str | Path, what: str, bad_lines: list[int] | None = None,
               skip_param: str | None = None) -> Iterator[tuple[int, JsonObject]]:
    """Stream ``(line number, object)`` for the non-blank lines of a JSONL file.

    Args:
        path: the file (``.gz``: decompressed on the fly).
        what: what the file holds (``"corpus"``, ``"training pairs"``), for the not-found
            message.
        bad_lines: when given, malformed lines (not UTF-8, invalid JSON, not an object) are
            skipped and their numbers appended here; otherwise the first one raises.
        skip_param: the caller's parameter that turns skipping on, named in the error.

    Raises:
        InputError: ``{what} file not found: {path}``, a folder, a broken gzip stream, or,
            without ``bad_lines``, ``{path}:{number}: malformed line (...)``.
    """
    for number, line in _decoded_lines(Path(path), what):
        try:
            if line is None:
                raise ValueError(NOT_UTF8)
            record = parse_object(line)
        except ValueError as exc:
            if bad_lines is None:
                raise malformed_line(path, number, str(exc), skip_param) from None
            bad_lines.append(number)
            continue
        yield number, record
