"""Amazon OpenSearch Service: ``--auth sigv4`` signs every request with opensearch-py's signer
and the AWS credential chain; a local HTTPS endpoint checks each signature against the known
test credentials (recomputed with botocore's signer) before the real node answers, and refuses
requests signed wrongly or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.fixtures.sigv4 import SigV4Endpoint, check_signature
from tests.test_secure import one_line_error, write_sample
from xqg_os.cli import main

pytestmark = pytest.mark.integration


def run(endpoint: SigV4Endpoint, args: list[str], *extra: str) -> Result:
    options = ["--url", endpoint.url, "--ca-certs", endpoint.ca_certs, *extra]
    return CliRunner().invoke(main, [*args, *options])


SIGV4 = ("--auth", "sigv4", "--aws-region", "eu-west-3")


def test_ingest_and_search_through_a_sigv4_endpoint(
        sigv4_endpoint: SigV4Endpoint, os_client: Any, tiny_bert_path: Path,
        tmp_path: Path) -> None:
    paths = write_sample(tmp_path, count=20)
    index = f"test-sigv4-{tmp_path.name[-8:].lower().replace('_', '')}"
    try:
        result = run(sigv4_endpoint, ["ingest", "--corpus", str(paths["corpus"]), "--index",
                                      index, "--encoder", str(tiny_bert_path), "--device",
                                      "cpu", "--recreate"], *SIGV4)
        assert result.exit_code == 0, result.output
        result = run(sigv4_endpoint, ["search", "--index", index, "--json", "--depth", "3",
                                      "river mountain"], *SIGV4)
        assert result.exit_code == 0, result.output
        assert len([json.loads(line) for line in result.stdout.splitlines()]) == 3
        assert sigv4_endpoint.refused == [] and sigv4_endpoint.accepted >= 5
        assert os_client.count(index=index)["count"] == 20  # the real node holds the writes
    finally:
        os_client.indices.delete(index=index, ignore_unavailable=True)


def test_wrong_secret_unsigned_and_wrong_scope_are_refused_in_one_line(
        sigv4_endpoint: SigV4Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    info = ["index", "info", "any"]
    error = one_line_error(run(sigv4_endpoint, info))
    assert "refused an unsigned request (Missing Authentication Token); use --auth" in error
    error = one_line_error(run(sigv4_endpoint, info, "--auth", "sigv4", "--aws-region",
                               "us-east-1"))
    assert "refused the AWS SigV4 signature (Credential should be scoped" in error
    assert "check --aws-region, --aws-service and the AWS credentials" in error
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    error = one_line_error(run(sigv4_endpoint, info, *SIGV4))
    assert "refused the AWS SigV4 signature (The request signature we calculated" in error
    assert sigv4_endpoint.accepted == 0 and len(sigv4_endpoint.refused) == 3


def test_serverless_signs_for_aoss(os_url: str, os_client: Any, sigv4_certificate: Any,
                                   aws_test_credentials: None) -> None:
    """``--aws-service aoss`` signs for OpenSearch Serverless (no _cluster/health there)."""
    with SigV4Endpoint(os_url, sigv4_certificate, service="aoss") as endpoint:
        result = run(endpoint, ["index", "info", "xqg-no-such-index"], *SIGV4,
                     "--aws-service", "aoss")
        assert one_line_error(result) == "error: index 'xqg-no-such-index' does not exist"
        assert endpoint.refused == [] and endpoint.accepted == 1
        error = one_line_error(run(endpoint, ["index", "info", "x"], *SIGV4))
        assert "refused the AWS SigV4 signature" in error and "eu-west-3/aoss" in error


def test_missing_region_and_credentials_are_one_line(
        sigv4_endpoint: SigV4Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    error = one_line_error(run(sigv4_endpoint, ["index", "info", "x"], "--auth", "sigv4"))
    assert error == "error: SigV4 needs an AWS region: give --aws-region (or set AWS_REGION)"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    error = one_line_error(run(sigv4_endpoint, ["index", "info", "x"], *SIGV4))
    assert error.startswith("error: SigV4 found no AWS credentials")
    assert sigv4_endpoint.accepted == 0 and sigv4_endpoint.refused == []


def test_the_endpoint_checks_what_it_should(aws_test_credentials: None) -> None:
    """The checker accepts botocore's own signature and nothing altered."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from tests.fixtures.sigv4 import KEY_ID, SECRET

    body = b'{"query": {"match_all": {}}}'
    request = AWSRequest(method="POST", url="https://127.0.0.1:9/idx/_search?size=2", data=body,
                         headers={"Content-Type": "application/json"})
    request.headers["X-Amz-Content-SHA256"] = SigV4Auth(
        Credentials(KEY_ID, SECRET), "es", "eu-west-3").payload(request)
    SigV4Auth(Credentials(KEY_ID, SECRET), "es", "eu-west-3").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()} | {"host": "127.0.0.1:9"}

    def check(**changes: Any) -> str | None:
        args = {"method": "POST", "path": "/idx/_search?size=2", "headers": headers,
                "body": body, "region": "eu-west-3", "service": "es"} | changes
        return check_signature(**args)

    assert check() is None
    assert check(path="/idx/_search?size=3") is not None
    assert check(method="PUT") is not None
    assert check(body=b"{}") is not None
    assert check(headers=headers | {"content-type": "text/plain"}) is not None
    assert check(region="us-east-1") is not None
    assert check(headers={k: v for k, v in headers.items() if k != "authorization"}) == (
        "Missing Authentication Token")
