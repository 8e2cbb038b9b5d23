"""Scoring through an OpenAI-compatible server (vLLM, SGLang, …) that returns token logprobs.

We ask for a short greedy completion with ``logprobs`` and ``top_logprobs``, find the generated
position where the label starts (right after ``<judgement>`` for the OpenHands prompt, the first
token for Moatless) and read both labels' log-probabilities among that position's alternatives.
Tokens are matched by text (the server's tokenizer is not available here): any alternative that
is a non-empty prefix of a label counts for that label.
"""
from __future__ import annotations

import json
import math
import os
import urllib.error
import urllib.request
from typing import Any

from swegym import InfrastructureError, SwegymError, retry

RETRIES = 3
BACKOFF_S = 0.2


class _Transient(Exception):
    """A failure the next try may not see (connection error, HTTP 429 or 5xx)."""


def post_json(url: str, body: dict[str, Any], api_key: str | None, timeout: float) -> dict[str, Any]:
    """POST with retries on connection errors and 5xx/429; 4xx is a usage error (not retried)."""
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"

    def once() -> dict[str, Any]:
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            if exc.code in (429,) or exc.code >= 500:
                raise _Transient(f"HTTP {exc.code}: {detail}") from None
            raise SwegymError(f"verifier server {url} refused the request (HTTP {exc.code}): {detail}") from None
        except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
            raise _Transient(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None

    try:
        return retry.call(once, retry_on=lambda exc: isinstance(exc, _Transient), attempts=RETRIES,
                          wait=lambda n, _exc: BACKOFF_S * 2 ** n)
    except retry.RetriesExhausted as gave_up:
        last = str(gave_up.last)
        raise InfrastructureError(f"verifier server {url} failed {gave_up.attempts} times: {last}", cause=last) from None


def _logsumexp(values: list[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _label_logprob(alternatives: list[dict[str, Any]], label: str) -> float:
    hits = [float(a["logprob"]) for a in alternatives
            if isinstance(a, dict) and (a.get("token") or "").strip() and label.startswith((a.get("token") or "").strip())]
    return _logsumexp(hits)


def score_from_logprobs(content: list[dict[str, Any]], prefix: str, yes: str, no: str) -> float | None:
    """P(YES) from a chat completion's ``logprobs.content``; None when no position holds a label."""
    text = ""
    positions = []
    for i, entry in enumerate(content):
        if (prefix and text.rstrip().endswith(prefix)) or (not prefix and i == 0):
            positions.append(i)
        text += entry.get("token") or ""
    # Prefer where the prefix just ended; otherwise any position that offers a label.
    for i in positions + [j for j in range(len(content)) if j not in positions]:
        offered = {a.get("token"): a.get("logprob") for a in content[i].get("top_logprobs") or [] if isinstance(a, dict)}
        offered.setdefault(content[i].get("token"), content[i].get("logprob"))  # the sampled token, if not listed
        alternatives = [{"token": t, "logprob": lp} for t, lp in offered.items() if isinstance(lp, (int, float))]
        ly, ln = _label_logprob(alternatives, yes), _label_logprob(alternatives, no)
        if ly > -math.inf or ln > -math.inf:
            if ln == -math.inf:
                return 1.0
            if ly == -math.inf:
                return 0.0
            return 1.0 / (1.0 + math.exp(ln - ly))
    return None


class ApiScorer:
    """Scores conversations through ``{api_base}/chat/completions``; one request per rollout."""

    def __init__(self, api_base: str, model: str, template: str, *, api_key_env: str = "OPENAI_API_KEY",
                 top_logprobs: int = 20, max_tokens: int = 16, timeout: float = 120.0):
        if not api_base.startswith(("http://", "https://")):
            raise SwegymError(f"api_base must be an http(s) URL such as http://127.0.0.1:8000/v1, got {api_base!r}")
        from .labels import label_candidates

        self.url = api_base.rstrip("/") + "/chat/completions"
        self.model = model
        self.prefix, self.yes, self.no = label_candidates(template)
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        self.top_logprobs, self.max_tokens, self.timeout = top_logprobs, max_tokens, timeout

    def score(self, messages: list[dict[str, Any]]) -> float | None:
        body = {"model": self.model, "messages": messages, "max_tokens": self.max_tokens, "temperature": 0.0,
                "logprobs": True, "top_logprobs": self.top_logprobs}
        reply = post_json(self.url, body, self.api_key, self.timeout)
        try:
            content = reply["choices"][0]["logprobs"]["content"]
        except (KeyError, IndexError, TypeError):
            raise SwegymError(f"verifier server {self.url} returned no token logprobs; it must support "
                              "`logprobs: true` / `top_logprobs` on chat completions (vLLM and SGLang do)") from None
        return score_from_logprobs(content or [], self.prefix, self.yes, self.no)
