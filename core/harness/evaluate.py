"""Evaluate one (task, patch) in a fresh sandbox, SWE-bench style, and grade it.

Steps: open a sandbox from the task's image with the network off; apply the model patch (the
SWE-bench fallbacks, ending with ``patch --fuzz``); reset the files the test patch modifies to
base_commit; apply the test patch; run the test command under a timeout; parse; grade.

Why the care about errors: an infrastructure failure (daemon gone, image missing, OOM kill) says
nothing about the patch, so it becomes status ``error`` after ``retries`` retries with backoff,
never ``unresolved``. Nothing here imports docker: the Runtime is passed in.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from .. import retry
from ..errors import InfrastructureError, SandboxKilled, SwegymError
from ..files import SAFE_ERRORS
from ..interfaces import Runtime, Sandbox
from ..types import CommandResult, EvalResult, Task
from .grading import grade
from .parsers import get_parser
from .testspec import APPLY_COMMANDS, EvalSpec, make_eval_spec

PATCH_PATH = "/tmp/swegym_model.patch"
TEST_PATCH_PATH = "/tmp/swegym_test.patch"
SETUP_TIMEOUT = 300.0
OUTPUT_LIMIT = 50_000_000  # the parser needs the whole log; the sandbox clips above this
OOM_EXIT_CODES = (137,)  # SIGKILL without a timeout: the sandbox's OOM killer (or the tests themselves)
_INFRA_MODULES = ("docker", "requests", "urllib3", "http", "socket", "ssl")


class _Step:
    """Collects what each step printed into one log, in SWE-bench's ``+ command`` style."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.parts: list[str] = []

    def run(self, command: str, timeout: float, *, check: bool = False) -> CommandResult:
        self.parts.append(f"+ {command}\n")
        res = self.sandbox.run(f"cd {self.sandbox.repo_dir or '/testbed'} && {command}", timeout=timeout,
                               output_limit=OUTPUT_LIMIT)
        self.parts.append(res.output if res.output.endswith("\n") or not res.output else res.output + "\n")
        if check and (res.exit_code != 0 or res.timed_out):
            raise InfrastructureError(f"setup command failed (exit {res.exit_code}): {command}",
                                      cause=f"`{command}` exited {res.exit_code}: {res.output[-500:]}")
        return res

    def write(self, path: str, content: str) -> None:
        """Write a file through the sandbox's file API.

        SAFE_ERRORS: a model's lone surrogate must not turn its patch into a harness error.
        """
        safe = content.encode("utf-8", SAFE_ERRORS).decode("utf-8", "surrogateescape")
        try:
            self.sandbox.write_file(path, safe)
        except OSError as exc:
            raise InfrastructureError(f"could not write {path} in the sandbox", cause=str(exc)) from exc

    def note(self, text: str) -> None:
        self.parts.append(text if text.endswith("\n") else text + "\n")

    @property
    def log(self) -> str:
        return "".join(self.parts)


def _with_newline(patch: str) -> str:
    return patch if patch.endswith("\n") else patch + "\n"


def is_infrastructure(exc: BaseException) -> bool:
    """Errors from the daemon, the network to it, or the OS: retried, never blamed on the patch."""
    if isinstance(exc, SandboxKilled):
        return False  # broken from inside: the agent's or the patch's doing
    if isinstance(exc, (InfrastructureError, OSError, ConnectionError, TimeoutError)):
        return True
    module = type(exc).__module__.split(".")[0]
    return module in _INFRA_MODULES


def _killed(task: Task, step: "_Step", started: float, reason: str, message: str) -> EvalResult:
    """The patch's code broke the sandbox (memory, killed shell): graded unresolved, with the reason."""
    step.note(f">>>>> Sandbox killed by the patch's tests ({reason}): {message}")
    return EvalResult(task.instance_id, "unresolved", log=step.log, duration_s=time.perf_counter() - started,
                      error=f"{reason}: {message}", details={"reason": reason})


def _run_once(task: Task, patch: str | None, runtime: Runtime, spec: EvalSpec, timeout: float,
              run_id: str | None, opener: Callable[[], Sandbox] | None = None) -> EvalResult:
    started = time.perf_counter()
    sandbox = opener() if opener else runtime.open(task, network=None, run_id=run_id)  # the runtime's setting (off unless --sandbox-network)
    step = _Step(sandbox)
    try:
        return _steps(task, patch, spec, timeout, sandbox, step, started)
    except SandboxKilled as exc:
        if patch is None:
            raise InfrastructureError(str(exc), cause=exc.cause) from exc  # nothing of the agent's ran
        return _killed(task, step, started, exc.reason, str(exc))
    finally:
        runtime.release(sandbox)


def _steps(task: Task, patch: str | None, spec: EvalSpec, timeout: float, sandbox: Sandbox, step: "_Step",
           started: float) -> EvalResult:
    opened = time.perf_counter()
    base = {"instance_id": task.instance_id}
    if patch is not None:
        step.write(PATCH_PATH, _with_newline(patch))
        applied = None
        for cmd in APPLY_COMMANDS:
            res = step.run(f"{cmd} {PATCH_PATH}", SETUP_TIMEOUT)
            if res.timed_out:
                raise InfrastructureError(f"applying the patch timed out: {cmd}")
            if res.exit_code == 0:
                applied = cmd
                break
        if applied is None:
            step.note(">>>>> Patch Apply Failed")
            return EvalResult(**base, status="patch_apply_failed", log=step.log,
                              duration_s=time.perf_counter() - started,
                              details={"apply_commands": list(APPLY_COMMANDS)})
        step.note(f">>>>> Applied Patch ({applied})")
    for line in spec.eval_commands:
        step.run(line, SETUP_TIMEOUT)
    reset = spec.reset_command(task.base_commit)
    if reset:
        step.run(reset, SETUP_TIMEOUT)  # SWE-bench does not stop here either
    if task.test_patch.strip():
        step.write(TEST_PATCH_PATH, _with_newline(task.test_patch))
        res = step.run(f"git apply -v {TEST_PATCH_PATH}", SETUP_TIMEOUT)
        if res.exit_code != 0:
            step.note(">>>>> Test patch did not apply; running the tests anyway (as SWE-bench does)")
    step.note(">>>>> Start Test Output")
    t0 = time.perf_counter()
    res = step.run(spec.test_command, timeout)
    test_time = res.duration_s or (time.perf_counter() - t0)
    step.note(">>>>> End Test Output")
    step.note(f">>>>> Test Exit Code: {res.exit_code}")  # after the end marker, as SWE-bench 5 writes it
    if res.timed_out:
        step.note(f">>>>> Tests Timed Out after {timeout:g}s")
        return EvalResult(**base, status="test_timeout", log=step.log, test_duration_s=test_time,
                          duration_s=time.perf_counter() - started,
                          error=f"test command exceeded its {timeout:g}s timeout")
    if res.exit_code < 0 or res.exit_code in OOM_EXIT_CODES:
        # The shell survived but the tests were SIGKILLed (the sandbox's memory limit) or the
        # shell was lost: the daemon is fine, so this is the patch's doing, not infrastructure.
        reason = "out_of_memory" if res.exit_code in OOM_EXIT_CODES else "sandbox_killed"
        if patch is None:
            raise InfrastructureError(f"test command was killed (exit {res.exit_code}) on the unpatched "
                                      f"repository", cause=f"killed: exit {res.exit_code}")
        return _killed(task, step, started, reason,
                       f"test command exit {res.exit_code} (SIGKILL without a timeout or shell lost)")
    parse = get_parser(task.repo, spec.parser)
    # As SWE-bench's get_logs_eval: the test section, else (nothing parsed there) the whole log.
    status_map = parse(res.output.replace("\r\n", "\n")) or parse(step.log.replace("\r\n", "\n"))
    g = grade(status_map, task.FAIL_TO_PASS, task.PASS_TO_PASS, exit_code=res.exit_code)
    details: dict[str, Any] = {"tests_status": g.to_dict(), "test_exit_code": res.exit_code,
                               "test_command": spec.test_command,
                               "timings": {"open_s": round(opened - started, 3),
                                           "setup_s": round(t0 - opened, 3),
                                           "test_s": round(test_time, 3),
                                           "grade_s": round(time.perf_counter() - t0 - test_time, 3)}}
    return EvalResult(**base, status="resolved" if g.resolved else "unresolved", tests=g.tests, log=step.log,
                      test_duration_s=test_time, duration_s=time.perf_counter() - started, details=details)


def evaluate(
    task: Task,
    patch: str | None,
    runtime: Runtime,
    *,
    timeout: float = 1800,
    retries: int = 2,
    backoff: float = 2.0,
    test_cmd: str | None = None,
    run_empty: bool = False,
    run_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    sandbox: Callable[[], Sandbox] | None = None,
    spec_file: str | None = None,
    strict_grading: bool = False,
) -> EvalResult:
    """Grade ``patch`` on ``task``; see the module docstring.

    An empty patch is ``empty_patch`` without starting anything, unless ``run_empty`` (used by
    ``swegym validate``) asks to run the tests on the unpatched repository. ``sandbox`` may hand
    the first attempt a fresh sandbox opened ahead of time (see :func:`evaluate_many`); retries
    always open a new one. ``strict_grading`` grades a patch that touches test infrastructure
    (conftest.py, sitecustomize, pytest settings; see :mod:`swegym.harness.strict`) ``unresolved``
    without running it; off by default, as in SWE-bench.
    """
    started = time.perf_counter()
    if not (patch or "").strip() and not run_empty:
        return EvalResult(task.instance_id, "empty_patch", duration_s=0.0, error=None)
    if strict_grading and (patch or "").strip():
        from .strict import test_infrastructure_files

        offending = test_infrastructure_files(patch or "", task)
        if offending:
            return EvalResult(task.instance_id, "unresolved", duration_s=0.0,
                              error=f"strict grading: the patch changes test infrastructure: {', '.join(offending)}",
                              details={"reason": "touches_test_infrastructure", "files": offending})
    spec = make_eval_spec(task, test_cmd, spec_file)
    attempts: list[str] = []
    body = patch if (patch or "").strip() else None

    def once() -> EvalResult:
        opener = sandbox if not attempts else None  # a retry always opens a new sandbox
        try:
            return _run_once(task, body, runtime, spec, timeout, run_id, opener)
        except SwegymError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified by retry_on below
            attempts.append(getattr(exc, "cause", None) or f"{type(exc).__name__}: {exc}")
            raise

    try:
        result = retry.call(once, retry_on=lambda exc: not isinstance(exc, SwegymError) and is_infrastructure(exc),
                            attempts=retries + 1, wait=lambda n, _exc: backoff * (2 ** n), sleep=sleep)
    except SwegymError:
        raise
    except retry.RetriesExhausted as gave_up:
        details: dict[str, Any] = {"attempts": attempts, "infrastructure": True}
        if gave_up.reason == "budget":
            details["retry_budget_spent"] = True
        return EvalResult(task.instance_id, "error", error=f"infrastructure: {attempts[-1]}",
                          duration_s=time.perf_counter() - started, details=details)
    except Exception:  # noqa: BLE001 - not infrastructure: the harness itself failed
        return EvalResult(task.instance_id, "error", error=f"harness error: {attempts[-1]}",
                          duration_s=time.perf_counter() - started, details={"attempts": attempts})
    result.duration_s = time.perf_counter() - started
    if attempts:
        result.details["infrastructure_retries"] = attempts
    return result


__all__ = ["evaluate", "is_infrastructure", "APPLY_COMMANDS", "PATCH_PATH", "TEST_PATCH_PATH"]
