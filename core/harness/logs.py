"""Re-grading a whole evaluation log (``logs/<id>/test_output.txt``) the way SWE-bench reads one.

Why: a log written by ``swegym eval`` / ``swegym run`` (or by SWE-bench's harness) can be graded
again later, by swegym or by ``swebench.harness.grading.get_logs_eval``, with the same verdict. The
rules are SWE-bench 5's: a log holding one of the failure markers (patch apply failed, reset
failed, tests errored, tests timed out) or lacking the start/end markers grades nothing; the
parser reads the text between ``>>>>> Start Test Output`` and ``>>>>> End Test Output`` (the
whole log when that part yields no test); the exit status after ``>>>>> Test Exit Code:`` is
cross-checked as in :func:`swegym.harness.grading.is_trusted`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .grading import Grade, grade
from .parsers import get_parser

APPLY_PATCH_FAIL = ">>>>> Patch Apply Failed"
APPLY_PATCH_PASS = ">>>>> Applied Patch"
RESET_FAILED = ">>>>> Reset Failed"
TESTS_ERROR = ">>>>> Tests Errored"
TESTS_TIMEOUT = ">>>>> Tests Timed Out"
START_TEST_OUTPUT = ">>>>> Start Test Output"
END_TEST_OUTPUT = ">>>>> End Test Output"
TEST_EXIT_CODE = ">>>>> Test Exit Code"
BAD_MARKERS = (APPLY_PATCH_FAIL, RESET_FAILED, TESTS_ERROR, TESTS_TIMEOUT)
_EXIT_CODE = re.compile(rf"{re.escape(TEST_EXIT_CODE)}:\s*(-?\d+)")


@dataclass
class LogReading:
    """What a whole log says: the parsed tests (None when the log grades nothing) and why."""

    status_map: dict[str, str] | None
    exit_code: int | None
    reason: str | None = None


def recorded_exit_code(log: str) -> int | None:
    m = _EXIT_CODE.search(log)
    return int(m.group(1)) if m else None


def read_log(repo: str, log: str, parser: str | None = None) -> LogReading:
    """Parse the test section of a full evaluation log (see the module docstring)."""
    log = log.replace("\r\n", "\n")
    exit_code = recorded_exit_code(log)
    bad = [m for m in BAD_MARKERS if m in log]
    if bad:
        return LogReading(None, exit_code, f"log says {bad[0]!r}")
    if START_TEST_OUTPUT not in log or END_TEST_OUTPUT not in log:
        return LogReading(None, exit_code, "no test output markers in the log")
    parse = get_parser(repo, parser)
    section = log.split(START_TEST_OUTPUT)[1].split(END_TEST_OUTPUT)[0]
    status_map = parse(section) or parse(log)
    return LogReading(status_map, exit_code)


def grade_log(repo: str, log: str, fail_to_pass: Iterable[str], pass_to_pass: Iterable[str],
              parser: str | None = None) -> Grade:
    """Grade a full evaluation log; a log that grades nothing is unresolved (``trusted`` False)."""
    reading = read_log(repo, log, parser)
    if reading.status_map is None:
        g = grade({}, fail_to_pass, pass_to_pass)
        g.trusted = False
        g.resolution = "NO"
        return g
    return grade(reading.status_map, fail_to_pass, pass_to_pass, exit_code=reading.exit_code)


__all__ = ["LogReading", "read_log", "grade_log", "recorded_exit_code", "START_TEST_OUTPUT", "END_TEST_OUTPUT",
           "TEST_EXIT_CODE", "BAD_MARKERS"]
