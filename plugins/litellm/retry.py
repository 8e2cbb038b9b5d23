"""Which model-API errors are worth retrying (the retrying itself is :mod:`swegym.retry`).

Why a module of its own: the rules (429, 5xx, timeouts, dropped connections: retry; anything
else: don't) are shared by every remote model call (policy, embedders) and are easy to test
without a network.
"""
from __future__ import annotations

import re
from typing import Any

RETRY_STATUS = {408, 409, 425, 429}
CONTEXT_PATTERNS = re.compile(
    r"context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long|input is too long|"
    r"reduce the length|exceeds? (the )?(model'?s? )?(max(imum)?|context)",
    re.IGNORECASE,
)


def status_code(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        response = getattr(exc, "response", None)
        code = getattr(response, "status_code", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def retry_after(exc: BaseException) -> float | None:
    """The server's ``Retry-After`` seconds, when it sent one."""
    value: Any = None
    for headers in (getattr(exc, "litellm_response_headers", None), getattr(exc, "headers", None),
                    getattr(getattr(exc, "response", None), "headers", None)):
        try:
            value = headers.get("retry-after") if headers else None
        except AttributeError:
            value = None
        if value is not None:
            break
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def is_context_overflow(exc: BaseException) -> bool:
    """A prompt too long for the model (litellm's ContextWindowExceededError or a 400 saying so)."""
    if type(exc).__name__ == "ContextWindowExceededError":
        return True
    code = status_code(exc)
    return code in (400, 413, 422) and bool(CONTEXT_PATTERNS.search(str(exc)))


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, server errors, timeouts and connection failures: the next try may succeed."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"Timeout", "APITimeoutError", "APIConnectionError", "RateLimitError", "InternalServerError",
                "ServiceUnavailableError", "BadGatewayError", "TimeoutError", "ConnectionError"}:
        return True
    code = status_code(exc)
    return code is not None and (code >= 500 or code in RETRY_STATUS)
