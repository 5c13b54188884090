"""OpenSearch failures as one line with the hint that fits: TLS, credentials, privileges, AWS
signatures, connection, timeouts, unavailable (red) or closed indices. :func:`explain` turns an
``opensearchpy`` exception into a :class:`~xqg_os.errors.ClusterError`, and
:func:`explain_chain` finds such a failure (or a ``urllib3`` / ``http.client`` one) anywhere in
an exception's chain, which is how the CLI maps every command's cluster failures in one place.
URLs in messages never carry credentials (:func:`redact_url`).

Only a refused or failed first connection suggests starting the local node: a TLS problem is
never one of a node that is not running, and a connection that fails after the cluster has
answered (:func:`note_answered`, called by the health check) was lost mid-run: its message says
to rerun the same command, which resumes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from xqg_os.errors import ClusterError

if TYPE_CHECKING:
    from xqg_os.opensearch.client import ClientConfig

START_HINT = "start the local node with `xqg-os cluster start` (or scripts/opensearch-local start)"
# the security plugin's 403: "no permissions for [indices:data/write/bulk] and User [name=r, ..."
_NO_PERMISSION = re.compile(r"no permissions for \[([^\]]*)\](?: and User \[name=([^,\]]*))?")
_USERINFO = re.compile(r"(?<=//)[^/@\s]*@")
_READ_TIMEOUT = re.compile(r"timeout=([\d.]+)")
RESUME_HINT = "rerun the same command to resume"
# connection failures, as a few words: (text in urllib3's or http.client's message, words)
_CAUSES = (("Connection refused", "connection refused"),
           ("RemoteDisconnected", "closed without an answer"),
           ("Connection aborted", "connection aborted"),
           ("reset by peer", "connection reset"), ("Broken pipe", "broken pipe"),
           ("IncompleteRead", "answer cut off"), ("Name or service not known", "unknown host"))
# error types of a request no copy of a shard could serve (a red index, a node gone); any 503
# too ("all shards failed" is a 503 then, a 400 for a malformed query)
_UNAVAILABLE = ("no_shard_available_action_exception", "unavailable_shards_exception",
                "primary_missing_action_exception")
_ANSWERED: set[str] = set()  # URLs whose cluster answered a health check in this process


class PrivilegeError(ClusterError):
    """The cluster authenticated the user, whose roles lack a privilege a request needs.

    Args:
        privilege: the action the security plugin names (``indices:data/write/bulk``).
    """

    def __init__(self, message: str, privilege: str = "",
                 param: str | tuple[str, ...] | None = None) -> None:
        super().__init__(message, param=param)
        self.privilege = privilege


def redact_url(url: str) -> str:
    """``url`` without the ``user:password@`` part, for messages."""
    return _USERINFO.sub("", url)


def note_answered(url: str) -> None:
    """Remember that the cluster at ``url`` answered: a connection to it that fails later was
    lost mid-run (see :func:`explain`), not refused at the start."""
    _ANSWERED.add(redact_url(url))


def _answered(where: str, config: ClientConfig | None) -> bool:
    return where in _ANSWERED if config is not None else bool(_ANSWERED)


def _reason(exc: Any) -> str:
    """The server's own reason (JSON error body), or the text of the exception."""
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            causes = error.get("root_cause") or [error]
            return str(causes[0].get("reason") or error.get("type") or info)
        return str(error or info.get("message") or info.get("Message") or info)  # AWS: message
    if info:
        return str(info)
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    reason = args[1] if len(args) > 1 else exc
    return "" if reason in ("", None) else str(reason)


def _tls(reason: str, where: str, config: ClientConfig | None) -> ClusterError:
    ca = config.ca_certs if config else None
    if "No such file" in reason:
        return ClusterError(f"TLS: cannot read the CA file {ca!r}; give an existing file as "
                            "ca_certs", param="ca_certs")
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        if "mismatch" in reason:
            return ClusterError(f"TLS: the certificate of {where} is not issued for this host "
                                f"name ({reason}); use the host name the certificate names",
                                param="url")
        source = f"the CA in {ca}" if ca else "a CA of the system trust store"
        return ClusterError(f"TLS: the certificate of {where} is not signed by {source} "
                            f"({reason}); give the cluster's CA file as ca_certs",
                            param="ca_certs")
    if "WRONG_VERSION_NUMBER" in reason or "record layer" in reason or "packet length" in reason:
        return ClusterError(f"TLS: {where} does not speak TLS; use http:// for a plain HTTP port",
                            param="url")
    return ClusterError(f"TLS handshake with {where} failed: {reason}")


def _error_field(exc: Any, key: str) -> str:
    """``key`` of the server's error (its first root cause first), or ``""``."""
    info = getattr(exc, "info", None)
    error = info.get("error") if isinstance(info, dict) else None
    if not isinstance(error, dict):
        return ""
    causes = [c for c in error.get("root_cause") or [] if isinstance(c, dict)]
    return str(next((c[key] for c in causes if c.get(key)), error.get(key) or ""))


def _connection(reason: str, where: str, config: ClientConfig | None) -> ClusterError:
    cause = next((words for text, words in _CAUSES if text in reason), "")
    if _answered(where, config):
        detail = cause or reason.split(": ")[-1][:120] or "connection failed"
        return ClusterError(f"lost the connection to OpenSearch at {where} ({detail}): the node "
                            f"stopped or the network failed; when it answers again, "
                            f"{RESUME_HINT}")
    if cause in ("closed without an answer", "connection aborted"):
        https = "; is it a TLS port? use https://" if where.startswith("http:") else ""
        return ClusterError(f"{where} closed the connection without an HTTP answer{https}",
                            param="url")
    hint = START_HINT
    if where.startswith("https:"):
        hint = "start the secured local node with scripts/opensearch-local start --secure"
    return ClusterError(f"cannot reach OpenSearch at {where} (connection failed); {hint}")


def _timeout(reason: str, where: str, config: ClientConfig | None) -> ClusterError:
    found = _READ_TIMEOUT.search(reason)
    within = f" within {float(found.group(1)):g}s" if found else (
        f" within {config.timeout:g}s" if config else " in time")
    return ClusterError(f"OpenSearch at {where} did not answer{within}: the node is stalled, "
                        "paused or overloaded (a long garbage collection, a full disk, a "
                        "stopped process); check that `GET _cluster/health` answers, then "
                        f"{RESUME_HINT} (a larger timeout waits longer)", param="timeout")


def unavailable(kind: str, reason: str, index: str = "", status: int | str = "",
                where: str = "") -> ClusterError | None:
    """The one line for a closed index or a red one (no copy of one of its shards is active),
    from the server's error ``kind`` (its ``type``) and ``reason``; None for other errors.

    Args:
        kind, reason: the error's ``type`` and ``reason`` (of a response or of one item).
        index: the index the error names, if any.
        status: the HTTP status (503 is an unavailable shard whatever the type).
        where: the cluster's URL, for the message.
    """
    named = f"index {index!r}" if index else "the index"
    at = f" at {where}" if where else ""
    if kind == "index_closed_exception":
        return ClusterError(f"{named}{at} is closed; open it with `POST {index or '<index>'}/"
                            "_open`, then rerun the same command")
    if str(status) == "503" or kind in _UNAVAILABLE:
        return ClusterError(f"{named}{at} is unavailable ({kind or status}: {reason}): it is "
                            "red, no copy of one of its shards is active (a node is down, or a "
                            "primary cannot be allocated); see `GET _cluster/health` and `GET "
                            "_cluster/allocation/explain`")
    return None


def missing_privilege(exc: BaseException) -> tuple[str, str] | None:
    """``(privilege, user)`` of the security plugin's 403 for a missing privilege, else None."""
    from opensearchpy import exceptions

    if not isinstance(exc, exceptions.AuthorizationException):
        return None
    found = _NO_PERMISSION.search(_reason(exc))
    return (found.group(1), found.group(2) or "") if found else None


def _forbidden(reason: str, where: str, config: ClientConfig | None) -> ClusterError:
    user = config.user if config else None
    found = _NO_PERMISSION.search(reason)
    if found:
        who = found.group(2) or user or "this user"
        return PrivilegeError(f"OpenSearch at {where} refused: user {who!r} lacks the privilege "
                              f"{found.group(1)}; ask for a role that grants it",
                              privilege=found.group(1))
    lowered = reason.lower()
    detail = f" ({reason})" if reason else ""
    sigv4 = config is not None and config.auth == "sigv4"
    if ("signature" in lowered or "security token" in lowered or "credential" in lowered
            or (sigv4 and not reason)):
        return ClusterError(f"OpenSearch at {where} refused the AWS SigV4 signature{detail}; "
                            "check aws_region, aws_service and the AWS credentials",
                            param=("aws_region", "aws_service"))
    if "anonymous" in lowered or "authentication token" in lowered:
        return ClusterError(f"OpenSearch at {where} refused an unsigned request{detail}; "
                            "use auth 'sigv4'", param="auth")
    return ClusterError(f"OpenSearch at {where} refused the request (403 forbidden{detail}) for "
                        f"user {user or '(none)'!r}; it needs a role that allows it")


def explain(exc: BaseException, config: ClientConfig | None = None) -> ClusterError | None:
    """One :class:`ClusterError` for an ``opensearchpy`` failure, or None for anything else.

    Args:
        exc: the exception raised by a client call.
        config: how the client was made (for the URL, user and CA file in messages).
    """
    from opensearchpy import exceptions

    if isinstance(exc, ClusterError):
        return exc
    if not isinstance(exc, exceptions.OpenSearchException):
        return None
    where = redact_url(config.url) if config else "the cluster"
    user = config.user if config else None
    reason = _reason(exc)
    if isinstance(exc, exceptions.SSLError):
        return _tls(reason, where, config)
    if isinstance(exc, exceptions.ConnectionTimeout):
        return _timeout(reason, where, config)
    if isinstance(exc, exceptions.ConnectionError):
        return _connection(reason, where, config)
    if isinstance(exc, exceptions.AuthenticationException):
        if config is not None and config.auth == "sigv4":
            return _forbidden(reason, where, config)
        if not user:
            return ClusterError(f"OpenSearch at {where} needs credentials (401): give user and "
                                "password", param=("user", "password"))
        return ClusterError(f"OpenSearch at {where} refused the credentials for {user!r} "
                            "(401); check user and password", param=("user", "password"))
    if isinstance(exc, exceptions.AuthorizationException):
        return _forbidden(reason, where, config)
    if isinstance(exc, exceptions.TransportError):
        red = unavailable(_error_field(exc, "type"), reason, _error_field(exc, "index"),
                          exc.status_code, where)
        if red is not None:
            return red
        return ClusterError(f"OpenSearch at {where} answered {exc.status_code}: {reason}")
    return ClusterError(f"OpenSearch client error: {exc}")


def _network(exc: BaseException) -> bool:
    """A failure of the HTTP connection itself, below the client (urllib3, http.client)."""
    import http.client

    import urllib3

    return isinstance(exc, (urllib3.exceptions.HTTPError, http.client.HTTPException))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what it was raised from or during (unless suppressed), a Ray task's ``cause``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        cause = getattr(current, "cause", None)  # ray.exceptions.RayTaskError
        context = None if current.__suppress_context__ else current.__context__
        current = (current.__cause__ or (cause if isinstance(cause, BaseException) else None)
                   or context)


def connection_failed(exc: BaseException) -> bool:
    """Whether ``exc`` (or its chain) is a connection to the cluster that failed or timed out:
    cleanup that talks to the cluster is then pointless, and would wait for timeouts again."""
    from opensearchpy import exceptions

    return any(isinstance(e, exceptions.ConnectionError) or _network(e) for e in _chain(exc))


def explain_chain(exc: BaseException, config: ClientConfig | None = None
                  ) -> ClusterError | None:
    """:func:`explain` for the first cluster failure in ``exc``'s chain (``exc`` itself, what it
    was raised from or during, a Ray task's ``cause``), or None when there is none.

    A failure of the connection below the client (``urllib3``, ``http.client``) is explained as
    the client's own ``ConnectionError`` or ``ConnectionTimeout`` would be.
    """
    from opensearchpy import exceptions

    for current in _chain(exc):
        if isinstance(current, (ClusterError, exceptions.OpenSearchException)):
            return explain(current, config)
        if _network(current):
            timed_out = "timed out" in str(current).lower() or isinstance(current, TimeoutError)
            kind = exceptions.ConnectionTimeout if timed_out else exceptions.ConnectionError
            return explain(kind("N/A", str(current), current), config)
    return None


@contextmanager
def translated(translate: Callable[[Exception], Exception]) -> Iterator[None]:
    """Raise ``translate(exc)`` for an exception of the block (the exception itself, traceback
    kept, when ``translate`` returns it): a client's errors as library errors, in sync or async
    code alike."""
    try:
        yield
    except Exception as exc:
        error = translate(exc)
        if error is exc:
            raise
        raise error from None
