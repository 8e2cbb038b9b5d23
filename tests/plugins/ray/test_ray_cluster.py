"""Multi-node Ray: two raylets on this machine, each a node with its own sandbox slots and DOCKER_HOST.

``ray.cluster_utils.Cluster`` starts a head node and a worker node as separate raylets; both
advertise ``swegym_sandbox: 2`` and point at the same Docker daemon through different
``DOCKER_HOST`` values (a unix socket and, where the daemon listens there, tcp://127.0.0.1:2375).
Demo tasks are rolled out with the replay policy (gold trajectories) and graded for real.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from swegym.demo.solutions import write_gold_trajectories
from swegym.orchestration import RunConfig
from swegym.orchestration.engine import run

ray = pytest.importorskip("ray")

from swegym_ray import env as env_rule  # noqa: E402
from swegym_ray.executor import LOST_PREFIX, SANDBOX_RESOURCE, RolloutWorker  # noqa: E402

SLOTS = 2
UNIX_DOCKER = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
# Quick node-death detection: the default health check takes ~30 s to declare a raylet dead.
FAST_HEALTH_CHECK = {"health_check_period_ms": 500, "health_check_timeout_ms": 500,
                     "health_check_failure_threshold": 3, "health_check_initial_delay_ms": 0}


def _second_docker_host() -> str:
    """The same daemon under another address: tcp://127.0.0.1:2375 where it listens, else the first."""
    wanted = os.environ.get("SWEGYM_RAY_SECOND_DOCKER_HOST", "tcp://127.0.0.1:2375")
    host, _, port = wanted.removeprefix("tcp://").partition(":")
    try:
        socket.create_connection((host, int(port or 2375)), timeout=1).close()
        return wanted
    except (OSError, ValueError):
        return UNIX_DOCKER


def _add_worker(c):
    return c.add_node(num_cpus=2, resources={SANDBOX_RESOURCE: SLOTS}, env_vars={"DOCKER_HOST": _second_docker_host()})


@pytest.fixture(scope="module")
def cluster(docker_client, base_image):
    """A head node and one worker node (two raylets), each with 2 sandbox slots; torn down after.

    Yields ``[cluster, worker_node]``; a test that removes the worker puts a fresh one in its place.
    """
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "resources": {SANDBOX_RESOURCE: SLOTS}, "include_dashboard": False,
        "env_vars": {"DOCKER_HOST": UNIX_DOCKER}, "_system_config": FAST_HEALTH_CHECK})
    try:
        worker = _add_worker(c)
        c.wait_for_nodes()
        ray.init(address=c.address, log_to_driver=False)
        yield [c, worker]
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.fixture(scope="module")
def gold(tmp_path_factory, demo_tasks) -> Path:
    return write_gold_trajectories(demo_tasks, tmp_path_factory.mktemp("gold") / "gold.jsonl")


def _config(gold: Path, samples: int) -> RunConfig:
    return RunConfig(scaffold="openhands", policy="replay", policy_options={"path": str(gold)},
                     runtime="docker", samples=samples, infra_retries=0)


def _rows(run_dir: Path) -> list[dict]:
    path = run_dir / "trajectories.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def _node_env(names: list[str]) -> dict[str, dict[str, str | None]]:
    """Each node's view of ``names`` through a rollout worker pinned there (forwarded env applied)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    import functools

    out = {}
    actor_class = ray.remote(RolloutWorker)
    for node in ray.nodes():
        if not node["Alive"]:
            continue
        actor = actor_class.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
            node["NodeID"], soft=False)).remote(functools.partial(os.getenv), env_rule.forwarded())
        out[node["NodeID"][:12]] = {n: ray.get(actor.run.remote(n))[0] for n in names}
        ray.kill(actor)
    return out


def test_rollouts_spread_over_nodes_within_limits(cluster, gold, demo_tasks, tmp_path, monkeypatch):
    tasks = demo_tasks[:2]
    monkeypatch.setenv("DOCKER_HOST", "tcp://driver-only.invalid:1")  # the driver's; nodes keep their own
    views = _node_env(["DOCKER_HOST"])
    assert len(views) == 2
    assert {v["DOCKER_HOST"] for v in views.values()} == {UNIX_DOCKER, _second_docker_host()}

    summary = run(_config(gold, samples=2), tasks, tmp_path / "run", executor="ray",
                  executor_options={"workers": 4}, progress=False)
    rows = _rows(tmp_path / "run")
    keys = [(r["instance_id"], r["metadata"]["rollout"]["sample_index"]) for r in rows]
    assert sorted(keys) == sorted((t.instance_id, k) for t in tasks for k in range(2))
    assert summary["resolved"] == 4 and summary["infrastructure_errors"] == 0
    placed = [r["metadata"]["rollout"]["placement"] for r in rows]
    by_node: dict[str, list[tuple[float, float]]] = {}
    for p in placed:
        by_node.setdefault(p["node"], []).append((p["started"], p["finished"]))
    assert set(by_node) == set(views), "rollouts ran on both nodes"
    for node, intervals in by_node.items():
        assert _max_overlap(intervals) <= SLOTS, f"node {node} ran more than {SLOTS} sandboxes at once"
    assert os.getpid() not in {p["pid"] for p in placed}, "rollouts run in workers; the driver only writes"
    assert len({p["pid"] for p in placed}) <= 4, "one long-lived worker per slot, not one per rollout"


def test_node_killed_mid_run_loses_and_duplicates_no_row(cluster, gold, demo_tasks, tmp_path, monkeypatch,
                                                          docker_client):
    c, worker_node = cluster
    tasks = demo_tasks[:3]
    secret = f"sk-swegym-ray-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)  # set after the nodes started: only forwarding brings it
    assert all(v["OPENAI_API_KEY"] == secret for v in _node_env(["OPENAI_API_KEY"]).values())

    run_dir = tmp_path / "run"
    worker_id = worker_node.node_id[:12]
    result: dict = {}

    def drive() -> None:
        try:
            result["summary"] = run(_config(gold, samples=2), tasks, run_dir, executor="ray",
                                    executor_options={"workers": 4}, progress=False)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = exc

    thread = threading.Thread(target=drive)
    thread.start()
    deadline = time.monotonic() + 240
    while not _rows(run_dir) and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.2)  # the first row: every slot of both nodes is busy with the next ones
    c.remove_node(worker_node)  # its raylet and workers are killed
    killed_at = time.monotonic()
    cluster[1] = _add_worker(c)  # a fresh node for later tests; the run's workers are already placed
    thread.join(timeout=300)
    print(f"run finished {time.monotonic() - killed_at:.1f}s after the node was killed")
    assert not thread.is_alive(), "the run did not finish after losing a node"
    if "error" in result:
        raise result["error"]

    rows = _rows(run_dir)
    keys = [(r["instance_id"], r["metadata"]["rollout"]["sample_index"]) for r in rows]
    assert len(keys) == len(set(keys)) == len(tasks) * 2, "no row lost, none duplicated"
    rerun = [r for r in rows
             if any(a.startswith(LOST_PREFIX) for a in r["metadata"]["rollout"].get("infrastructure_attempts", []))]
    assert rerun, "the killed node's rollouts are recorded as infrastructure attempts"
    for r in rerun:
        assert r["metadata"]["rollout"]["placement"]["node"] != worker_id, "a lost rollout reran on a surviving node"
        assert any(worker_id in a for a in r["metadata"]["rollout"]["infrastructure_attempts"])
    summary = result["summary"]
    assert summary["rollouts"] == len(rows)
    assert summary["resolved"] + summary["infrastructure_errors"] == len(rows)
    assert summary["resolved"] == len(rows), "reruns on the surviving node succeed"

    # a secret in a rollout's arguments (a policy's api_key option) travels the same way
    from swegym_ray.executor import RayExecutor

    assert list(RayExecutor(workers=1).map_unordered(len, [secret + "-arg"])) == [len(secret) + 4]
    # the key reached the workers but was written nowhere: not in the run directory, not in Ray's logs
    session = Path(c.head_node.get_session_dir_path())
    assert len(list((session / "logs").glob("raylet*.out"))) >= 2, "both nodes log into this session"
    assert list((session / "logs").glob("worker-*.out")), "the workers' own logs are searched too"
    for folder in (run_dir, session / "logs"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"API key written to {path}"
    # the lost workers' sandboxes were removed (the executor's cleanup after a loss)
    run_id = rows[0]["run_id"]
    left = docker_client.containers.list(all=True, filters={"label": f"swegym.run_id={run_id}"})
    assert not left, [c.name for c in left]
