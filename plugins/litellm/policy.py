"""LiteLLMPolicy: one chat completion through litellm, with retries, cost and overflow handling.

Why litellm: one client for OpenAI, Anthropic, and any OpenAI-compatible server (vLLM, SGLang)
given by ``api_base``. litellm's own retries are switched off so that exactly one backoff policy
applies (ours), and every failure is classified: context overflow is an *outcome* the scaffold
handles, exhausted retries are an :class:`~swegym.InfrastructureError`, and a request the server
rejects for good (bad key, unknown model) is a :class:`~swegym.SwegymError` the user must fix.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from dataclasses import asdict, fields
from typing import Any, Literal

from swegym import InfrastructureError, Policy, PolicyResponse, SamplingParams, SwegymError, ToolCall, Usage

from .guard import refuse_compromised_litellm
from .retry import is_context_overflow, is_retryable, retry_after
from .secret import Secret, redact

log = logging.getLogger(__name__)

FunctionCalling = Literal["auto", "native", "text"]
_SAMPLING_KEYS = {f.name for f in fields(SamplingParams)}
_import_lock = threading.Lock()


def import_litellm() -> Any:
    """Import litellm quietly and offline (bundled price map, no telemetry, no banners)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    refuse_compromised_litellm()
    with _import_lock:
        try:
            import litellm
        except ImportError as exc:
            raise SwegymError(f"the litellm policy needs litellm ({exc}); install it with "
                              f"`pip install 'swegym[litellm]'` (litellm>=1.106.2,<1.107)") from None

        litellm.suppress_debug_info = True
        litellm.telemetry = False
    return litellm


def coerce_sampling(value: SamplingParams | dict[str, Any] | None, **overrides: Any) -> SamplingParams:
    """A SamplingParams from an object, a dict (e.g. from YAML) or keyword options."""
    base = asdict(value) if isinstance(value, SamplingParams) else dict(value or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(base) - _SAMPLING_KEYS
    if unknown:
        raise SwegymError(
            f"unknown sampling option(s) {sorted(unknown)}; known: {sorted(_SAMPLING_KEYS)}"
        )
    if isinstance(base.get("stop"), str):
        base["stop"] = [base["stop"]]
    return SamplingParams(**base)


def clean_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop null-valued keys (released trajectories carry ``"tool_calls": null``), keep content."""
    out = []
    for msg in messages:
        clean = {k: v for k, v in msg.items() if v is not None or k == "content"}
        if clean.get("tool_calls") == []:
            del clean["tool_calls"]
        if "tool_calls" in clean:
            clean["tool_calls"] = [{k: v for k, v in c.items() if v is not None} for c in clean["tool_calls"]]
        out.append(clean)
    return out


def _rollout_deadline_check(after: float = 0.0) -> None:
    """Raise the rollout's DeadlineExceeded when it is the rollout's budget (not the call's) that ends."""
    from swegym.deadline import DeadlineExceeded, remaining

    left = remaining()
    if left is not None and left <= after:
        raise DeadlineExceeded("the rollout ran out of its time budget (rollout_timeout) waiting for the model",
                               cause="rollout deadline exceeded while waiting for the model")


class MalformedReply(Exception):
    """A 200 reply that holds no usable message (``"choices": []``): retried, then infrastructure."""


class LiteLLMPolicy(Policy):
    """Any litellm model name; ``api_base``/``api_key`` for OpenAI-compatible servers."""

    name = "litellm"

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | Secret | None = None,
        *,
        max_retries: int = 6,
        timeout: float = 600.0,
        deadline: float | None = 1800.0,
        max_reply_chars: int | None = 400_000,
        function_calling: FunctionCalling = "auto",
        sampling: SamplingParams | dict[str, Any] | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        input_cost_per_token: float | None = None,
        output_cost_per_token: float | None = None,
        custom_llm_provider: str | None = None,
        **sampling_options: Any,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise SwegymError("litellm policy: `model` is required (e.g. model='gpt-4o' or 'openai/<served-name>' "
                              "with api_base='http://host:8000/v1')")
        if function_calling not in ("auto", "native", "text"):
            raise SwegymError(f"litellm policy: function_calling must be auto, native or text, got {function_calling!r}")
        try:
            self.max_retries = int(max_retries)
            self.timeout = float(timeout)
            self.deadline = float(deadline) if deadline is not None else None
            self.max_reply_chars = int(max_reply_chars) if max_reply_chars else None
            self.backoff_base = float(backoff_base)
            self.backoff_max = float(backoff_max)
        except (TypeError, ValueError) as exc:
            raise SwegymError(f"litellm policy: max_retries, timeout and backoff_* must be numbers ({exc})") from None
        if self.max_retries < 0 or self.timeout <= 0 or (self.deadline is not None and self.deadline <= 0):
            raise SwegymError(f"litellm policy: need max_retries >= 0 and timeout > 0, got {max_retries}, {timeout}")
        self.model = model
        self.api_base = api_base or None
        self._api_key = Secret.coerce(api_key)
        self.function_calling = function_calling
        self.sampling = coerce_sampling(sampling, **sampling_options)
        self.input_cost_per_token = input_cost_per_token
        self.output_cost_per_token = output_cost_per_token
        self._rng = random.Random()
        self._litellm = import_litellm()
        self.custom_llm_provider = custom_llm_provider or self._infer_provider()
        self._supports_fc = self._detect_function_calling()

    # -- setup -----------------------------------------------------------------------------
    def _infer_provider(self) -> str | None:
        """With an ``api_base`` and a name litellm cannot place, talk the OpenAI protocol."""
        if not self.api_base:
            return None
        try:
            self._litellm.get_llm_provider(self.model)
            return None
        except Exception:  # noqa: BLE001 - litellm raises BadRequestError for unknown providers
            return "openai"

    def _detect_function_calling(self) -> bool:
        if self.function_calling != "auto":
            return self.function_calling == "native"
        try:
            return bool(self._litellm.supports_function_calling(self.model, custom_llm_provider=self.custom_llm_provider))
        except Exception:  # noqa: BLE001 - unknown model: fall back to the text format
            return False

    @property
    def supports_function_calling(self) -> bool:
        return self._supports_fc

    def __getstate__(self) -> dict[str, Any]:  # process/ray executors pickle policies; modules don't pickle
        state = dict(self.__dict__)
        state.pop("_litellm", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._litellm = import_litellm()

    def __repr__(self) -> str:
        return (f"LiteLLMPolicy(model={self.model!r}, api_base={self.api_base!r}, api_key={self._api_key!r}, "
                f"function_calling={self.function_calling!r})")

    def describe(self) -> dict[str, Any]:
        """Settings safe to write into manifests and trajectories (never the key)."""
        return {"policy": self.name, "model": self.model, "api_base": self.api_base,
                "function_calling": "native" if self._supports_fc else "text",
                "sampling": asdict(self.sampling), "max_retries": self.max_retries, "timeout": self.timeout,
                "deadline": self.deadline, "max_reply_chars": self.max_reply_chars}

    # -- one call --------------------------------------------------------------------------
    def _request(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                 sampling: SamplingParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": clean_messages(messages),
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "timeout": self.timeout,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,  # a provider that lacks e.g. `seed` gets the rest instead of an error
        }
        if sampling.max_tokens is not None:
            kwargs["max_tokens"] = sampling.max_tokens
        if sampling.stop:
            kwargs["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            kwargs["seed"] = sampling.seed
        if tools and self._supports_fc:
            kwargs["tools"] = tools
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.custom_llm_provider:
            kwargs["custom_llm_provider"] = self.custom_llm_provider
        return kwargs

    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        sampling: SamplingParams | None = None,
    ) -> PolicyResponse:
        """One reply. Retries transient failures; context overflow comes back as an outcome.

        The whole call, retries and backoff included, ends within ``deadline`` seconds (and within
        the rollout's own deadline, :mod:`swegym.deadline`): each try waits at most what is left.
        """
        from swegym import retry

        sampling = sampling if sampling is not None else self.sampling
        kwargs = self._request(messages, tools, sampling)
        started = time.monotonic()
        where = f" at {self.api_base}" if self.api_base else ""
        tries = 0

        def once() -> PolicyResponse:
            nonlocal tries
            left = self._time_left(started)
            if left is not None and left <= 0:
                _rollout_deadline_check()
                raise InfrastructureError(
                    f"model {self.model!r}{where}: no reply within the call's time budget "
                    f"({self._budget_text()}) after {tries} attempt(s)",
                    cause=f"model {self.model}{where}: deadline exceeded") from None
            kwargs["timeout"] = self.timeout if left is None else max(min(self.timeout, left), 0.001)
            tries += 1
            try:
                return self._to_response(self._litellm.completion(**kwargs, api_key=self._key()))
            except Exception as exc:  # noqa: BLE001 - classified below
                if is_context_overflow(exc):
                    log.info("model %s: context window exceeded", self.model)
                    return PolicyResponse(content="", outcome="context_window_exceeded",
                                          finish_reason="context_window_exceeded", usage=Usage(calls=1))
                if not (isinstance(exc, MalformedReply) or is_retryable(exc)):
                    raise SwegymError(
                        f"model {self.model!r}{where} rejected the request: {self._message(exc)}. "
                        f"Check the model name, api_base and API key (or its environment variable)."
                    ) from None
                raise

        def wait(n: int, exc: BaseException) -> float:
            delay = backoff(n, exc)
            hint = retry_after(exc)
            return max(delay, min(hint, self.backoff_max)) if hint is not None else delay

        def on_retry(n: int, exc: BaseException, delay: float) -> None:
            log.warning("model %s: %s; retry %d/%d in %.2fs", self.model, self._message(exc), n + 1,
                        self.max_retries, delay)

        backoff = retry.backoff(self.backoff_base, self.backoff_max, self._rng)
        try:
            return retry.call(once, retry_on=lambda exc: isinstance(exc, MalformedReply) or is_retryable(exc),
                              attempts=self.max_retries + 1, wait=wait, on_retry=on_retry,
                              time_left=lambda: self._time_left(started))
        except retry.RetriesExhausted as gave_up:
            message = self._message(gave_up.last)
            if gave_up.reason == "time":
                _rollout_deadline_check(gave_up.next_wait)
                raise InfrastructureError(
                    f"model {self.model!r}{where}: out of its time budget ({self._budget_text()}) after "
                    f"{gave_up.attempts} attempt(s): {message}",
                    cause=f"model {self.model}{where}: deadline exceeded: {message[:1000]}") from None
            budget = " (the rollout's retry budget is spent)" if gave_up.reason == "budget" else ""
            raise InfrastructureError(
                f"model {self.model!r}{where} still failing after {gave_up.attempts} attempt(s){budget}: {message}",
                cause=f"model {self.model}{where}: {message[:1000]}",
            ) from None

    def _message(self, exc: BaseException) -> str:
        return self._redact(f"{type(exc).__name__}: {exc}")

    def _time_left(self, started: float) -> float | None:
        """Seconds left of this call's budget and the rollout's, whichever ends first."""
        from swegym.deadline import remaining

        limits = [v for v in (remaining(),
                              None if self.deadline is None else self.deadline - (time.monotonic() - started))
                  if v is not None]
        return min(limits) if limits else None

    def _budget_text(self) -> str:
        return f"deadline={self.deadline:g}s per call" if self.deadline is not None else "the rollout's deadline"

    def _key(self) -> str | None:
        """The key to send; local OpenAI-compatible servers (vLLM) often need none, so send "EMPTY"."""
        key = self._api_key.get()
        if key is None and self.custom_llm_provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
            return "EMPTY"
        return key

    def _redact(self, text: str) -> str:
        return redact(text, [self._api_key.get() or ""])

    def _to_response(self, response: Any) -> PolicyResponse:
        choices = getattr(response, "choices", None) or []
        if not choices or getattr(choices[0], "message", None) is None:
            raise MalformedReply(f"the server answered without a choice/message (choices={str(choices)[:200]})")
        choice = choices[0]
        message = choice.message
        calls = []
        for call in getattr(message, "tool_calls", None) or []:
            fn = call.function
            args = fn.arguments if isinstance(fn.arguments, str) else json.dumps(fn.arguments or {})
            calls.append(ToolCall(id=call.id or "", name=fn.name or "", arguments=args))
        usage_obj = getattr(response, "usage", None)
        prompt = int(getattr(usage_obj, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage_obj, "completion_tokens", 0) or 0)
        usage = Usage(prompt, completion, self._cost(response, prompt, completion), calls=1)
        try:
            raw = response.model_dump()
        except Exception:  # noqa: BLE001 - raw is a convenience only
            raw = None
        content = message.content or ""
        cap = self._cap_reply(content, calls)
        if cap is not None:
            content, calls, raw = cap["content"], cap["calls"], {"swegym_reply_cap": cap["record"]}
        return PolicyResponse(content=content, tool_calls=calls, usage=usage,
                              outcome="ok", finish_reason=choice.finish_reason, raw=raw)

    def _cap_reply(self, content: str, calls: list[ToolCall]) -> dict[str, Any] | None:
        """Cut a reply longer than ``max_reply_chars`` (a runaway or hostile server); say so in ``raw``.

        Why: a 20 MB reply otherwise becomes a 60 MB trajectory row and ~0.5 GB of host memory.
        """
        limit = self.max_reply_chars
        size = len(content) + sum(len(c.arguments) for c in calls)
        if limit is None or size <= limit:
            return None
        marker = f"\n[swegym: reply cut at {limit} of {size} characters (max_reply_chars)]"
        log.warning("model %s: reply of %d characters cut to %d (max_reply_chars)", self.model, size, limit)
        budget = limit
        content = content[:budget] + (marker if len(content) > budget else "")
        budget = max(budget - len(content), 0)
        kept = []
        for call in calls:
            if len(call.arguments) > budget:
                call = ToolCall(id=call.id, name=call.name, arguments=call.arguments[:budget])
            budget = max(budget - len(call.arguments), 0)
            kept.append(call)
        return {"content": content, "calls": kept,
                "record": {"limit": limit, "reply_chars": size, "truncated": True}}

    def _cost(self, response: Any, prompt: int, completion: int) -> float | None:
        """USD cost of the call; None when nobody knows the model's price."""
        if self.input_cost_per_token is not None or self.output_cost_per_token is not None:
            return prompt * (self.input_cost_per_token or 0.0) + completion * (self.output_cost_per_token or 0.0)
        try:
            cost = self._litellm.completion_cost(completion_response=response,
                                                 custom_llm_provider=self.custom_llm_provider)
        except Exception:  # noqa: BLE001 - unknown price is fine
            return None
        return float(cost) if cost is not None else None
