"""The OpenAI-compatible generator against a real local HTTP server speaking chat completions,
which can be told to answer 429 / 500 first or to refuse with 401; plus answer parsing."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xqg_os.cli import main
from xqg_os.data.corpus import Passage
from xqg_os.errors import ModelError
from xqg_os.generate import DecodingConfig, QueryGenerator, QueryStore
from xqg_os.generate.openai import OpenAIConfig, OpenAIGenerator, chat_url, retry_after_seconds
from xqg_os.generate.parsing import parse_queries

ANSWERS = [  # the formats chat models use; {lang} and {pid} are filled in
    ("Here are the questions:\n1. {lang} first {pid}?\n2. {lang} second {pid}?\n"
     "3. {lang} third {pid}?\n4. {lang} fourth {pid}?"),
    '```json\n["{lang} first {pid}?", "{lang} second {pid}?", "{lang} third {pid}?"]\n```',
    '- "{lang} first {pid}?"\n- "{lang} second {pid}?"\n- "{lang} third {pid}?"',
]


@dataclass
class ChatServer:
    """State of the fake-free local server: scripted failures, then real answers."""

    url: str = ""
    fail_first: list[int] = field(default_factory=list)
    always: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict[str, Any], extra: dict[str, str] | None = None
                  ) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._send(200, {"object": "list", "data": [{"id": "served-model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.headers.append(dict(self.headers))
                status = state.always or (state.fail_first.pop(0) if state.fail_first else 200)
                if status == 200:
                    state.requests.append(body)
                    count = len(state.requests)
            if status != 200:
                self._send(status, {"error": {"message": f"status {status}"}},
                           {"Retry-After": "0"} if status == 429 else None)
                return
            prompt = body["messages"][0]["content"]
            lang = re.search(r"questions in (\w+)", prompt).group(1)  # type: ignore[union-attr]
            pid = re.search(r"PID=(\w+)", prompt).group(1)  # type: ignore[union-attr]
            content = ANSWERS[count % len(ANSWERS)].format(lang=lang, pid=pid)
            self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant",
                                                                  "content": content}}]})

    return Handler


@pytest.fixture()
def chat_server() -> Iterator[ChatServer]:
    state = ChatServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


TEMPLATE = "Write {n} questions in {language} for PID={passage}"
PASSAGES = [Passage(f"x{i}", f"x{i}") for i in range(4)]


def make(url: str, **overrides: Any) -> OpenAIGenerator:
    settings: dict[str, Any] = {"endpoint": url, "template": TEMPLATE, "backoff": 0.01,
                                "max_retries": 3, "concurrency": 3, "batch_size": 2,
                                "decoding": DecodingConfig(seed=5)}
    settings.update(overrides)
    return OpenAIGenerator(OpenAIConfig(**settings))


def test_generates_n_queries_per_language(chat_server: ChatServer) -> None:
    gen = make(chat_server.url, api_key="sk-test")
    assert isinstance(gen, QueryGenerator) and gen.model == "served-model"
    result = gen.generate(PASSAGES, ["ja", "ru"], 3)
    for passage, per_passage in zip(PASSAGES, result, strict=True):
        assert per_passage["ja"] == [f"Japanese {w} {passage.id}?"
                                     for w in ("first", "second", "third")]
        assert len(per_passage["ru"]) == 3
    assert len(chat_server.requests) == 8
    sent = chat_server.requests[0]
    assert sent["model"] == "served-model" and sent["top_k"] == 10 and "seed" in sent
    assert all(h["Authorization"] == "Bearer sk-test" for h in chat_server.headers)
    assert gen.describe()["kind"] == "openai" and gen.counts() == {}


def test_retries_429_and_500(chat_server: ChatServer) -> None:
    chat_server.fail_first = [429, 500, 503]
    gen = make(chat_server.url, model="m", concurrency=1)
    assert gen.generate(PASSAGES[:2], ["fi"], 2)[1]["fi"] == ["Finnish first x1?",
                                                             "Finnish second x1?"]
    assert gen.counts()["retries"] == 3


def test_gives_up_after_max_retries(chat_server: ChatServer) -> None:
    chat_server.always = 500
    with pytest.raises(ModelError, match="still answers HTTP 500 after 3 attempts"):
        make(chat_server.url, model="m", max_retries=2).generate(PASSAGES[:1], ["fi"], 2)


def test_auth_error_is_clear_and_not_retried(chat_server: ChatServer) -> None:
    chat_server.always = 401
    with pytest.raises(ModelError, match=r"refused the request \(HTTP 401\).*OPENAI_API_KEY"):
        make(chat_server.url, model="m").generate(PASSAGES, ["fi"], 2)
    assert len(chat_server.headers) <= len(PASSAGES)  # at most one per request: no retries


def test_unreachable_endpoint() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ModelError, match="unreachable after 2 attempts"):
        make(f"http://127.0.0.1:{port}", model="m", max_retries=1).generate(
            PASSAGES[:1], ["fi"], 1)


def test_cli_end_to_end(chat_server: ChatServer, tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": f"d{i}"}) + "\n"
                              for i in range(5)), encoding="utf-8")
    args = ["generate", "--corpus", str(corpus), "--languages", "ko", "--n", "2", "--out",
            str(tmp_path / "out"), "--generator", "openai", "--endpoint", chat_server.url,
            "--template", TEMPLATE, "--quiet"]
    result = CliRunner().invoke(main, args, env={"OPENAI_API_KEY": "sk-env"})
    assert result.exit_code == 0, result.output
    store = QueryStore.open(tmp_path / "out")
    assert store.get(["d3"], ["ko"], 2) == {"d3": {"ko": ["Korean first d3?",
                                                          "Korean second d3?"]}}
    assert chat_server.headers[0]["Authorization"] == "Bearer sk-env"
    rerun = CliRunner().invoke(main, args)  # everything is in the store: no request
    assert rerun.exit_code == 0 and "5 passages already done" in rerun.output
    assert len(chat_server.requests) == 5


def test_parse_queries_formats() -> None:
    assert parse_queries("1. one?\n2) two?\n(3) three?", 3) == ["one?", "two?", "three?"]
    assert parse_queries("* **one**\n• 'two'\n- «three»", 3) == ["one", "two", "three"]
    assert parse_queries('```\n["a", "b", "c", "d"]\n```', 2) == ["a", "b"]
    assert parse_queries('{"queries": ["a", "b"]}', 2) == ["a", "b"]
    assert parse_queries("Sure! Here are 3 queries:\n\nQ1: a\nQ2: b", 3) == ["a", "b", "a"]
    assert parse_queries("“только одна”", 2) == ["только одна", "только одна"]
    assert parse_queries("   \n", 3) == []


def test_url_and_retry_after_helpers() -> None:
    assert chat_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h/v1/") == "http://h/v1/chat/completions"
    assert chat_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"
    assert retry_after_seconds("2.5") == 2.5 and retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
