"""swegym.retry: one helper for every layer, one budget across layers (a real loopback HTTP server)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from swegym import InfrastructureError, SwegymError, retry


class FlakyServer:
    """Answers the first ``failures`` POSTs with ``status``, then 200 with a JSON body."""

    def __init__(self, failures: int, status: int = 503) -> None:
        self.failures, self.status, self.requests = failures, status, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                failing = outer.requests <= outer.failures
                body = b"busy" if failing else json.dumps({"ok": outer.requests}).encode()
                self.send_response(outer.status if failing else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/completions"

    def __enter__(self) -> "FlakyServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def post_json(monkeypatch):
    from swegym_orm import api

    monkeypatch.setattr(api, "BACKOFF_S", 0.0)
    return lambda url: api.post_json(url, {"prompt": "x"}, None, timeout=5)


def test_transient_failures_are_retried_until_the_server_answers(post_json):
    with FlakyServer(failures=2) as srv:
        assert post_json(srv.url) == {"ok": 3} and srv.requests == 3


def test_the_layer_gives_up_after_its_own_attempts(post_json):
    with FlakyServer(failures=10) as srv:
        with pytest.raises(InfrastructureError, match="failed 3 times: HTTP 503"):
            post_json(srv.url)
        assert srv.requests == 3


def test_a_client_error_is_not_retried(post_json):
    with FlakyServer(failures=10, status=400) as srv:
        with pytest.raises(SwegymError, match="HTTP 400"):
            post_json(srv.url)
        assert srv.requests == 1


def _nested(post_json, url: str) -> None:
    """An outer layer (a rollout) that retries an inner one (the scorer's POST) on infrastructure errors."""
    retry.call(lambda: post_json(url), retry_on=lambda exc: isinstance(exc, InfrastructureError), attempts=3,
               wait=lambda n, exc: 0.0)


def test_nested_layers_multiply_without_a_budget(post_json):
    with FlakyServer(failures=100) as srv:
        with pytest.raises(retry.RetriesExhausted) as info:
            _nested(post_json, srv.url)
        assert info.value.reason == "attempts" and srv.requests == 9  # 3 × 3


def test_one_budget_bounds_every_layer_together(post_json):
    with FlakyServer(failures=100) as srv:
        with retry.budget(2) as shared, retry.budget(50):  # an inner budget cannot extend the outer one
            with pytest.raises(retry.RetriesExhausted) as info:
                _nested(post_json, srv.url)
        assert info.value.reason == "budget" and srv.requests == 3 and shared.left == 0  # 1 try + 2 retries
    with FlakyServer(failures=1) as srv, retry.budget(5) as shared:
        assert post_json(srv.url) == {"ok": 2} and shared.used == 1


def test_a_wait_longer_than_the_time_left_stops_at_once():
    calls = []

    def fail():
        calls.append(1)
        raise ConnectionError("down")

    with pytest.raises(retry.RetriesExhausted) as info:
        retry.call(fail, retry_on=lambda exc: True, attempts=5, wait=lambda n, exc: 10.0, time_left=lambda: 1.0,
                   sleep=lambda s: pytest.fail("must not sleep"))
    assert info.value.reason == "time" and info.value.next_wait == 10.0 and len(calls) == 1


def test_a_rollout_and_its_layers_spend_one_budget(monkeypatch):
    """execute_rollout opens RunConfig.retry_budget; a model-call layer inside it spends the same budget."""
    from swegym.orchestration import RunConfig, rollout
    from swegym.types import Task

    calls = []

    def model_call() -> None:
        calls.append("model")
        raise ConnectionError("HTTP 503")

    def rollout_with_a_flaky_model(request, timings, sampling):
        calls.append("rollout")
        try:  # what a policy does: retry its call, then report the infrastructure failure
            retry.call(model_call, retry_on=lambda exc: isinstance(exc, ConnectionError), attempts=7,
                       wait=lambda n, exc: 0.0)
        except retry.RetriesExhausted as gave_up:
            raise InfrastructureError(f"model still failing: {gave_up.last}") from None

    monkeypatch.setattr(rollout, "_rollout_once", rollout_with_a_flaky_model)
    config = RunConfig(infra_retries=2, retry_backoff_s=0, retry_budget=4, evaluate=False)
    record = rollout.execute_rollout(rollout.RolloutRequest(config, Task("o__r-1", "o/r", "abc"), 0, "r"))
    # without the budget: 3 rollout tries × 7 model calls = 21 calls; with it: 1 first try + 4 retries
    assert calls == ["rollout"] + ["model"] * 5
    assert record.status == "error" and "retry budget is spent" in record.evaluation.error
    monkeypatch.setattr(config, "retry_budget", None)
    calls.clear()
    rollout.execute_rollout(rollout.RolloutRequest(config, Task("o__r-1", "o/r", "abc"), 0, "r"))
    assert calls.count("rollout") == 3 and calls.count("model") == 21
