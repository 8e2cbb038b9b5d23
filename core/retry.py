"""One retry helper for every layer that retries, and one attempt budget shared by all of them.

Why one helper: model calls (litellm policy), the ORM verifier server, embedders, rollouts and
evaluations each had a loop of their own, and nested loops multiply: a rollout retried 3 times,
whose model calls are retried 7 times each, evaluated with 2 more tries. Every layer now retries
through :func:`call`, and each retry also spends one unit of the innermost :func:`budget` open
around it (the driver opens one per rollout, ``RunConfig.retry_budget``), so the layers together
never retry more than that budget, whatever each layer's own limit.

Built on tenacity (``Retrying`` with a stop condition that also asks the budget and the time
left); swegym's code never imports tenacity directly.
"""
from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import time
from typing import Callable, Iterator, Literal, TypeVar

T = TypeVar("T")
StopReason = Literal["attempts", "time", "budget"]


class RetryBudget:
    """Retries left to everything inside one :func:`budget` block (thread-safe)."""

    def __init__(self, total: int) -> None:
        self.total = max(int(total), 0)
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one retry; False when none is left."""
        with self._lock:
            if self.used >= self.total:
                return False
            self.used += 1
            return True

    @property
    def left(self) -> int:
        return self.total - self.used


_BUDGET: contextvars.ContextVar[RetryBudget | None] = contextvars.ContextVar("swegym_retry_budget", default=None)


@contextlib.contextmanager
def budget(total: int | None) -> Iterator[RetryBudget | None]:
    """Share ``total`` retries among every :func:`call` inside the block (None: no new bound).

    The outermost budget wins: a layer that opens its own inside another's spends the outer one,
    so nesting can never multiply retries.
    """
    outer = _BUDGET.get()
    if total is None or outer is not None:
        yield outer
        return
    shared = RetryBudget(total)
    token = _BUDGET.set(shared)
    try:
        yield shared
    finally:
        _BUDGET.reset(token)


def current_budget() -> RetryBudget | None:
    return _BUDGET.get()


class RetriesExhausted(Exception):
    """:func:`call` gave up: ``last`` is the final error, ``reason`` why no further try was made."""

    def __init__(self, last: BaseException, attempts: int, reason: StopReason, next_wait: float = 0.0) -> None:
        super().__init__(f"gave up after {attempts} attempt(s) ({reason}): {type(last).__name__}: {last}")
        self.last, self.attempts, self.reason = last, attempts, reason
        #: The wait the next retry would have needed (what ran out when ``reason == "time"``).
        self.next_wait = next_wait


def backoff(base: float, cap: float = 60.0, rng: random.Random | None = None) -> Callable[[int, BaseException], float]:
    """Exponential backoff with jitter: retry ``n`` (0-based) waits uniform in [b·2ⁿ/2, b·2ⁿ], at most ``cap``."""
    def wait(n: int, _exc: BaseException) -> float:
        top = min(cap, base * (2 ** n))
        return top / 2 + (rng or random).random() * top / 2

    return wait


class _Stop:
    """tenacity stop condition: out of attempts, out of time for the next wait, or out of budget."""

    def __init__(self, attempts: int, time_left: Callable[[], float | None] | None) -> None:
        self.attempts, self.time_left = attempts, time_left
        self.reason: StopReason = "attempts"
        self.next_wait = 0.0

    def __call__(self, state) -> bool:  # tenacity.RetryCallState
        self.next_wait = state.upcoming_sleep or 0.0
        if state.attempt_number >= self.attempts:
            self.reason = "attempts"
            return True
        left = self.time_left() if self.time_left else None
        if left is not None and left <= (state.upcoming_sleep or 0.0):
            self.reason = "time"
            return True
        shared = _BUDGET.get()
        if shared is not None and not shared.take():
            self.reason = "budget"
            return True
        return False


def call(
    fn: Callable[[], T],
    *,
    retry_on: Callable[[BaseException], bool],
    attempts: int,
    wait: Callable[[int, BaseException], float] | None = None,
    time_left: Callable[[], float | None] | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it returns, at most ``attempts`` times in all.

    Errors ``retry_on`` rejects propagate at once. A retry is skipped (raising
    :class:`RetriesExhausted`) when ``attempts`` are used up, when the wait would outlast
    ``time_left()``, or when the shared :func:`budget` is spent. ``wait(n, exc)`` gives the
    seconds before retry ``n`` (0-based); ``on_retry(n, exc, seconds)`` is told before each wait.
    """
    import tenacity

    stop = _Stop(max(int(attempts), 1), time_left)
    waiter = wait or backoff(1.0)

    def before_sleep(state) -> None:
        if on_retry is not None:
            on_retry(state.attempt_number - 1, state.outcome.exception(), state.upcoming_sleep)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry_on),
        stop=stop,
        wait=lambda state: max(float(waiter(state.attempt_number - 1, state.outcome.exception())), 0.0),
        before_sleep=before_sleep,
        sleep=sleep,
    )
    try:
        return retrying(fn)
    except tenacity.RetryError as err:
        last = err.last_attempt.exception()
        raise RetriesExhausted(last, err.last_attempt.attempt_number, stop.reason, stop.next_wait) from last


__all__ = ["call", "budget", "current_budget", "backoff", "RetryBudget", "RetriesExhausted"]
