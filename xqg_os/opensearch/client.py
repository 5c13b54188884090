"""Client factory: URL, basic auth, TLS; a health check whose failure is one clear line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from xqg_os.errors import ClusterError

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

DEFAULT_URL = "http://127.0.0.1:9200"
START_HINT = "start the local node with `xqg-os cluster start` (or scripts/opensearch-local start)"


@dataclass(frozen=True)
class ClientConfig:
    """How to reach a cluster."""

    url: str = DEFAULT_URL
    user: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: float = 60.0

    @classmethod
    def from_env(cls) -> ClientConfig:
        """Configuration from ``XQG_OPENSEARCH_URL`` / ``_USER`` / ``_PASSWORD`` / ``_CA_CERTS``."""
        return cls(url=os.environ.get("XQG_OPENSEARCH_URL", DEFAULT_URL),
                   user=os.environ.get("XQG_OPENSEARCH_USER"),
                   password=os.environ.get("XQG_OPENSEARCH_PASSWORD"),
                   ca_certs=os.environ.get("XQG_OPENSEARCH_CA_CERTS"))


def make_client(config: ClientConfig | None = None, check: bool = True) -> OpenSearch:
    """Build an ``opensearchpy.OpenSearch`` client; with ``check``, fail early if unreachable.

    Raises:
        ClusterError: the URL is malformed or the cluster does not answer.
    """
    from opensearchpy import OpenSearch

    config = config or ClientConfig.from_env()
    parsed = urlparse(config.url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ClusterError(f"invalid OpenSearch URL {config.url!r}; expected http(s)://host:port")
    kwargs: dict[str, Any] = {
        "hosts": [config.url],
        "timeout": config.timeout,
        "http_compress": False,
    }
    if config.user:
        kwargs["http_auth"] = (config.user, config.password or "")
    if parsed.scheme == "https":
        kwargs.update(use_ssl=True, verify_certs=config.verify_certs,
                      ssl_show_warn=config.verify_certs)
        if config.ca_certs:
            kwargs["ca_certs"] = config.ca_certs
    client = OpenSearch(**kwargs)
    if check:
        health(client, config.url)
    return client


def health(client: OpenSearch, url: str = "") -> dict[str, Any]:
    """Return ``_cluster/health``; raise a one-line :class:`ClusterError` when unreachable."""
    from opensearchpy import exceptions

    try:
        return dict(client.cluster.health())
    except exceptions.AuthenticationException:
        raise ClusterError(f"OpenSearch at {url} refused the credentials; check the user and "
                           "password (env XQG_OPENSEARCH_USER, XQG_OPENSEARCH_PASSWORD)") from None
    except exceptions.ConnectionError as exc:
        reason = "TLS error" if isinstance(exc, exceptions.SSLError) else "connection failed"
        raise ClusterError(f"cannot reach OpenSearch at {url} ({reason}); {START_HINT}") from None
    except exceptions.TransportError as exc:
        raise ClusterError(f"OpenSearch at {url} answered {exc.status_code}: {exc.error}") from None
