"""Ray executor: a pool of rollout worker actors spread over the cluster's nodes.

Why actors, not tasks: a worker is a long-lived process, so what a policy loads per process (the
hf plugin's model, litellm's client) is loaded once per worker, not once per rollout.

Placement: each actor holds one unit of the custom resource ``swegym_sandbox``. Nodes advertise
how many sandboxes they may run at once (``ray start --resources '{"swegym_sandbox": 8}'``; for a
local cluster started here, ``max_sandboxes_per_node``, default ``workers``), so Ray never puts
more containers on a node than it can hold; ``SPREAD`` scheduling spreads the pool over nodes.

Failures: a worker whose process or node dies (``RayActorError``, node lost) loses only its
current rollout; the driver reruns that rollout on another worker and records the loss in the
row's ``infrastructure_attempts``. After ``max_reruns`` losses the rollout becomes an ``error``
row. Rows come back to the driver, which alone writes the run directory: no row is lost and
none is written twice.

Secrets: see :mod:`.env` (constructor arguments, never ``runtime_env``).
"""
from __future__ import annotations

import collections
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from swegym.errors import InfrastructureError, SwegymError
from swegym.orchestration.executors import Executor

from . import env as env_rule

SANDBOX_RESOURCE = "swegym_sandbox"
LOST_PREFIX = "ray: rollout worker lost"


class RolloutWorker:
    """One sandbox slot: runs ``fn(request)`` one at a time in a long-lived process."""

    def __init__(self, fn: Callable[[Any], Any], env: dict[str, str]) -> None:
        env_rule.apply(env)  # before any plugin reads the environment
        import ray

        self.fn = fn
        self.where = {"node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                      "pid": os.getpid()}

    def ready(self) -> dict[str, Any]:
        return self.where

    def run(self, request: Any) -> tuple[Any, float, float]:
        started = time.time()
        result = self.fn(request)
        return result, started, time.time()


def cleanup_lost(request: Any) -> int:
    """Remove the sandboxes of ``request``'s run whose owner process died (a lost worker's)."""
    from swegym.orchestration.rollout import _runtime

    return _runtime(request.config, request.run_id).cleanup(request.run_id)


@dataclass
class _Job:
    request: Any
    losses: list[str] = field(default_factory=list)


@dataclass
class _Slot:
    index: int
    actor: Any
    where: dict[str, Any] = field(default_factory=dict)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int = 4, address: str | None = None, num_cpus: float = 0.5,
                 max_sandboxes_per_node: int | None = None, runtime_env: dict[str, Any] | None = None,
                 max_reruns: int = 2, forward_env: Iterable[str] = (), placement_timeout_s: float = 300.0) -> None:
        try:
            import ray
        except ImportError:
            raise SwegymError("the ray executor needs ray: pip install 'swegym[ray]'") from None
        if runtime_env and "env_vars" in runtime_env:
            raise SwegymError("ray executor: runtime_env env_vars would be written to Ray's logs; name the "
                              "variables with forward_env=[...] instead")
        self.ray = ray
        self.workers = max(1, int(workers))
        self.num_cpus = num_cpus
        self.max_reruns = max(0, int(max_reruns))
        self.forward_env = tuple(forward_env)
        self.placement_timeout_s = placement_timeout_s
        #: What happened to workers in this executor's life: shown on stderr, read by tests/benchmarks.
        self.stats: dict[str, int] = {"workers_started": 0, "workers_lost": 0, "reruns": 0, "lost_rows": 0}
        self._started_here = False
        self._actor_class: Any = None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
            if runtime_env:
                kwargs["runtime_env"] = runtime_env
            try:
                if address:
                    ray.init(address=address, **kwargs)
                else:
                    slots = max_sandboxes_per_node or self.workers
                    cpus = max(2, os.cpu_count() or 2, int(slots * num_cpus + 0.999))  # every slot fits
                    ray.init(resources={SANDBOX_RESOURCE: slots}, num_cpus=cpus, **kwargs)
                    self._started_here = True
            except Exception as exc:  # noqa: BLE001
                raise InfrastructureError(f"could not start or reach Ray ({address or 'local'}): {exc}") from exc
        self.capacity = int(ray.cluster_resources().get(SANDBOX_RESOURCE, 0))
        if not self.capacity:
            raise SwegymError(
                f"the Ray cluster advertises no '{SANDBOX_RESOURCE}' resource; start its nodes with "
                f"`ray start ... --resources '{{\"{SANDBOX_RESOURCE}\": N}}'` (N = containers a node may run)")

    # -- the pool -------------------------------------------------------------------------------
    def _start(self, fn: Callable[[Any], Any], env: dict[str, str], index: int) -> tuple[Any, _Slot]:
        if self._actor_class is None:
            self._actor_class = self.ray.remote(RolloutWorker)
        remote = self._actor_class.options(num_cpus=self.num_cpus, resources={SANDBOX_RESOURCE: 1}, max_restarts=0,
                                           max_task_retries=0, scheduling_strategy="SPREAD")
        slot = _Slot(index, remote.remote(fn, env))
        self.stats["workers_started"] += 1
        return slot.actor.ready.remote(), slot

    def map_unordered(self, fn: Callable[[Any], Any], requests: Iterable[Any]) -> Iterator[Any]:
        ray = self.ray
        from ray.exceptions import RayError, RayTaskError

        queue = collections.deque(_Job(r) for r in requests)
        if not queue:
            return
        env = env_rule.forwarded(extra=self.forward_env)
        size = min(self.workers, len(queue))
        starting: dict[Any, _Slot] = {}
        running: dict[Any, tuple[_Slot, _Job]] = {}
        idle: list[_Slot] = []
        lost_runs: dict[str, Any] = {}
        for i in range(size):
            ref, slot = self._start(fn, env, i)
            starting[ref] = slot
        next_index = size
        try:
            while queue or running:
                while idle and queue:
                    slot, job = idle.pop(), queue.popleft()
                    running[slot.actor.run.remote(job.request)] = (slot, job)
                waitables = list(running) + list(starting)
                done, _ = ray.wait(waitables, num_returns=1, timeout=None if running else self.placement_timeout_s)
                if not done:
                    raise InfrastructureError(
                        f"no Ray node could host a rollout worker within {self.placement_timeout_s:.0f}s "
                        f"({len(queue)} rollout(s) left; cluster '{SANDBOX_RESOURCE}' total: "
                        f"{ray.cluster_resources().get(SANDBOX_RESOURCE, 0)})")
                ref = done[0]
                if ref in starting:
                    slot = starting.pop(ref)
                    try:
                        slot.where = ray.get(ref)
                        idle.append(slot)
                    except RayTaskError as exc:  # the worker's constructor raised: a real error
                        raise exc.as_instanceof_cause() from None
                    except RayError:  # its node went away before it started: start another
                        self.stats["workers_lost"] += 1
                        ref, slot = self._start(fn, env, next_index)
                        starting[ref] = slot
                        next_index += 1
                    continue
                slot, job = running.pop(ref)
                try:
                    result, started, finished = ray.get(ref)
                except RayTaskError as exc:  # fn raised (a usage error): stop the run, as locally
                    raise exc.as_instanceof_cause() from None
                except RayError as exc:  # the worker process or its node died
                    self.stats["workers_lost"] += 1
                    _kill(ray, slot.actor)
                    job.losses.append(f"{LOST_PREFIX} on node {str(slot.where.get('node', '?'))[:12]} "
                                      f"(pid {slot.where.get('pid', '?')}): {type(exc).__name__}")
                    run_id = getattr(job.request, "run_id", None)
                    if run_id and hasattr(job.request, "config"):
                        lost_runs.setdefault(run_id, job.request)
                    print(f"swegym: {job.losses[-1]}; "
                          + ("rerunning it elsewhere" if len(job.losses) <= self.max_reruns else "giving up"),
                          file=sys.stderr)
                    new_ref, new_slot = self._start(fn, env, next_index)
                    starting[new_ref] = new_slot
                    next_index += 1
                    if len(job.losses) <= self.max_reruns:
                        self.stats["reruns"] += 1
                        queue.appendleft(job)
                    else:
                        self.stats["lost_rows"] += 1
                        yield lost_row(job.request, job.losses)
                    continue
                idle.append(slot)
                yield _annotate(result, job, slot, started, finished)
        finally:
            for slot in [*idle, *starting.values(), *(s for s, _ in running.values())]:
                _kill(ray, slot.actor)
            self._cleanup(lost_runs)

    def _cleanup(self, lost_runs: dict[str, Any]) -> None:
        """Remove sandboxes that lost workers left behind (best effort; a resume removes the rest)."""
        if not lost_runs:
            return
        task = self.ray.remote(num_cpus=0)(cleanup_lost)
        refs = [task.remote(req) for req in lost_runs.values()]
        try:
            removed = sum(self.ray.get(refs, timeout=120))
            if removed:
                print(f"swegym: removed {removed} sandbox(es) left by lost Ray workers", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - cleanup never fails the run
            print(f"swegym: could not remove sandboxes of lost Ray workers: {exc}", file=sys.stderr)

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()


def _kill(ray: Any, actor: Any) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # noqa: BLE001 - already gone
        pass


def _annotate(result: Any, job: _Job, slot: _Slot, started: float, finished: float) -> Any:
    """Say where a row ran (``metadata.executor``) and add lost attempts to its infrastructure attempts."""
    meta = result.get("metadata") if isinstance(result, dict) else None
    if not isinstance(meta, dict):
        return result
    meta["executor"] = {"name": "ray", "node": str(slot.where.get("node", ""))[:12], "worker": slot.index,
                        "pid": slot.where.get("pid"), "started": round(started, 3), "finished": round(finished, 3)}
    if job.losses:
        meta["infrastructure_attempts"] = job.losses + list(meta.get("infrastructure_attempts") or [])
    return result


def lost_row(request: Any, losses: list[str]) -> dict[str, Any]:
    """The ``error`` row of a rollout whose workers kept dying (an infrastructure error, not an outcome)."""
    from swegym.types import EvalResult, Trajectory

    task, config = getattr(request, "task", None), getattr(request, "config", None)
    if task is None or config is None:
        raise InfrastructureError(f"a Ray worker died running {request!r}: {losses[-1]}")
    reason = f"infrastructure: {losses[-1]} ({len(losses)} time(s))"
    trajectory = Trajectory(instance_id=task.instance_id, scaffold=config.scaffold, stop_reason="error",
                            run_id=request.run_id,
                            metadata={"instance_id": task.instance_id, "repo": task.repo,
                                      "sample_index": request.sample_index, "policy": config.policy,
                                      "infrastructure_attempts": list(losses)})
    row = trajectory.to_dict()
    evaluation = EvalResult(task.instance_id, "error", error=reason, details={"stage": "rollout"})
    row["evaluation"] = evaluation.to_dict(include_log=True)
    row["resolved"] = False
    row["status"] = "error"
    return row
