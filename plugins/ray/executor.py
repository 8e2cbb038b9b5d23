"""Ray executor: a pool of rollout worker actors spread over the cluster's nodes.

Why actors, not tasks: a worker is a long-lived process, so what a policy loads per process (the
hf plugin's model, litellm's client) is loaded once per worker, not once per rollout.

Placement: each actor holds one unit of the custom resource ``swegym_sandbox``. Nodes advertise
how many sandboxes they may run at once (``ray start --resources '{"swegym_sandbox": 8}'``; for a
local cluster started here, ``max_sandboxes_per_node``, default ``workers``), so Ray never puts
more containers on a node than it can hold; ``SPREAD`` scheduling spreads the pool over nodes.

Failures: a worker whose process or node dies (``RayActorError``, node lost) loses only its
current rollout; the driver reruns that rollout on another worker and records the loss in the
record's ``infrastructure_attempts``. After ``max_reruns`` losses the rollout becomes an ``error``
row. Records come back to the driver, which alone writes the run directory: no row is lost and
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
from swegym.interfaces import Executor

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
    from swegym.plugins import create

    config = request.config
    runtime = create("runtime", config.runtime, run_id=request.run_id, **config.runtime_options)
    try:
        return runtime.cleanup(request.run_id)
    finally:
        runtime.close()


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
    """Options: ``workers`` (pool size), ``address`` (a running cluster; default: start one here with
    ``max_sandboxes_per_node`` slots), ``num_cpus`` per worker, ``max_reruns`` of a rollout whose
    worker died, ``forward_env`` (more variable names to forward), ``placement_timeout_s`` (how long
    queued rollouts wait for a node to host a worker when none is running), ``runtime_env``
    (without ``env_vars``)."""

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
                    # address="local": start a fresh instance, never attach to another cluster that
                    # happens to run on this machine (ray.init() alone would join the newest one)
                    ray.init(address="local", resources={SANDBOX_RESOURCE: slots}, num_cpus=cpus, **kwargs)
                    self._started_here = True
            except Exception as exc:  # noqa: BLE001
                raise InfrastructureError(f"could not start or reach Ray ({address or 'local'}): {exc}") from exc
        self.capacity = int(ray.cluster_resources().get(SANDBOX_RESOURCE, 0))
        if not self.capacity:
            raise SwegymError(
                f"the Ray cluster advertises no '{SANDBOX_RESOURCE}' resource; start its nodes with "
                f"`ray start ... --resources '{{\"{SANDBOX_RESOURCE}\": N}}'` (N = containers a node may run)")

    # -- the pool -------------------------------------------------------------------------------
    def map_unordered(self, fn: Callable[[Any], Any], requests: Iterable[Any]) -> Iterator[Any]:
        from ray.exceptions import RayError, RayTaskError

        queue = collections.deque(_Job(r) for r in requests)
        if not queue:
            return
        pool = _Pool(self, fn, env_rule.forwarded(extra=self.forward_env))
        for _ in range(min(self.workers, len(queue))):
            pool.start()
        try:
            while queue or pool.running:
                pool.dispatch(queue)
                ref = pool.wait_one(self.placement_timeout_s, len(queue))
                if ref in pool.starting:
                    pool.started(ref)
                    continue
                slot, job = pool.running.pop(ref)
                try:
                    result, started, finished = self.ray.get(ref)
                except RayTaskError as exc:  # fn raised (a usage error): stop the run, as locally
                    raise exc.as_instanceof_cause() from None
                except RayError as exc:  # the worker process or its node died
                    record = self._lost(pool, slot, job, exc)
                    if record is None:
                        queue.appendleft(job)
                    else:
                        yield record
                    continue
                pool.idle.append(slot)
                yield _annotate(result, job, slot, started, finished)
        finally:
            pool.close()
            self._cleanup(pool.lost_runs)

    def _lost(self, pool: "_Pool", slot: _Slot, job: _Job, exc: Exception) -> Any:
        """Note a worker lost mid-rollout; start another; None: rerun the job, else its error record."""
        self.stats["workers_lost"] += 1
        _kill(self.ray, slot.actor)
        job.losses.append(f"{LOST_PREFIX} on node {str(slot.where.get('node', '?'))[:12]} "
                          f"(pid {slot.where.get('pid', '?')}): {type(exc).__name__}")
        run_id = getattr(job.request, "run_id", None)
        if run_id and hasattr(job.request, "config"):
            pool.lost_runs.setdefault(run_id, job.request)
        rerun = len(job.losses) <= self.max_reruns
        print(f"swegym: {job.losses[-1]}; {'rerunning it elsewhere' if rerun else 'giving up'}", file=sys.stderr)
        pool.start()
        if rerun:
            self.stats["reruns"] += 1
            return None
        self.stats["lost_rows"] += 1
        return lost_record(job.request, job.losses)

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


class _Pool:
    """The worker actors of one ``map_unordered`` call: starting, idle, and running one job each."""

    def __init__(self, executor: RayExecutor, fn: Callable[[Any], Any], env: dict[str, str]) -> None:
        self.ex, self.ray = executor, executor.ray
        self.fn, self.env = fn, env
        if executor._actor_class is None:
            executor._actor_class = self.ray.remote(RolloutWorker)
        self.starting: dict[Any, _Slot] = {}
        self.running: dict[Any, tuple[_Slot, _Job]] = {}
        self.idle: list[_Slot] = []
        self.lost_runs: dict[str, Any] = {}
        self.failed_starts = 0
        self._next = 0

    def start(self) -> None:
        """Ask for one more worker: one sandbox slot, anywhere in the cluster (spread over nodes)."""
        ex = self.ex
        actor = ex._actor_class.options(num_cpus=ex.num_cpus, resources={SANDBOX_RESOURCE: 1}, max_restarts=0,
                                        max_task_retries=0, scheduling_strategy="SPREAD").remote(self.fn, self.env)
        slot = _Slot(self._next, actor)
        self._next += 1
        ex.stats["workers_started"] += 1
        self.starting[actor.ready.remote()] = slot

    def started(self, ref: Any) -> None:
        """A worker answered (ready) or died before it could: keep it, or start another (bounded)."""
        from ray.exceptions import RayError

        slot = self.starting.pop(ref)
        try:
            slot.where = self.ray.get(ref)
        except RayError as exc:  # its node went away, or its constructor failed
            self.ex.stats["workers_lost"] += 1
            self.failed_starts += 1
            if self.failed_starts > 2 * self.ex.workers + self.ex.max_reruns:
                raise InfrastructureError(f"Ray rollout workers keep dying before they start "
                                          f"({self.failed_starts} times); last: {exc}") from None
            self.start()
            return
        self.idle.append(slot)

    def dispatch(self, queue: "collections.deque[_Job]") -> None:
        while self.idle and queue:
            slot, job = self.idle.pop(), queue.popleft()
            self.running[slot.actor.run.remote(job.request)] = (slot, job)

    def wait_one(self, placement_timeout_s: float, queued: int) -> Any:
        """The next finished call (a rollout or a worker start); waits for placement at most so long."""
        waitables = list(self.running) + list(self.starting)
        if not waitables:
            raise InfrastructureError("no Ray rollout worker is left and none is starting")
        done, _ = self.ray.wait(waitables, num_returns=1, timeout=None if self.running else placement_timeout_s)
        if not done:
            raise InfrastructureError(
                f"no Ray node could host a rollout worker within {placement_timeout_s:.0f}s ({queued} rollout(s) "
                f"left; cluster '{SANDBOX_RESOURCE}' total: {self.ray.cluster_resources().get(SANDBOX_RESOURCE, 0)})")
        return done[0]

    def close(self) -> None:
        for slot in [*self.idle, *self.starting.values(), *(s for s, _ in self.running.values())]:
            _kill(self.ray, slot.actor)


def _kill(ray: Any, actor: Any) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # noqa: BLE001 - already gone
        pass


def _annotate(result: Any, job: _Job, slot: _Slot, started: float, finished: float) -> Any:
    """Say where a rollout ran (``metadata.rollout.placement``) and put its lost attempts first."""
    from swegym.orchestration.record import RolloutRecord

    if not isinstance(result, RolloutRecord):
        return result
    result.placement = {"executor": "ray", "node": str(slot.where.get("node", ""))[:12], "worker": slot.index,
                        "pid": slot.where.get("pid"), "started": round(started, 3), "finished": round(finished, 3)}
    if job.losses:
        result.attempts = job.losses + list(result.attempts)
    return result


def lost_record(request: Any, losses: list[str]) -> Any:
    """The ``error`` record of a rollout whose workers kept dying (an infrastructure error, not an outcome)."""
    from swegym.orchestration.record import RolloutKey, RolloutRecord
    from swegym.types import EvalResult, Trajectory

    task, config = getattr(request, "task", None), getattr(request, "config", None)
    if task is None or config is None:
        raise InfrastructureError(f"a Ray worker died running {request!r}: {losses[-1]}")
    reason = f"infrastructure: {losses[-1]} ({len(losses)} time(s))"
    trajectory = Trajectory(instance_id=task.instance_id, scaffold=config.scaffold, stop_reason="error",
                            run_id=request.run_id, metadata={})
    evaluation = EvalResult(task.instance_id, "error", error=reason, details={"stage": "rollout"})
    return RolloutRecord(key=RolloutKey(task.instance_id, request.sample_index), trajectory=trajectory,
                         evaluation=evaluation, attempts=list(losses), repo=task.repo, policy=config.policy)
