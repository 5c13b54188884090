"""Query generation through an OpenAI-compatible chat-completions endpoint (vLLM, TGI, ...).

One request per (passage, language) asks for ``n`` queries, one per line; answers are parsed
leniently (:mod:`xqg_os.generate.parsing`). Requests run with bounded concurrency; 429, 5xx and
connection errors are retried with exponential backoff (honouring ``Retry-After``); 401/403 and
other client errors stop the run with one clear line.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import requests

from xqg_os.errors import InputError, ModelError
from xqg_os.generate.base import (
    DecodingConfig,
    GeneratedQueries,
    GeneratorBase,
    QueryRequest,
    derive_seed,
    render_prompt,
    validate_template,
)
from xqg_os.generate.parsing import parse_queries

OPENAI_TEMPLATE = ("Write {n} different questions in {language} that a user could ask a search "
                   "engine and that the following passage answers. Reply with the questions "
                   "only, one per line.\n\nTitle: {title}\nPassage: {passage}")


@dataclass(frozen=True)
class OpenAIConfig:
    """Configuration of :class:`OpenAIGenerator`.

    ``endpoint`` is a base URL (``http://host:8000`` or ``.../v1``) or the full
    ``.../chat/completions`` URL. ``model`` None asks the server (``/v1/models``) and takes the
    first model it serves. ``top_k`` is sent as the vLLM extension parameter.
    """

    endpoint: str
    model: str | None = None
    api_key: str | None = None
    template: str = OPENAI_TEMPLATE
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    concurrency: int = 8
    batch_size: int = 16
    timeout: float = 120.0
    max_retries: int = 6
    backoff: float = 1.0
    max_backoff: float = 60.0

    def __post_init__(self) -> None:
        validate_template(self.template)
        if not self.endpoint.startswith(("http://", "https://")):
            raise InputError(f"endpoint must be an http(s) URL (got {self.endpoint!r})",
                             param="endpoint")
        for name, value in (("concurrency", self.concurrency), ("batch_size", self.batch_size)):
            if value < 1:
                raise InputError(f"{name} must be >= 1 (got {value})", param=name)
        if not self.decoding.do_sample:
            raise InputError("beam search (num_beams > 1) is not available with the "
                             "openai generator", param="num_beams")


def chat_url(endpoint: str) -> str:
    """The chat-completions URL for a base URL, a ``/v1`` URL or the full URL."""
    url = endpoint.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIGenerator(GeneratorBase):
    """Generate queries with a chat model behind an OpenAI-compatible API (see module docs)."""

    def __init__(self, config: OpenAIConfig) -> None:
        super().__init__()
        self.config = config
        self.url = chat_url(config.endpoint)
        self._local = threading.local()
        self._lock = threading.Lock()
        self.model = config.model or self._served_model()

    def describe(self) -> dict[str, Any]:
        """See :meth:`QueryGenerator.describe`. The endpoint URL is left out: the same model
        served elsewhere makes the same queries."""
        decoding = self.config.decoding
        return {"kind": "openai", "model": self.model, "revision": None,
                "template": self.config.template, "decoding": decoding.describe(),
                "seed": decoding.seed}

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            if self.config.api_key:
                session.headers["Authorization"] = f"Bearer {self.config.api_key}"
        return session

    def _count_safe(self, key: str) -> None:
        with self._lock:
            self._count(key)

    def _request(self, method: str, url: str, payload: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        """One HTTP call with retries; returns the decoded JSON body."""
        config = self.config
        for attempt in range(config.max_retries + 1):
            delay = min(config.max_backoff, config.backoff * 2 ** attempt)
            delay *= random.uniform(0.5, 1.0)  # jitter, so concurrent workers spread out
            try:
                response = self._session().request(method, url, json=payload,
                                                   timeout=config.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = f"{type(exc).__name__}"
                if attempt == config.max_retries:
                    raise ModelError(f"query generator endpoint {url} unreachable after "
                                     f"{attempt + 1} attempts ({reason})") from None
                self._count_safe("retries")
                time.sleep(delay)
                continue
            status = response.status_code
            if status in (401, 403):
                raise ModelError(f"query generator endpoint {url} refused the request "
                                 f"(HTTP {status}): check api_key / OPENAI_API_KEY",
                                 param="api_key")
            if status == 429 or status >= 500:
                if attempt == config.max_retries:
                    raise ModelError(f"query generator endpoint {url} still answers HTTP "
                                     f"{status} after {attempt + 1} attempts")
                self._count_safe("retries")
                hinted = retry_after_seconds(response.headers.get("Retry-After"))
                time.sleep(min(hinted, 600.0) if hinted is not None else delay)
                continue
            if status >= 400:
                detail = " ".join(response.text.split())[:200]
                raise ModelError(f"query generator endpoint {url} answered HTTP {status}: "
                                 f"{detail}")
            try:
                body = response.json()
            except ValueError:
                raise ModelError(f"query generator endpoint {url} did not answer JSON") from None
            if not isinstance(body, dict):
                raise ModelError(f"query generator endpoint {url} answered unexpected JSON")
            return body
        raise ModelError(f"query generator endpoint {url}: no attempts made")  # max_retries < 0

    def _served_model(self) -> str:
        """The first model the server lists under ``/v1/models``."""
        models_url = self.url[: -len("/chat/completions")] + "/models"
        body = self._request("GET", models_url)
        data = body.get("data") or []
        if not data or not isinstance(data[0], dict) or "id" not in data[0]:
            raise ModelError(f"{models_url} lists no models; pass model", param="model")
        return str(data[0]["id"])

    def _payload(self, request: QueryRequest, n: int) -> dict[str, Any]:
        decoding = self.config.decoding
        prompt = render_prompt(self.config.template, request.passage, request.lang, n,
                               collapse=False)
        payload: dict[str, Any] = {
            "model": self.model, "messages": [{"role": "user", "content": prompt}],
            "temperature": decoding.temperature, "max_tokens": decoding.max_new_tokens * n + 16,
            "seed": derive_seed(decoding.seed, request.passage.id, request.lang)}
        if decoding.top_p is not None:
            payload["top_p"] = decoding.top_p
        if decoding.top_k is not None:
            payload["top_k"] = decoding.top_k
        return payload

    def _one(self, request: QueryRequest, n: int) -> GeneratedQueries | None:
        body = self._request("POST", self.url, self._payload(request, n))
        try:
            content = body["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ModelError(f"query generator endpoint {self.url} answered without "
                             "choices[0].message.content") from None
        queries = parse_queries(str(content), n)
        if not queries:
            self._count_safe("unparsed")  # left out, so a rerun asks again
            return None
        return GeneratedQueries(request.passage.id, request.lang, tuple(queries))

    def stream(self, requests_: Sequence[QueryRequest], n: int
               ) -> Iterator[list[GeneratedQueries]]:
        """See :meth:`QueryGenerator.stream`. Batches hold up to ``batch_size`` answers in
        completion order; on a fatal error the finished answers are yielded before it is raised."""
        self.config.decoding.check_n(n)
        buffer: list[GeneratedQueries] = []
        failure: BaseException | None = None
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency,
                                  thread_name_prefix="xqg-openai")
        pending: set[Future[GeneratedQueries | None]] = {
            pool.submit(self._one, request, n) for request in requests_}
        try:
            while pending and failure is None:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        record = future.result()
                    except Exception as exc:  # noqa: BLE001 - re-raised once finished work is yielded
                        failure = failure or exc
                        continue
                    if record is not None:
                        buffer.append(record)
                if len(buffer) >= self.config.batch_size and failure is None:
                    yield buffer
                    buffer = []
        finally:
            # Do not wait for requests still retrying: what they return is asked again on rerun.
            pool.shutdown(wait=False, cancel_futures=True)
        if buffer:
            yield buffer
        if failure is not None:
            raise failure
