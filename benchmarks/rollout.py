"""Rollout engine benchmark: replay policy + OpenHands scaffold on the demo tasks, real Docker.

Measures, in one run:
  * rollouts per minute with 1 and 2 workers (full rollouts: sandbox, agent, evaluation);
  * host-side overhead per agent step: scaffold wall time minus time inside the sandbox and the
    policy, divided by steps (what swegym itself adds to every action);
  * peak host RSS per concurrent rollout: driver RSS growth at 2 workers, divided by 2.
Last line: JSON with step_overhead_ms, rss_per_rollout_mb, scaling_2_vs_1.

Each throughput run does 5 demo tasks x ``--repeats`` samples. The default (4, so 20 rollouts per
run) keeps the ramp-up and the ramp-down out of the figure: with 10 rollouts on 2 workers the last
rollout often runs alone and the run's fixed costs (manifest, lock, report) weigh twice as much,
which measured 1.52-1.54x where the same engine sustains ~1.7x over 20 rollouts.

Usage: python benchmarks/rollout.py [--repeats 4]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import swegym
from swegym.demo.solutions import write_gold_trajectories
from swegym.orchestration import RunConfig, run


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples this process's RSS every 20 ms while active."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


class Timed:
    """A proxy that adds the time spent inside the wrapped object's methods to ``spent``."""

    def __init__(self, inner: Any, methods: tuple[str, ...]) -> None:
        self._inner, self._methods, self.spent, self.calls = inner, methods, 0.0, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._methods:
            return attr

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attr(*a, **k)
            finally:
                self.spent += time.perf_counter() - t0
                self.calls += 1

        return timed


def step_overhead(tasks: list[swegym.Task], gold: Path, repeats: int) -> tuple[float, int]:
    runtime = swegym.create("runtime", "docker")
    samples = []
    steps_total = 0
    for _ in range(repeats):
        for task in tasks:
            runtime.ensure_image(task)
            policy = Timed(swegym.create("policy", "replay", path=str(gold), instance_id=task.instance_id), ("complete",))
            scaffold = swegym.create("scaffold", "openhands")
            with runtime.open(task) as raw:
                sandbox = Timed(raw, ("run", "read_file", "write_file", "diff", "reset"))
                t0 = time.perf_counter()
                traj = scaffold.run(task, sandbox, policy)  # type: ignore[arg-type]
                wall = time.perf_counter() - t0
            steps = max(1, policy.calls)
            steps_total += steps
            samples.append((wall - sandbox.spent - policy.spent) / steps * 1000)
            assert traj.patch, f"no patch for {task.instance_id}"
    runtime.close()
    return statistics.median(samples), steps_total


def throughput(tasks: list[swegym.Task], gold: Path, workers: int, repeats: int) -> tuple[float, float]:
    cfg = RunConfig(scaffold="openhands", policy="replay", policy_options={"path": str(gold)}, samples=repeats)
    with tempfile.TemporaryDirectory() as tmp, PeakRss() as peak:
        before = rss_mb()
        t0 = time.perf_counter()
        summary = run(cfg, tasks, Path(tmp) / "run", executor_options={"workers": workers}, progress=False)
        elapsed = time.perf_counter() - t0
    assert summary["resolved"] == len(tasks) * repeats, summary
    return summary["rollouts"] / elapsed * 60, peak.peak - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4, help="samples per task in each throughput run")
    args = parser.parse_args()
    tasks = swegym.load_tasks("demo")
    runtime = swegym.create("runtime", "docker")
    for task in tasks:  # images first: building is not what we measure
        runtime.ensure_image(task)
    runtime.close()
    with tempfile.TemporaryDirectory() as tmp:
        gold = write_gold_trajectories(tasks, Path(tmp) / "gold.jsonl")
        overhead_ms, steps = step_overhead(tasks, gold, repeats=3)
        throughput(tasks[:2], gold, 1, 1)  # warm caches (code index, page cache) before timing
        rpm1, _ = throughput(tasks, gold, 1, args.repeats)
        rpm2, rss_growth = throughput(tasks, gold, 2, args.repeats)
    rss_per = max(rss_growth, 0.0) / 2
    scaling = rpm2 / rpm1
    rows = [
        ("rollouts/min, 1 worker", f"{rpm1:.1f}"),
        ("rollouts/min, 2 workers", f"{rpm2:.1f}"),
        ("scaling 2 vs 1", f"{scaling:.2f}   (target >= 1.6)"),
        ("host overhead per agent step", f"{overhead_ms:.2f} ms   (target <= 5; {steps} steps)"),
        ("peak host RSS per concurrent rollout", f"{rss_per:.1f} MB   (target <= 50)"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps({"step_overhead_ms": round(overhead_ms, 3), "rss_per_rollout_mb": round(rss_per, 2),
                      "scaling_2_vs_1": round(scaling, 3), "rollouts_per_min_1": round(rpm1, 2),
                      "rollouts_per_min_2": round(rpm2, 2)}))


if __name__ == "__main__":
    main()
