"""Rollout engine benchmark: replay policy + OpenHands scaffold on the demo tasks, real Docker.

Measures, in one run:
  * rollouts per minute with 1 and 2 workers (full rollouts: sandbox, agent, evaluation);
  * host-side overhead per agent step: scaffold wall time minus time inside the sandbox and the
    policy, divided by steps (what swegym itself adds to every action);
  * peak host RSS per concurrent rollout: driver RSS growth at 2 workers, divided by 2.
Last line: JSON with step_overhead_ms, rss_per_rollout_mb, scaling_2_vs_1.

Rates are steady-state rates, what a run of thousands of tasks sustains: a watcher notes when
each row lands in trajectories.jsonl, and the rate is taken between the ``--edge``-th completion
and the ``--edge``-th from last. A whole-run rate (start to end) is printed too; on a short run
it is not the engine's rate: at 2 workers the first rollouts start in lockstep (two container
starts at once), the last one often runs alone, and the run's fixed costs (manifest, lock,
report) count twice as much as at 1 worker.

Each throughput run does 5 demo tasks x ``--repeats`` samples (default 4: 20 rollouts per run).
The 1-worker and 2-worker runs alternate for ``--rounds`` rounds (1, 2, 1, 2) and each rate sums
its rounds' windows, so a drift in this (virtual) machine's speed, which moves single runs by
10-20 %, hits both rates alike.

Usage: python benchmarks/rollout.py [--repeats 4] [--rounds 2] [--edge 2]
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


class Sampler:
    """Calls ``sample()`` every ``interval`` seconds on a thread while active, and once at the end."""

    interval = 0.02

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # what happened after the last tick


class PeakRss(Sampler):
    """This process's peak RSS while active."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = rss_mb()

    def sample(self) -> None:
        self.peak = max(self.peak, rss_mb())


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


class Completions(Sampler):
    """Notes the time at which each row appears in a run's trajectories.jsonl (polled every 10 ms)."""

    interval = 0.01

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path, self.times = path, []

    def sample(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                rows = fh.read().count(b"\n")
        except FileNotFoundError:
            return
        now = time.perf_counter()
        self.times += [now] * (rows - len(self.times))

    def steady_window(self, edge: int) -> tuple[int, float]:
        """(rollouts, seconds) between the edge-th completion and the edge-th from last."""
        t = sorted(self.times)
        lo, hi = edge, len(t) - 1 - edge
        if hi <= lo or t[hi] <= t[lo]:
            raise ValueError(f"{len(t)} rollouts are too few for --edge {edge}")
        return hi - lo, t[hi] - t[lo]


def throughput(tasks: list[swegym.Task], gold: Path, workers: int, repeats: int,
               edge: int) -> tuple[tuple[int, float], tuple[int, float], float]:
    """(steady window, whole run, driver RSS growth in MB); windows are (rollouts, seconds)."""
    cfg = RunConfig(scaffold="openhands", policy="replay", policy_options={"path": str(gold)}, samples=repeats)
    with tempfile.TemporaryDirectory() as tmp, PeakRss() as peak:
        run_dir = Path(tmp) / "run"
        before = rss_mb()
        t0 = time.perf_counter()
        with Completions(run_dir / "trajectories.jsonl") as done:
            summary = run(cfg, tasks, run_dir, executor_options={"workers": workers}, progress=False)
        elapsed = time.perf_counter() - t0
    assert summary["resolved"] == len(tasks) * repeats, summary
    assert len(done.times) == summary["rollouts"], (len(done.times), summary["rollouts"])
    return done.steady_window(edge), (summary["rollouts"], elapsed), peak.peak - before


def per_minute(windows: list[tuple[int, float]]) -> float:
    return sum(n for n, _ in windows) / sum(s for _, s in windows) * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4, help="samples per task in each throughput run")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of 1-worker and 2-worker runs")
    parser.add_argument("--edge", type=int, default=2, help="completions left out at each end of the steady window")
    args = parser.parse_args()
    tasks = swegym.load_tasks("demo")
    runtime = swegym.create("runtime", "docker")
    for task in tasks:  # images first: building is not what we measure
        runtime.ensure_image(task)
    runtime.close()
    with tempfile.TemporaryDirectory() as tmp:
        gold = write_gold_trajectories(tasks, Path(tmp) / "gold.jsonl")
        overhead_ms, steps = step_overhead(tasks, gold, repeats=3)
        throughput(tasks[:2], gold, 1, 1, edge=0)  # warm caches (page cache, images) before timing
        steady: dict[int, list] = {1: [], 2: []}
        whole: dict[int, list] = {1: [], 2: []}
        growth = []
        for _ in range(args.rounds):  # 1, 2, 1, 2 ...: a drift in machine speed hits both alike
            for workers in (1, 2):
                window, total, rss_growth = throughput(tasks, gold, workers, args.repeats, args.edge)
                steady[workers].append(window)
                whole[workers].append(total)
                if workers == 2:
                    growth.append(rss_growth)
    rss_per = max(max(growth), 0.0) / 2
    rpm1, rpm2 = per_minute(steady[1]), per_minute(steady[2])
    whole1, whole2 = per_minute(whole[1]), per_minute(whole[2])
    scaling = rpm2 / rpm1
    rounds = [per_minute([b]) / per_minute([a]) for a, b in zip(steady[1], steady[2])]
    n = len(tasks) * args.repeats
    rows = [
        ("rollouts/min, 1 worker (steady)", f"{rpm1:.1f}   (whole runs: {whole1:.1f})"),
        ("rollouts/min, 2 workers (steady)", f"{rpm2:.1f}   (whole runs: {whole2:.1f})"),
        ("scaling 2 vs 1 (steady)", f"{scaling:.2f}   (target >= 1.6; per round: "
                                    f"{', '.join(f'{r:.2f}' for r in rounds)}; whole runs: {whole2 / whole1:.2f})"),
        ("host overhead per agent step", f"{overhead_ms:.2f} ms   (target <= 5; {steps} steps)"),
        ("peak host RSS per concurrent rollout", f"{rss_per:.1f} MB   (target <= 50)"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{args.rounds} rounds of a 1-worker and a 2-worker run, {n} rollouts each (5 demo tasks x "
          f"{args.repeats}); steady windows leave out {args.edge} completions at each end")
    print(f"{'metric':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps({"step_overhead_ms": round(overhead_ms, 3), "rss_per_rollout_mb": round(rss_per, 2),
                      "scaling_2_vs_1": round(scaling, 3), "rollouts_per_min_1": round(rpm1, 2),
                      "rollouts_per_min_2": round(rpm2, 2), "scaling_2_vs_1_whole_run": round(whole2 / whole1, 3),
                      "scaling_per_round": [round(r, 3) for r in rounds], "rollouts_per_run": n}))


if __name__ == "__main__":
    main()
