"""Client factory: URL, basic auth or AWS SigV4, TLS; a health check whose failure is one clear
line (see :mod:`xqg_os.opensearch.failures`).

Credentials never travel in the URL past :class:`ClientConfig`: a ``user:password@`` part is
moved into ``user`` / ``password`` on construction, so messages, logs and summaries that show
the URL show it without them, and ``repr`` hides the password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from xqg_os.errors import ClusterError, InputError
from xqg_os.opensearch.failures import (
    START_HINT,
    explain,
    missing_privilege,
    note_answered,
    redact_url,
)

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["AUTHS", "DEFAULT_URL", "START_HINT", "ClientConfig", "health", "make_client",
           "read_password_file", "wait_for_primaries"]

DEFAULT_URL = "http://127.0.0.1:9200"
AUTHS = ("basic", "sigv4")


def read_password_file(path: str | Path) -> str:
    """The password in ``path``: its first line, without the line break.

    Raises:
        InputError: the file cannot be read.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the password file {str(path)!r}: {exc.strerror}",
                         param="password_file") from None
    return text.splitlines()[0] if text else ""


@dataclass(frozen=True)
class ClientConfig:
    """How to reach a cluster.

    Args:
        url: ``http(s)://host:port``; a ``user:password@`` in it moves into ``user`` and
            ``password`` (where those are not given).
        user, password: HTTP basic auth.
        ca_certs: the CA file that signed the cluster's certificate (https).
        verify_certs: verify the certificate (False: local development only).
        timeout: seconds per request.
        auth: ``basic`` (user and password, or none) or ``sigv4`` (Amazon OpenSearch Service).
        aws_region: the region for SigV4 (None: ``AWS_REGION`` or botocore's configuration).
        aws_service: ``es`` (managed domains) or ``aoss`` (Serverless), for SigV4.
    """

    url: str = DEFAULT_URL
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: float = 60.0
    auth: str = "basic"
    aws_region: str | None = None
    aws_service: str = "es"

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if "@" in parts.netloc:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            name, sep, secret = userinfo.partition(":")
            object.__setattr__(self, "url", urlunsplit(parts._replace(netloc=hostport)))
            if self.user is None and name:
                object.__setattr__(self, "user", unquote(name))
            if self.password is None and sep:
                object.__setattr__(self, "password", unquote(secret))
        if self.auth not in AUTHS:
            raise InputError(f"unknown auth {self.auth!r}; use one of {', '.join(AUTHS)}",
                             param="auth")
        if self.auth == "sigv4" and self.user:
            raise InputError("auth 'sigv4' signs with AWS credentials: give no user",
                             param=("auth", "user"))

    @classmethod
    def from_env(cls) -> ClientConfig:
        """Configuration from ``XQG_OPENSEARCH_URL`` / ``_USER`` / ``_PASSWORD`` (or
        ``_PASSWORD_FILE``) / ``_CA_CERTS`` / ``_AUTH`` / ``_AWS_REGION`` / ``_AWS_SERVICE``."""
        env = os.environ.get
        password = env("XQG_OPENSEARCH_PASSWORD")
        if password is None and env("XQG_OPENSEARCH_PASSWORD_FILE"):
            password = read_password_file(env("XQG_OPENSEARCH_PASSWORD_FILE", ""))
        return cls(url=env("XQG_OPENSEARCH_URL", DEFAULT_URL),
                   user=env("XQG_OPENSEARCH_USER"), password=password,
                   ca_certs=env("XQG_OPENSEARCH_CA_CERTS"),
                   auth=env("XQG_OPENSEARCH_AUTH", "basic"),
                   aws_region=env("XQG_OPENSEARCH_AWS_REGION"),
                   aws_service=env("XQG_OPENSEARCH_AWS_SERVICE", "es"))


def make_client(config: ClientConfig | None = None, check: bool = True) -> OpenSearch:
    """Build an ``opensearchpy.OpenSearch`` client; with ``check``, fail early if unreachable.

    Raises:
        InputError: a missing CA file, or SigV4 without region or botocore.
        ClusterError: the URL is malformed, the cluster does not answer, refuses the TLS
            handshake or the credentials.
    """
    from opensearchpy import OpenSearch

    from xqg_os.opensearch.serializer import serializer

    config = config or ClientConfig.from_env()
    parsed = urlsplit(config.url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ClusterError(f"invalid OpenSearch URL {redact_url(config.url)!r}; expected "
                           "http(s)://host:port", param="url")
    if config.ca_certs and not Path(config.ca_certs).is_file():
        raise InputError(f"the CA file {config.ca_certs!r} does not exist; give the file that "
                         "signed the cluster's certificate as ca_certs", param="ca_certs")
    kwargs: dict[str, Any] = {
        "hosts": [config.url],
        "timeout": config.timeout,
        "http_compress": False,
        "serializer": serializer(),  # orjson, numpy arrays written directly (serializer.py)
    }
    if config.auth == "sigv4":
        from xqg_os.opensearch.aws import sigv4_auth

        kwargs["http_auth"] = sigv4_auth(config.aws_region, config.aws_service)
    elif config.user:
        kwargs["http_auth"] = (config.user, config.password or "")
    if parsed.scheme == "https":
        kwargs.update(use_ssl=True, verify_certs=config.verify_certs,
                      ssl_show_warn=config.verify_certs)
        if config.ca_certs:
            kwargs["ca_certs"] = config.ca_certs
    client = OpenSearch(**kwargs)
    # Serverless collections have no _cluster/health: their first real request is the check
    if check and not (config.auth == "sigv4" and config.aws_service == "aoss"):
        health(client, config=config)
    return client


def health(client: OpenSearch, url: str = "", config: ClientConfig | None = None
           ) -> dict[str, Any]:
    """Return ``_cluster/health``; raise a one-line :class:`ClusterError` when unreachable.

    A user the cluster authenticates but whose roles do not include ``cluster:monitor/health``
    (a read-only role) passes: the cluster answered and accepted the credentials. Once it has
    answered, a connection failure is explained as one lost mid-run (see
    :func:`~xqg_os.opensearch.failures.note_answered`).
    """
    config = config or ClientConfig(url=url or DEFAULT_URL)
    try:
        answer = dict(client.cluster.health())
    except Exception as exc:
        if missing_privilege(exc):
            note_answered(config.url)
            return {"status": "unknown", "reason": "no privilege for cluster:monitor/health"}
        error = explain(exc, config)
        if error is None:
            raise
        raise error from None
    note_answered(config.url)  # later connection failures are losses mid-run (failures.py)
    return answer


def _allocation_refusal(client: OpenSearch, index: str) -> str | None:
    """Why the cluster will not allocate the index's first primary, or None when it may (or
    the user may not ask: a role without ``cluster:monitor/allocation/explain``)."""
    try:
        answer = client.cluster.allocation_explain(
            body={"index": index, "shard": 0, "primary": True})
    except Exception as exc:
        if missing_privilege(exc) or getattr(exc, "status_code", None) == 400:
            return None  # 400: the shard is assigned after all
        raise
    if answer.get("can_allocate") != "no":
        return None
    deciders = [d.get("explanation", "") for node in answer.get("node_allocation_decisions", [])
                for d in node.get("deciders", []) if d.get("decision") == "NO"]
    why = str(answer.get("allocate_explanation") or "allocation is not permitted")
    return f"{why}: {deciders[0]}" if deciders else why


def wait_for_primaries(client: OpenSearch, index: str, timeout_s: float = 60.0) -> None:
    """Wait until the primary shards of ``index`` are active (an index just created by another
    worker may still be starting them).

    Raises:
        ClusterError: the index is red, and the cluster says its primary cannot be allocated
            (at once), or it is still red after ``timeout_s`` seconds.
    """
    def status(wait: float) -> str:
        try:
            answer = client.cluster.health(index=index, wait_for_status="yellow", params={
                "timeout": f"{wait:g}s", "request_timeout": wait + 10, "ignore": 408})
        except Exception as exc:
            if missing_privilege(exc):  # a role without cluster:monitor/health: go on
                return "unknown"
            raise
        return str(answer.get("status", "unknown"))

    if status(1) != "red":
        return
    refusal = _allocation_refusal(client, index)
    if refusal is None and status(timeout_s) != "red":
        return
    why = refusal or f"its primary shards are still not active after {timeout_s:g}s"
    raise ClusterError(f"index {index!r} is red: {why}; see `GET _cluster/allocation/explain`, "
                       "fix the allocation or use another index")
