"""Evaluating many patches with a thread pool, a progress bar, and resume from ``report.json``.

Threads suffice: an evaluation waits on the container, not on Python. Starting a container is
most of the harness's own cost (~1 s), so while evaluation *i* runs its tests, the sandbox for
evaluation *i + workers* is already being opened (each sandbox is still fresh and used once).
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Sequence

from ..interfaces import Runtime, Sandbox
from ..types import EvalResult, Task
from .evaluate import evaluate
from .ledger import ReportWriter


class _Prefetcher:
    """Opens sandboxes for upcoming jobs ahead of time, at most ``depth`` beyond the running ones."""

    def __init__(self, runtime: Runtime, tasks: list[Task | None], depth: int, run_id: str | None) -> None:
        self.runtime, self.tasks, self.depth, self.run_id = runtime, tasks, depth, run_id
        self.pool = ThreadPoolExecutor(max_workers=max(1, depth), thread_name_prefix="swegym-open")
        self.futures: dict[int, Future] = {}
        self.lock = threading.Lock()

    def _submit(self, i: int) -> None:
        if 0 <= i < len(self.tasks) and self.tasks[i] is not None and i not in self.futures:
            task = self.tasks[i]
            self.futures[i] = self.pool.submit(self.runtime.open, task, network=False, run_id=self.run_id)

    def take(self, i: int) -> Callable[[], Sandbox]:
        """The opener for job ``i`` (waits for its prefetched sandbox); queues job ``i + depth``."""
        with self.lock:
            self._submit(i)
            self._submit(i + self.depth)
            fut = self.futures.pop(i)
        return fut.result

    def close(self) -> None:
        with self.lock:
            left, self.futures = list(self.futures.values()), {}
        for fut in left:
            fut.cancel()
        self.pool.shutdown(wait=True)
        for fut in left:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.runtime.release(fut.result())


def evaluate_many(
    jobs: Sequence[tuple[Task, str | None]],
    runtime: Runtime,
    *,
    workers: int = 1,
    timeout: float = 1800,
    retries: int = 2,
    run_dir: str | Path | None = None,
    run_empty: bool = False,
    progress: bool = True,
    desc: str = "evaluating",
    prefetch: bool = True,
    run_id: str | None = None,
    on_result: Callable[[Task, EvalResult], None] | None = None,
    **kwargs,
) -> dict[str, EvalResult]:
    """Evaluate every (task, patch); with ``run_dir``, record into its report and skip finished ones."""
    from tqdm import tqdm

    writer = ReportWriter(run_dir) if run_dir is not None else None
    done = writer.finished() if writer else set()
    todo = [(t, p) for t, p in jobs if t.instance_id not in done]
    needs_box = [t if ((p or "").strip() or run_empty) else None for t, p in todo]
    prefetcher = _Prefetcher(runtime, needs_box, max(1, workers), run_id) if prefetch else None
    results: dict[str, EvalResult] = {}
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=desc, unit="task", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)

    def one(i: int, task: Task, patch: str | None) -> EvalResult:
        opener = prefetcher.take(i) if prefetcher and needs_box[i] is not None else None
        return evaluate(task, patch, runtime, timeout=timeout, retries=retries, run_empty=run_empty,
                        run_id=run_id, sandbox=opener, **kwargs)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(one, i, t, p): (t, p) for i, (t, p) in enumerate(todo)}
            for fut in as_completed(futures):
                task, patch = futures[fut]
                result = fut.result()
                results[task.instance_id] = result
                if writer:
                    writer.add(task.instance_id, result, patch)
                if on_result:
                    on_result(task, result)
                bar.update(1)
                bar.set_postfix_str(f"{task.instance_id}: {result.status}")
    finally:
        if writer:
            writer.flush()
        bar.close()
        if prefetcher:
            prefetcher.close()
        runtime.drain()
    return results


__all__ = ["evaluate_many"]
