"""One rollout, start to finish: sandbox → scaffold + policy → patch → evaluation → one record.

:func:`execute_rollout` is a plain function of picklable arguments so any executor (threads,
processes, Ray workers) can run it. Infrastructure failures are retried with backoff and, when
they persist, the record says ``status: "error"`` with the cause — never an agent outcome.
"""
from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from .. import retry
from ..deadline import DeadlineExceeded, deadline
from ..errors import InfrastructureError, SandboxKilled, SwegymError
from ..options import StopReason
from ..plugins import create
from ..types import EvalResult, SamplingParams, Task, Trajectory
from .config import RunConfig
from .record import RolloutKey, RolloutRecord


@dataclass
class RolloutRequest:
    """What an executor ships to a worker."""

    config: RunConfig
    task: Task
    sample_index: int
    run_id: str


_runtimes: dict[tuple, Any] = {}
_runtimes_lock = threading.Lock()


def _runtime(config: RunConfig, run_id: str) -> Any:
    """One runtime (one daemon client) per process and option set."""
    key = (config.runtime, repr(sorted(config.runtime_options.items())), run_id)
    with _runtimes_lock:
        if key not in _runtimes:
            _runtimes[key] = create("runtime", config.runtime, run_id=run_id, **config.runtime_options)
        return _runtimes[key]


def _is_infrastructure(exc: BaseException) -> bool:
    from ..harness import is_infrastructure

    return isinstance(exc, InfrastructureError) or is_infrastructure(exc)


def _cause(exc: BaseException) -> str:
    """What an error row keeps: the message (with the URL the policy names), not just the class."""
    message = f"{type(exc).__name__}: {exc}"
    cause = getattr(exc, "cause", None)
    if cause and cause not in message:
        message = f"{message} ({cause})"
    return message[:4000]


def _policy(config: RunConfig, task: Task) -> Any:
    """The policy of one rollout: plugins may add per-task options (``policy_task_options``)."""
    from ..plugins import get_registry

    options: dict[str, Any] = {}
    for extra in get_registry().pm.hook.policy_task_options(policy=config.policy, task=task):
        options.update(extra or {})
    options.update(config.policy_options)
    return create("policy", config.policy, **options)


def _rollout_once(request: RolloutRequest, timings: dict[str, float], sampling: SamplingParams) -> Trajectory:
    config, task = request.config, request.task
    runtime = _runtime(config, request.run_id)
    t0 = time.perf_counter()
    runtime.ensure_image(task)
    timings["image_s"] = time.perf_counter() - t0
    policy = _policy(config, task)
    scaffold = create("scaffold", config.scaffold, **config.scaffold_options)
    t0 = time.perf_counter()
    sandbox = runtime.open(task, network=config.network, run_id=request.run_id)
    timings["sandbox_s"] = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        with deadline(config.rollout_timeout):
            trajectory = scaffold.run(task, sandbox, policy, sampling)
        timings["agent_s"] = time.perf_counter() - t0
    finally:
        sandbox.close()
    reason = StopReason.parse(trajectory.stop_reason)  # one word per cause, whatever the scaffold says
    trajectory.stop_reason = getattr(reason, "value", reason)
    return trajectory


def execute_rollout(request: RolloutRequest) -> RolloutRecord:
    """Run one rollout and its evaluation; always returns a record (status ``error`` on failure)."""
    config, task = request.config, request.task
    sampling = config.sampling_for(task.instance_id, request.sample_index)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    attempts: list[str] = []
    trajectory: Trajectory | None = None
    failure: str | None = None
    killed: SandboxKilled | None = None

    def once() -> Trajectory:
        try:
            return _rollout_once(request, timings, sampling)
        except SwegymError:
            raise  # a usage error (unknown plugin, bad option) stops the run
        except (SandboxKilled, DeadlineExceeded) as exc:
            attempts.append(exc.cause)
            raise
        except Exception as exc:  # noqa: BLE001 - classified by _retryable
            attempts.append(_cause(exc))
            raise

    with retry.budget(config.retry_budget):  # every layer below spends this rollout's budget
        try:
            trajectory = retry.call(once, retry_on=_retryable, attempts=config.infra_retries + 1,
                                    wait=lambda n, _exc: config.retry_backoff_s * (2 ** n))
        except SwegymError:
            raise
        except SandboxKilled as exc:  # the agent's commands broke its own sandbox: its outcome
            killed = exc
        except DeadlineExceeded as exc:  # retrying would spend the whole budget again
            failure = f"infrastructure: {exc} ({exc.cause})"
        except retry.RetriesExhausted as gave_up:
            spent = " (the rollout's retry budget is spent)" if gave_up.reason == "budget" else ""
            failure = f"infrastructure: {attempts[-1]}{spent}"
        except Exception:  # noqa: BLE001 - the scaffold crashed: the agent's outcome, not retried
            failure = f"scaffold crashed: {attempts[-1]}\n{traceback.format_exc()}"
        record = _finish(request, trajectory, killed, failure, timings, attempts, sampling)
    timings["total_s"] = time.perf_counter() - started
    return record


def _retryable(exc: BaseException) -> bool:
    """Infrastructure failures are retried; a killed sandbox or a spent deadline is not."""
    return _is_infrastructure(exc) and not isinstance(exc, (SandboxKilled, DeadlineExceeded))


def _finish(request: RolloutRequest, trajectory: Trajectory | None, killed: SandboxKilled | None,
            failure: str | None, timings: dict[str, float], attempts: list[str],
            sampling: SamplingParams) -> RolloutRecord:
    """Evaluate what the rollout produced (or record why it produced nothing)."""
    config, task = request.config, request.task
    if killed is not None:
        trajectory = Trajectory(instance_id=task.instance_id, scaffold=config.scaffold,
                                stop_reason="sandbox_killed", metadata={})
        evaluation = EvalResult(task.instance_id, "unresolved", error=f"{killed.reason}: {killed}",
                                details={"stage": "rollout", "reason": killed.reason})
    elif trajectory is None:
        trajectory = Trajectory(instance_id=task.instance_id, scaffold=config.scaffold,
                                stop_reason="error", metadata={})
        evaluation = EvalResult(task.instance_id, "error", error=failure, details={"stage": "rollout"})
    elif config.evaluate:
        from ..harness import evaluate

        t0 = time.perf_counter()
        evaluation = evaluate(task, trajectory.patch, _runtime(config, request.run_id), timeout=config.eval_timeout,
                              retries=config.infra_retries, run_id=request.run_id,
                              strict_grading=config.strict_grading)
        timings["eval_s"] = time.perf_counter() - t0
    else:
        evaluation = None
    trajectory.run_id = trajectory.run_id or request.run_id
    trajectory.scaffold = trajectory.scaffold or config.scaffold
    return RolloutRecord(key=RolloutKey(task.instance_id, request.sample_index), trajectory=trajectory,
                         evaluation=evaluation, timings=timings, attempts=attempts, repo=task.repo,
                         policy=config.policy, sampling=dataclasses.asdict(sampling))
