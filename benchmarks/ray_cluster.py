"""Multi-node Ray benchmark: replay policy + OpenHands scaffold on the demo tasks, real Docker.

Measures, in one run on this machine:
  * rollouts per minute, whole runs: the local executor with 2 workers (threads) against a
    two-node Ray cluster (``ray.cluster_utils.Cluster``: two raylets, ``swegym_sandbox: 2`` each,
    one DOCKER_HOST a unix socket, the other tcp://127.0.0.1:2375 where the daemon listens) with 4
    workers, and how the Ray run's rollouts fell on the nodes;
  * node-kill rerun latency: a third run on a fresh two-node cluster whose worker node is removed
    (raylet and workers killed) when the first row lands; from the kill to the first rerun start
    (Ray noticing and the driver rescheduling) and to the end of the run. Ray's default health
    check is used (``--fast-health-check`` to use the test suite's 0.5 s period).

All nodes share this machine's cores, so the 2+2 cluster shows Ray's overhead and the spread, not
a speed-up: on a 2-core machine 4 sandboxes do not run faster than 2.
Last line: JSON; it is also appended to benchmarks/results/ray_cluster.jsonl.

Usage: python benchmarks/ray_cluster.py [--repeats 2]
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import swegym
from swegym.demo.solutions import write_gold_trajectories
from swegym.orchestration import RunConfig, run

SANDBOX = "swegym_sandbox"
UNIX_DOCKER = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
FAST_HEALTH_CHECK = {"health_check_period_ms": 500, "health_check_timeout_ms": 500,
                     "health_check_failure_threshold": 3, "health_check_initial_delay_ms": 0}
RESULTS = Path(__file__).resolve().parent / "results" / "ray_cluster.jsonl"


def second_docker_host() -> str:
    try:
        socket.create_connection(("127.0.0.1", 2375), timeout=1).close()
        return "tcp://127.0.0.1:2375"
    except OSError:
        return UNIX_DOCKER


def rows(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "trajectories.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


class TwoNodes:
    """A head and a worker raylet on this machine, 2 sandbox slots each; the driver connected."""

    def __init__(self, fast_health_check: bool) -> None:
        import ray
        from ray.cluster_utils import Cluster

        head: dict[str, Any] = {"num_cpus": 2, "resources": {SANDBOX: 2}, "include_dashboard": False,
                                "env_vars": {"DOCKER_HOST": UNIX_DOCKER}}
        if fast_health_check:
            head["_system_config"] = FAST_HEALTH_CHECK
        self.cluster = Cluster(initialize_head=True, head_node_args=head)
        self.worker = self.cluster.add_node(num_cpus=2, resources={SANDBOX: 2},
                                            env_vars={"DOCKER_HOST": second_docker_host()})
        self.cluster.wait_for_nodes()
        ray.init(address=self.cluster.address, log_to_driver=False)

    def close(self) -> None:
        import ray

        ray.shutdown()
        self.cluster.shutdown()


def timed_run(config: RunConfig, tasks: list, run_dir: Path, executor: str, workers: int) -> float:
    t0 = time.perf_counter()
    summary = run(config, tasks, run_dir, executor=executor, executor_options={"workers": workers}, progress=False)
    elapsed = time.perf_counter() - t0
    assert summary["rollouts"] == len(tasks) * config.samples and summary["infrastructure_errors"] == 0, summary
    return elapsed


def kill_run(config: RunConfig, tasks: list, run_dir: Path, fast: bool) -> dict[str, Any]:
    """A run whose worker node is removed when the first row lands; latencies from the kill."""
    nodes = TwoNodes(fast)
    worker_id = nodes.worker.node_id[:12]
    out: dict[str, Any] = {}
    try:
        thread = threading.Thread(target=lambda: out.setdefault("summary", run(
            config, tasks, run_dir, executor="ray", executor_options={"workers": 4}, progress=False)))
        thread.start()
        while not rows(run_dir) and thread.is_alive():
            time.sleep(0.05)
        killed = time.time()
        nodes.cluster.remove_node(nodes.worker)
        thread.join()
        done = time.time()
    finally:
        nodes.close()
    got = rows(run_dir)
    keys = [(r["instance_id"], r["metadata"]["rollout"]["sample_index"]) for r in got]
    rerun = [r for r in got if any(worker_id in a for a in r["metadata"]["rollout"].get("infrastructure_attempts", []))]
    starts = [r["metadata"]["rollout"]["placement"]["started"] for r in rerun]
    return {"rows": len(got), "unique_rows": len(set(keys)), "expected_rows": len(tasks) * config.samples,
            "rerun_rollouts": len(rerun), "resolved": (out.get("summary") or {}).get("resolved"),
            "kill_to_first_rerun_s": round(min(starts) - killed, 2) if starts else None,
            "kill_to_run_end_s": round(done - killed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="samples per demo task in each run")
    parser.add_argument("--fast-health-check", action="store_true", help="0.5 s node health checks in the kill run")
    args = parser.parse_args()
    tasks = swegym.load_tasks("demo")
    runtime = swegym.create("runtime", "docker")
    for task in tasks:  # images first: building is not what we measure
        runtime.ensure_image(task)
    runtime.close()
    n = len(tasks) * args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        gold = write_gold_trajectories(tasks, Path(tmp) / "gold.jsonl")
        config = RunConfig(scaffold="openhands", policy="replay", policy_options={"path": str(gold)},
                           runtime="docker", samples=args.repeats, infra_retries=0)
        timed_run(config, tasks[:2], Path(tmp) / "warm", "local", 2)  # page cache, images
        local_s = timed_run(config, tasks, Path(tmp) / "local", "local", 2)
        nodes = TwoNodes(fast_health_check=False)
        try:
            ray_s = timed_run(config, tasks, Path(tmp) / "ray", "ray", 4)  # actor start-up counts
        finally:
            nodes.close()
        spread: dict[str, int] = {}
        for r in rows(Path(tmp) / "ray"):
            node = r["metadata"]["rollout"]["placement"]["node"]
            spread[node] = spread.get(node, 0) + 1
        kill = kill_run(config, tasks, Path(tmp) / "kill", args.fast_health_check)
    rpm_local, rpm_ray = n / local_s * 60, n / ray_s * 60
    table = [
        ("rollouts/min, local executor, 2 workers", f"{rpm_local:.1f}   ({local_s:.1f} s for {n})"),
        ("rollouts/min, Ray 2 nodes x 2 slots",
         f"{rpm_ray:.1f}   ({ray_s:.1f} s; ratio to local {rpm_ray / rpm_local:.2f})"),
        ("Ray rollouts per node", ", ".join(f"{k}: {v}" for k, v in sorted(spread.items()))),
        ("node kill: rows / unique / expected", f"{kill['rows']} / {kill['unique_rows']} / {kill['expected_rows']}"
                                                f"   ({kill['rerun_rollouts']} rerun, {kill['resolved']} resolved)"),
        ("node kill -> first rerun starts", f"{kill['kill_to_first_rerun_s']} s   "
                                            f"({'0.5 s' if args.fast_health_check else 'default'} health check)"),
        ("node kill -> run ends", f"{kill['kill_to_run_end_s']} s"),
    ]
    width = max(len(r[0]) for r in table)
    print(f"5 demo tasks x {args.repeats} samples per run; load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'metric':<{width}}  value")
    for name, value in table:
        print(f"{name:<{width}}  {value}")
    result = {"rollouts_per_min_local_2": round(rpm_local, 2), "rollouts_per_min_ray_2x2": round(rpm_ray, 2),
              "ray_vs_local": round(rpm_ray / rpm_local, 3), "ray_rollouts_per_node": spread,
              "rollouts_per_run": n, "node_kill": kill, "fast_health_check": args.fast_health_check,
              "versions": {"ray": md.version("ray"), "swegym": md.version("swegym")},
              "cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1),
              "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(result) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
