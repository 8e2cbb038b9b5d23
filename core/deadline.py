"""Wall-clock deadlines that bound a whole rollout, shared by everything the rollout calls.

Why a context variable: the driver knows the rollout's budget, the policy knows its own call
budget, and neither should need the other's objects. The driver opens :func:`deadline`; a
policy (or anything else that waits) asks :func:`remaining` and waits at most that long, so a
hung model server cannot hold a rollout longer than its budget, whatever the retry settings.
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from typing import Iterator

from .errors import InfrastructureError

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("swegym_deadline", default=None)


class DeadlineExceeded(InfrastructureError):
    """The rollout's total time budget ran out (a hung or very slow model server). Not retried."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound everything inside the block to ``seconds`` (None: no bound; nested blocks take the sooner)."""
    if seconds is None or seconds <= 0:
        yield
        return
    end = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the innermost deadline (None when there is none; may be <= 0)."""
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


def check(what: str = "the rollout") -> None:
    """Raise :class:`DeadlineExceeded` when the deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"{what} ran past its time budget (rollout_timeout)",
                               cause="rollout deadline exceeded")


__all__ = ["deadline", "remaining", "check", "DeadlineExceeded"]
