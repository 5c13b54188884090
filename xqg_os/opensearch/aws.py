"""AWS SigV4 request signing for Amazon OpenSearch Service (``es``) and OpenSearch Serverless
(``aoss``), through opensearch-py's own signer and botocore's standard credential chain
(environment, shared credentials and config files, SSO, container and instance roles).

botocore is the optional extra ``aws`` (``pip install 'xqg-os[aws]'``); it is imported only
when SigV4 is asked for.
"""

from __future__ import annotations

import os
from typing import Any

from xqg_os.errors import ClusterError, InputError

AWS_SERVICES = ("es", "aoss")


def aws_region(region: str | None = None) -> str:
    """``region``, else ``AWS_REGION``, else the region botocore finds (``AWS_DEFAULT_REGION``,
    ``~/.aws/config``).

    Raises:
        InputError: no region anywhere.
    """
    found = region or os.environ.get("AWS_REGION") or _session().get_config_variable("region")
    if not found:
        raise InputError("SigV4 needs an AWS region: give aws_region (or set AWS_REGION)",
                         param="aws_region")
    return str(found)


def _session() -> Any:
    try:
        import botocore.session
    except ImportError:
        raise InputError("auth 'sigv4' needs botocore: pip install 'xqg-os[aws]'",
                         param="auth") from None
    return botocore.session.Session()


def sigv4_auth(region: str | None, service: str = "es") -> Any:
    """An ``http_auth`` callable for ``opensearchpy.OpenSearch`` that signs every request.

    Args:
        region: the cluster's AWS region (None: see :func:`aws_region`).
        service: ``es`` (Amazon OpenSearch Service) or ``aoss`` (OpenSearch Serverless).

    Raises:
        InputError: an unknown service, no region, or botocore missing.
        ClusterError: the credential chain found no AWS credentials.
    """
    if service not in AWS_SERVICES:
        raise InputError(f"unknown AWS service {service!r}; use one of {', '.join(AWS_SERVICES)}",
                         param="aws_service")
    session = _session()
    region = aws_region(region)
    credentials = session.get_credentials()
    if credentials is None:
        raise ClusterError("SigV4 found no AWS credentials (environment, ~/.aws files, SSO, "
                           "container or instance role); configure them as for the AWS CLI",
                           param="auth")
    from opensearchpy import Urllib3AWSV4SignerAuth

    return Urllib3AWSV4SignerAuth(credentials, region, service)
