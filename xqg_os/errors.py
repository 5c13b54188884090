"""Errors a user can cause. The CLI prints their message on one line and exits non-zero.

The library speaks in its own parameter names: an error about one parameter says so with
``param`` (``InputError("batch_size must be positive, not 0", param="batch_size")``), and the
CLI rewrites that name into the flag the user typed, in one place (``xqg_os.cli.common``).
"""

from __future__ import annotations


class XQGError(Exception):
    """A problem with the user's input or environment, explained in the message.

    Args:
        message: one line that says what is wrong and, where it helps, what to do.
        param: the library parameter the problem is about (its name appears in the message), or
            a tuple of them when the problem is how two parameters combine.
    """

    def __init__(self, message: str, param: str | tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.param = param

    @property
    def params(self) -> tuple[str, ...]:
        """The parameters named by ``param``, as a tuple (empty when there are none)."""
        if self.param is None:
            return ()
        return (self.param,) if isinstance(self.param, str) else tuple(self.param)


class InputError(XQGError):
    """A malformed or inconsistent input file or parameter."""


class ClusterError(XQGError):
    """The OpenSearch cluster is unreachable or refused a request."""


class ModelError(XQGError):
    """A model could not be found or loaded."""
