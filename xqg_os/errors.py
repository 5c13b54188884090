"""Errors a user can cause. The CLI prints their message on one line and exits non-zero."""


class XQGError(Exception):
    """A problem with the user's input or environment, explained in the message."""


class InputError(XQGError):
    """A malformed or inconsistent input file."""


class ClusterError(XQGError):
    """The OpenSearch cluster is unreachable or refused a request."""


class ModelError(XQGError):
    """A model could not be found or loaded."""
