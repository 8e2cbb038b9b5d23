"""Grading a parsed test log against a task's FAIL_TO_PASS / PASS_TO_PASS lists.

SWE-bench semantics: PASSED and XFAIL count as passing. A FAIL_TO_PASS test that failed,
errored, was skipped or is missing from the log fails; a skipped PASS_TO_PASS test is tolerated.
The task is resolved (FULL) only when every listed test passes; PARTIAL when some but not all
FAIL_TO_PASS tests pass and no PASS_TO_PASS test broke; NO otherwise. A listed name cut inside its
parametrize brackets (``test_x[log(photon``: SWE-bench Verified holds hundreds, cut at a space by
an older parser) matches the log's full names starting with it when they agree on pass/fail,
as in SWE-bench 5. A test command that exited
non-zero although no test was parsed as failing is not trusted (it crashed, or its output was
cut): such a run is never resolved.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .parsers import ERROR, FAILED, PASSED, SKIPPED, XFAIL

FULL, PARTIAL, NO = "FULL", "PARTIAL", "NO"
_PASSING = (PASSED, XFAIL)


@dataclass
class Grade:
    """The outcome of grading one log: resolution plus which listed tests succeeded or failed."""

    resolution: str
    f2p_success: list[str] = field(default_factory=list)
    f2p_failure: list[str] = field(default_factory=list)
    p2p_success: list[str] = field(default_factory=list)
    p2p_failure: list[str] = field(default_factory=list)
    p2p_skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    trusted: bool = True
    tests: dict[str, str] = field(default_factory=dict)

    @property
    def resolved(self) -> bool:
        return self.resolution == FULL

    def to_dict(self) -> dict[str, Any]:
        """SWE-bench's ``tests_status`` shape plus resolution and trust."""
        return {
            "resolution": self.resolution,
            "trusted": self.trusted,
            "FAIL_TO_PASS": {"success": self.f2p_success, "failure": self.f2p_failure},
            "PASS_TO_PASS": {"success": self.p2p_success, "failure": self.p2p_failure, "skipped": self.p2p_skipped},
            "missing": self.missing,
        }


def resolve_name(name: str, status_map: dict[str, str]) -> str | None:
    """The status-map key for a listed test: itself, or for a truncated parametrized id
    (more ``[`` than ``]``) the full names it starts, when they all pass or all fail."""
    if name in status_map:
        return name
    if name.count("[") > name.count("]"):
        matches = [k for k in status_map if k.startswith(name)]
        if matches and len({status_map[k] in _PASSING for k in matches}) == 1:
            return matches[0]
    return None


def status_of(name: str, status_map: dict[str, str]) -> str | None:
    key = resolve_name(name, status_map)
    return None if key is None else status_map[key]


def passes(name: str, status_map: dict[str, str]) -> bool:
    return status_of(name, status_map) in _PASSING


def _ratio(success: list[str], failure: list[str]) -> float:
    total = len(success) + len(failure)
    return 1.0 if total == 0 else len(success) / total


def is_trusted(status_map: dict[str, str], exit_code: int | None) -> bool:
    """A non-zero exit must be explained by at least one failing or erroring test."""
    if exit_code in (None, 0):
        return True
    return any(s in (FAILED, ERROR) for s in status_map.values())


def grade(
    status_map: dict[str, str],
    fail_to_pass: Iterable[str],
    pass_to_pass: Iterable[str],
    *,
    exit_code: int | None = None,
) -> Grade:
    """Grade ``status_map`` (from a parser) against the task's test lists; see the module docstring."""
    f2p, p2p = list(dict.fromkeys(fail_to_pass)), list(dict.fromkeys(pass_to_pass))
    g = Grade(resolution=NO, trusted=is_trusted(status_map, exit_code))
    for name in f2p:
        (g.f2p_success if passes(name, status_map) else g.f2p_failure).append(name)
    for name in p2p:
        status = status_of(name, status_map)
        if status in _PASSING:
            g.p2p_success.append(name)
        elif status == SKIPPED:
            g.p2p_skipped.append(name)
        else:
            g.p2p_failure.append(name)
    listed = f2p + [n for n in p2p if n not in f2p]
    found = {n: status_of(n, status_map) for n in listed}
    g.missing = [n for n in listed if found[n] is None]
    g.tests = {n: s for n, s in found.items() if s is not None} if listed else dict(status_map)
    f2p_rate, p2p_rate = _ratio(g.f2p_success, g.f2p_failure), _ratio(g.p2p_success, g.p2p_failure)
    if f2p_rate == 1 and p2p_rate == 1:
        g.resolution = FULL
    elif 0 < f2p_rate < 1 and p2p_rate == 1:
        g.resolution = PARTIAL
    if not g.trusted and g.resolution == FULL:
        g.resolution = NO
    return g


__all__ = ["FULL", "PARTIAL", "NO", "Grade", "grade", "passes", "is_trusted", "resolve_name", "status_of"]
