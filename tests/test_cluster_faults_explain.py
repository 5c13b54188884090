"""How a cluster failure anywhere in an exception's chain becomes one line (no node needed: the
exceptions are the client's and urllib3's own, built as they raise them)."""

from __future__ import annotations

import pytest
import urllib3
from opensearchpy import exceptions

from xqg_os.opensearch.client import ClientConfig
from xqg_os.opensearch.failures import connection_failed, explain, explain_chain, note_answered

REFUSED = ("HTTPConnection(host='127.0.0.1', port=9999): Failed to establish a new connection: "
           "[Errno 111] Connection refused")


def _refused() -> exceptions.ConnectionError:
    return exceptions.ConnectionError("N/A", REFUSED, urllib3.exceptions.NewConnectionError(
        None, REFUSED))


def test_a_refused_connection_is_a_lost_one_once_the_cluster_has_answered() -> None:
    before = ClientConfig(url="http://127.0.0.1:9998")
    after = ClientConfig(url="http://user:secret@127.0.0.1:9999")
    first = explain(_refused(), before)
    assert first is not None and "cannot reach OpenSearch at http://127.0.0.1:9998" in str(first)
    note_answered(after.url)
    lost = explain(_refused(), after)
    assert str(lost) == ("lost the connection to OpenSearch at http://127.0.0.1:9999 (connection "
                         "refused): the node stopped or the network failed; when it answers "
                         "again, rerun the same command to resume")


def test_the_chain_is_searched_and_failures_below_the_client_count() -> None:
    config = ClientConfig(url="http://127.0.0.1:9997", timeout=5)
    try:
        try:
            raise urllib3.exceptions.ReadTimeoutError(None, "/_bulk", "Read timed out.")
        except urllib3.exceptions.HTTPError as exc:
            raise RuntimeError("a worker failed") from exc
    except RuntimeError as exc:
        error = explain_chain(exc, config)
        assert connection_failed(exc)
    assert error is not None and str(error).startswith(
        "OpenSearch at http://127.0.0.1:9997 did not answer within 5s: ")
    assert explain_chain(ValueError("a bug"), config) is None
    try:
        try:
            raise _refused()
        except exceptions.ConnectionError:
            raise ValueError("handled, then another bug") from None
    except ValueError as exc:
        assert explain_chain(exc, config) is None  # a suppressed context is not the cause
        assert not connection_failed(exc)


@pytest.mark.parametrize(("status", "kind", "expected"), [
    (503, "search_phase_execution_exception", "is red, no copy of one of its shards is active"),
    (400, "search_phase_execution_exception", "answered 400: all shards failed"),
    (400, "index_closed_exception", "index 'docs' at http://127.0.0.1:9996 is closed; open it "
                                    "with `POST docs/_open`"),
])
def test_red_closed_and_malformed_are_told_apart(status: int, kind: str, expected: str) -> None:
    cause = {"type": kind, "reason": "all shards failed" if status != 400 or "phase" in kind
             else "closed", "index": "docs" if "closed" in kind else None}
    info = {"error": {"root_cause": [{k: v for k, v in cause.items() if v}], **cause},
            "status": status}
    kind_class = exceptions.RequestError if status == 400 else exceptions.TransportError
    error = explain(kind_class(status, kind, info), ClientConfig(url="http://127.0.0.1:9996"))
    assert error is not None and expected in str(error), error
