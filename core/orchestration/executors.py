"""Executors run rollout requests somewhere and stream rows back to the driver, in any order.

``local`` uses a thread pool (rollouts are I/O bound: containers and model servers do the work)
or, with ``mode="processes"``, a process pool. The ``ray`` plugin adds a cluster executor.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from typing import Any, Callable, Iterable, Iterator

from dataclasses import dataclass
from typing import ClassVar

from ..interfaces import Executor
from ..options import Options


@dataclass
class LocalOptions(Options):
    """Options of the local executor."""

    component: ClassVar[str] = "executor local"

    workers: int | None = None
    mode: str | None = None


class LocalExecutor(Executor):
    """Threads (default) or processes on this machine."""

    name = "local"

    def __init__(self, workers: int = 1, mode: str = "threads") -> None:
        if mode not in ("threads", "processes"):
            raise ValueError(f"local executor mode must be 'threads' or 'processes', not {mode!r}")
        self.workers = max(1, int(workers))
        self.mode = mode

    def map_unordered(self, fn: Callable[[Any], Any], requests: Iterable[Any]) -> Iterator[Any]:
        if self.mode == "threads":
            pool: cf.Executor = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="rollout")
        else:
            pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        with pool:
            pending = {pool.submit(fn, r) for r in requests}
            try:
                for future in cf.as_completed(pending):
                    yield future.result()
            finally:
                for future in pending:
                    future.cancel()
