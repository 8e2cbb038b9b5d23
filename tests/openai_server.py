"""A real OpenAI-compatible HTTP server on loopback, with scripted replies, for tests.

Why: policies and verifiers that talk to model servers (vLLM, SGLang, OpenAI) must be tested
through the real HTTP client stack, not a patched function. This server binds 127.0.0.1 on a
free port, answers ``POST /v1/chat/completions`` (and ``/chat/completions``, ``/v1/completions``,
``/completions``) from a queue of scripted replies, and records every request it got.

    from openai_server import OpenAIServer, Reply

    with OpenAIServer([Reply.text("hi"), Reply.error(429), Reply.tool_call("bash", {"command": "ls"})]) as srv:
        policy = swegym.create("policy", "litellm", model="openai/test", api_base=srv.url, api_key="sk-x")
        ...
        assert srv.requests[0].body["temperature"] == 0.0

A pytest fixture ``openai_server`` is defined here too: ``from openai_server import openai_server``
in a test module makes it available (an empty server; push replies with ``srv.script(...)``).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

import pytest

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
COMPLETION_PATHS = ("/v1/completions", "/completions")


@dataclass
class Reply:
    """One scripted answer. Build with the class methods; ``status != 200`` makes it an error reply."""

    content: str | None = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"
    status: int = 200
    error_message: str = ""
    error_type: str = "invalid_request_error"
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Per generated token: {token: logprob} alternatives (first key = the sampled token).
    top_logprobs: list[dict[str, float]] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    delay: float = 0.0
    model: str | None = None
    #: A raw 200 JSON body sent as is (malformed provider replies such as ``{"choices": []}``).
    body: dict[str, Any] | None = None

    # -- builders --------------------------------------------------------------------------
    @classmethod
    def text(cls, content: str, **kw: Any) -> "Reply":
        """A plain assistant message (also how text-format ``<function=...>`` calls arrive)."""
        return cls(content=content, **kw)

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any] | str, content: str | None = None, **kw: Any) -> "Reply":
        """A native function call (OpenAI ``tool_calls``)."""
        return cls.calls(([name, arguments],), content=content, **kw)

    @classmethod
    def calls(cls, calls: Iterable[tuple[str, dict[str, Any] | str] | list[Any]], content: str | None = None,
                    **kw: Any) -> "Reply":
        """Several native function calls in one message."""
        out = []
        for name, args in calls:
            out.append({
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            })
        kw.setdefault("finish_reason", "tool_calls")
        return cls(content=content, tool_calls=out, **kw)

    @classmethod
    def error(cls, status: int, message: str = "", *, error_type: str | None = None, code: str | None = None,
              headers: dict[str, str] | None = None) -> "Reply":
        """An HTTP error with an OpenAI-style ``{"error": {...}}`` body (429, 500, 503, 400, ...)."""
        default_type = {429: "rate_limit_error", 401: "authentication_error"}.get(
            status, "server_error" if status >= 500 else "invalid_request_error")
        return cls(status=status, error_message=message or f"scripted error {status}",
                   error_type=error_type or default_type, error_code=code, headers=dict(headers or {}))

    @classmethod
    def context_overflow(cls, max_tokens: int = 4096, asked: int = 9000) -> "Reply":
        """The 400 vLLM / OpenAI send when the prompt is longer than the context window."""
        return cls.error(
            400,
            f"This model's maximum context length is {max_tokens} tokens. However, you requested "
            f"{asked} tokens ({asked} in the messages, 0 in the completion). Please reduce the length "
            f"of the messages or completion.",
            code="context_length_exceeded",
        )


@dataclass
class RecordedRequest:
    """What the server received: path, headers (lower-cased names) and the JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


Responder = Callable[[RecordedRequest], Reply]


class OpenAIServer:
    """Loopback OpenAI-compatible server. Use as a context manager or call ``start``/``stop``.

    Replies come from the script queue first, then from ``responder`` (a callable given the
    request). With neither, the server answers 400 "no scripted reply left", which makes the
    test fail loudly instead of hanging.
    """

    def __init__(self, replies: Iterable[Reply] = (), responder: Responder | None = None, model: str = "test-model"):
        self._queue: deque[Reply] = deque(replies)
        self._lock = threading.Lock()
        self.responder = responder
        self.model = model
        self.requests: list[RecordedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "OpenAIServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
                    return
                path = self.path.split("?", 1)[0].rstrip("/")
                req = RecordedRequest(path, {k.lower(): v for k, v in self.headers.items()}, body, raw)
                with server._lock:
                    server.requests.append(req)
                if path not in CHAT_PATHS + COMPLETION_PATHS:
                    self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
                    return
                reply = server._next_reply(req)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    err = {"message": reply.error_message, "type": reply.error_type, "param": None,
                           "code": reply.error_code}
                    self._send(reply.status, {"error": err}, reply.headers)
                    return
                if reply.body is not None:
                    self._send(200, reply.body, reply.headers)
                    return
                payload = server._chat_payload(reply, req) if path in CHAT_PATHS else server._completion_payload(reply, req)
                self._send(200, payload, reply.headers)

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout tests)
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL to give clients as ``api_base`` (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> "OpenAIServer":
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        return len(self._queue)

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path in CHAT_PATHS]

    def _next_reply(self, req: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(req)
        return Reply.error(400, "openai_server: no scripted reply left for this request")

    # -- payloads --------------------------------------------------------------------------
    def _usage(self, reply: Reply, req: RecordedRequest, text: str) -> dict[str, int]:
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = max(1, len(json.dumps(req.body.get("messages") or req.body.get("prompt") or "")) // 4)
        completion = reply.completion_tokens
        if completion is None:
            completion = max(1, len(text) // 4) if text else (len(reply.tool_calls) * 10)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    @staticmethod
    def _apply_stop(text: str | None, req: RecordedRequest, finish: str) -> tuple[str | None, str]:
        """Cut scripted text at the request's first stop string, as real servers do (stop excluded)."""
        stop = req.body.get("stop") or []
        stop = [stop] if isinstance(stop, str) else stop
        hits = [text.find(s) for s in stop if s and text and s in text]
        return (text[: min(hits)], "stop") if hits else (text, finish)

    def _chat_payload(self, reply: Reply, req: RecordedRequest) -> dict[str, Any]:
        content, finish = self._apply_stop(reply.content, req, reply.finish_reason)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish}
        if reply.top_logprobs is not None and req.body.get("logprobs"):
            k = int(req.body.get("top_logprobs") or 0)
            choice["logprobs"] = {"content": [
                {
                    "token": next(iter(alts)),
                    "logprob": alts[next(iter(alts))],
                    "bytes": None,
                    "top_logprobs": [{"token": t, "logprob": lp, "bytes": None}
                                     for t, lp in sorted(alts.items(), key=lambda kv: -kv[1])[:k]],
                }
                for alts in reply.top_logprobs
            ]}
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model or req.body.get("model") or self.model,
            "choices": [choice],
            "usage": self._usage(reply, req, content or ""),
        }

    def _completion_payload(self, reply: Reply, req: RecordedRequest) -> dict[str, Any]:
        text, finish = self._apply_stop(reply.content or "", req, reply.finish_reason)
        text = text or ""
        choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        if reply.top_logprobs is not None and req.body.get("logprobs") is not None:
            k = int(req.body.get("logprobs") or 0)
            tokens = [next(iter(alts)) for alts in reply.top_logprobs]
            choice["logprobs"] = {
                "tokens": tokens,
                "token_logprobs": [alts[t] for t, alts in zip(tokens, reply.top_logprobs)],
                "top_logprobs": [dict(sorted(alts.items(), key=lambda kv: -kv[1])[:k]) for alts in reply.top_logprobs],
                "text_offset": [],
            }
        return {
            "id": f"cmpl-{uuid.uuid4().hex[:24]}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": reply.model or req.body.get("model") or self.model,
            "choices": [choice],
            "usage": self._usage(reply, req, text),
        }


@pytest.fixture
def openai_server():
    """A started, empty OpenAIServer; script replies with ``openai_server.script(Reply.text(...))``."""
    with OpenAIServer() as server:
        yield server
