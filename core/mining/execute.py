"""Run a candidate's tests before and after its fix, twice each, and derive FAIL_TO_PASS / PASS_TO_PASS.

The runs go through the evaluation harness (:func:`swegym.harness.evaluate`): the same sandbox
set-up, test-file directives (the files of ``test_patch``), test command and log parser that
grade the task later, so a mined task is graded by what mined it. "Before" is base +
test_patch, "after" is base + test_patch + patch.

The rule (SWE-bench's validation, plus a repeat to catch flakes): a test whose status differs
between the two identical runs of either side is flaky and left out; FAIL_TO_PASS = passing
after and not passing before (failed, errored or absent: a new test that does not even collect)
in both runs; PASS_TO_PASS = passing in all four runs.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..harness.parsers import PASSED, XFAIL
from ..types import EvalResult, Task

PASSING = (PASSED, XFAIL)
MISSING = "MISSING"


@dataclass
class TestOutcome:
    fail_to_pass: list[str] = field(default_factory=list)
    pass_to_pass: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)
    passing_after: int = 0


def classify_tests(before: Sequence[dict[str, str]], after: Sequence[dict[str, str]]) -> TestOutcome:
    """Apply the rule above to the status maps of the repeated runs (order follows the last after-log)."""
    names = list(dict.fromkeys(n for run in [*after, *before] for n in run))
    out = TestOutcome()
    for name in names:
        b = [run.get(name, MISSING) for run in before]
        a = [run.get(name, MISSING) for run in after]
        if len(set(b)) > 1 or len(set(a)) > 1:
            out.flaky.append(name)
            continue
        a_pass, b_pass = a[0] in PASSING, b[0] in PASSING
        out.passing_after += a_pass
        if a_pass and b_pass:
            out.pass_to_pass.append(name)
        elif a_pass:
            out.fail_to_pass.append(name)
    return out


@dataclass
class Execution:
    """What running one candidate produced."""

    outcome: TestOutcome | None
    build_s: float
    test_s: float
    drop_reason: str | None = None
    infrastructure: bool = False
    statuses: list[str] = field(default_factory=list)


def probe_task(task: Task) -> Task:
    """The task with empty test lists: the harness then reports every parsed test's status."""
    return dataclasses.replace(task, FAIL_TO_PASS=[], PASS_TO_PASS=[], extra=dict(task.extra))


def execute(task: Task, runtime: Any, *, repeats: int = 2, timeout: float = 1800, retries: int = 1,
            spec_file: str | None = None, run_id: str | None = None, log_dir: Path | None = None) -> Execution:
    """Build the environment, run before/after ``repeats`` times each, classify; drop with a reason on failure."""
    from ..errors import SwegymError
    from ..harness import evaluate
    from ..harness.testspec import directives_for

    if not directives_for(task):
        return Execution(None, 0.0, 0.0, "test_patch has no test files to run")
    t0 = time.perf_counter()
    try:
        if hasattr(runtime, "ensure_image"):
            runtime.ensure_image(task)
    except SwegymError as exc:
        return Execution(None, time.perf_counter() - t0, 0.0, f"environment build failed: {exc}", infrastructure=False)
    except Exception as exc:  # noqa: BLE001 - any build failure is reported with the candidate
        return Execution(None, time.perf_counter() - t0, 0.0, f"environment build failed: {type(exc).__name__}: {exc}",
                         infrastructure=True)
    build_s = time.perf_counter() - t0
    probe = probe_task(task)
    runs: dict[str, list[EvalResult]] = {"before": [], "after": []}
    test_s = 0.0
    for _ in range(repeats):
        for side, patch in (("before", None), ("after", task.patch)):
            res = evaluate(probe, patch, runtime, timeout=timeout, retries=retries, run_empty=True,
                           spec_file=spec_file, run_id=run_id)
            test_s += res.test_duration_s or 0.0
            runs[side].append(res)
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                (log_dir / f"{side}-{len(runs[side])}.log").write_text(res.log, encoding="utf-8", errors="replace")
            bad = _failed_run(side, res)
            if bad:
                return Execution(None, build_s, test_s, bad, infrastructure=res.status == "error",
                                 statuses=[r.status for rs in runs.values() for r in rs])
    outcome = classify_tests([r.tests for r in runs["before"]], [r.tests for r in runs["after"]])
    return Execution(outcome, build_s, test_s, statuses=[r.status for rs in runs.values() for r in rs])


def _failed_run(side: str, res: EvalResult) -> str | None:
    if res.status == "error":
        return f"infrastructure error on the {side} run: {res.error}"
    if res.status == "patch_apply_failed":
        return "the patch does not apply on base_commit + test_patch"
    if res.status == "test_timeout":
        return f"tests timed out on the {side} run"
    if side == "after" and not res.tests:
        return f"no test results parsed on the {side} run (exit {res.details.get('test_exit_code')})"
    return None


__all__ = ["classify_tests", "TestOutcome", "Execution", "execute", "probe_task", "MISSING"]
