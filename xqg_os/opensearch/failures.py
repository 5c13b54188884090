"""OpenSearch failures as one line with the hint that fits: TLS, credentials, privileges, AWS
signatures, connection. :func:`explain` turns an ``opensearchpy`` exception into a
:class:`~xqg_os.errors.ClusterError`; URLs in messages never carry credentials
(:func:`redact_url`).

Only a refused or failed connection suggests starting the local node: a TLS problem is never
one of a node that is not running.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from xqg_os.errors import ClusterError

if TYPE_CHECKING:
    from xqg_os.opensearch.client import ClientConfig

START_HINT = "start the local node with `xqg-os cluster start` (or scripts/opensearch-local start)"
# the security plugin's 403: "no permissions for [indices:data/write/bulk] and User [name=r, ..."
_NO_PERMISSION = re.compile(r"no permissions for \[([^\]]*)\](?: and User \[name=([^,\]]*))?")
_USERINFO = re.compile(r"(?<=//)[^/@\s]*@")


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
        return ClusterError(f"OpenSearch at {where} did not answer in time ({reason})")
    if isinstance(exc, exceptions.ConnectionError):
        if "RemoteDisconnected" in reason or "Connection aborted" in reason:
            https = "; is it a TLS port? use https://" if where.startswith("http:") else ""
            return ClusterError(f"{where} closed the connection without an HTTP answer{https}",
                                param="url")
        hint = START_HINT
        if where.startswith("https:"):
            hint = "start the secured local node with scripts/opensearch-local start --secure"
        return ClusterError(f"cannot reach OpenSearch at {where} (connection failed); {hint}")
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
        return ClusterError(f"OpenSearch at {where} answered {exc.status_code}: {reason}")
    return ClusterError(f"OpenSearch client error: {exc}")
