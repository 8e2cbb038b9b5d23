"""SWE-bench 5.0.2 as the reference for tests: its parser per repository and its grading.

Only tests import this (``swebench`` is in the ``test`` extra, never a runtime dependency). Each
function feeds swebench what it expects: a full evaluation log with the ``>>>>> Start Test
Output`` markers goes through ``get_logs_eval`` (written to a file, as swebench reads it); a bare
test output (SWE-Gym's released OpenHands logs, the logs in tests/data/logs) goes to the parser
directly.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from typing import Callable

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_swebench():
    """Import swebench 5.0.2; skip without it on a user's machine, fail in CI (it is in the test extra)."""
    try:
        import swebench
    except ImportError:
        if IN_CI:
            pytest.fail("swebench==5.0.2 (the test extra) is required in CI but missing", pytrace=False)
        pytest.skip("swebench not installed (pip install 'swegym[test]')")
    if swebench.__version__ != "5.0.2":
        pytest.fail(f"these goldens are for swebench 5.0.2, found {swebench.__version__}", pytrace=False)
    return swebench


#: Repositories SWE-Gym adds. swebench 5.0.2 has no parser for them; the SWE-Gym fork of SWE-bench
#: (which produced their FAIL_TO_PASS lists) maps all of them to ``parse_log_pytest``, except
#: pydantic (its own fork-only parser, so it has no swebench reference: its grading is still compared).
SWEGYM_REPOS = ("python/mypy", "getmoto/moto", "conan-io/conan", "modin-project/modin", "Project-MONAI/MONAI",
                "iterative/dvc", "dask/dask", "bokeh/bokeh", "pandas-dev/pandas", "facebookresearch/hydra",
                "mne-tools/mne-python", "HypothesisWorks/hypothesis")
NO_REFERENCE_PARSER = ("pydantic/pydantic",)
_STATUSES = ("FAILED", "PASSED", "SKIPPED", "ERROR", "XFAIL")
_ANSI = re.compile(r"\[(\d+)m")
_CONTROL = str.maketrans("", "", "".join(chr(c) for c in range(1, 32)))


def reference_parser_name(repo: str) -> str | None:
    """The PARSER_REGISTRY name swebench uses for ``repo`` (None: no reference)."""
    from swebench.harness.log_parsers import PARSER_REGISTRY
    from swebench.harness.log_parsers.python import MAP_REPO_TO_PARSER_PY

    if repo in NO_REFERENCE_PARSER:
        return None
    fn = MAP_REPO_TO_PARSER_PY.get(repo)
    if fn is None:  # SWE-Gym repositories and new ones (the demo tasks) run pytest -rA
        fn = PARSER_REGISTRY["parse_log_pytest"]
    names = [n for n, f in PARSER_REGISTRY.items() if f is fn]
    return fn.__name__ if fn.__name__ in names else sorted(names)[0]


def _without_message_tails(log: str) -> str:
    """swebench 5.0.2's ``parse_log_pytest_v2`` drops the `` - message`` tail of FAILED lines only,
    so ``XFAIL name - reason`` is stored as ``name - reason`` and a PASS_TO_PASS test that xfails
    counts as missing, although swebench grades XFAIL as passing. That is a swebench defect
    (documented in swegym.harness.parsers.parse_pytest_v2): the reference gets the log with those
    tails already removed, so every other rule is still compared."""
    out = []
    for line in log.split("\n"):
        plain = _ANSI.sub("", line).translate(_CONTROL)
        if plain.startswith(_STATUSES) and not plain.startswith("FAILED") and " - " in plain:
            line = plain.split(" - ", 1)[0]
        out.append(line)
    return "\n".join(out)


def _parser(name: str) -> Callable[[str, object], dict[str, str]]:
    from swebench.harness.log_parsers import PARSER_REGISTRY

    fn = PARSER_REGISTRY[name]
    if name in ("parse_log_pytest_v2", "parse_log_astropy", "parse_log_scikit", "parse_log_sphinx"):
        return lambda log, spec: fn(_without_message_tails(log), spec)
    return fn


@dataclass
class Reference:
    """swebench's reading of one log against one pair of test lists."""

    found: bool  # the log graded (swebench's get_logs_eval second value)
    status_map: dict[str, str]  # only real statuses (swebench also stores e.g. "ERROR:" from "ERROR: msg" lines)
    tests_status: dict[str, dict[str, list[str]]]
    resolution: str  # RESOLVED_FULL / RESOLVED_PARTIAL / RESOLVED_NO


def reference_reading(repo: str, log: str, *, full_log: bool, instance_id: str = "x__y-1") -> tuple[dict[str, str], bool]:
    """swebench's status map of ``log`` (all statuses it stores) and whether the log grades at all."""
    from swebench.harness import grading
    from swebench.harness.log_parsers import PARSER_REGISTRY
    from swebench.types import TestSpec

    name = reference_parser_name(repo)
    assert name is not None, f"no swebench parser for {repo}"
    parse = _parser(name)
    if not full_log:
        return parse(log, None), True
    key = f"swegym_reference_{name}"
    PARSER_REGISTRY[key] = parse
    try:
        spec = TestSpec(instance_id=instance_id, image="", eval_script_list=[], repo=repo, version="",
                        FAIL_TO_PASS=[], PASS_TO_PASS=[], log_parser=key, eval_type="pass_and_fail")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
            fh.write(log)
        try:
            return grading.get_logs_eval(spec, fh.name)
        finally:
            os.unlink(fh.name)
    finally:
        PARSER_REGISTRY.pop(key, None)


def reference_grade(raw: dict[str, str], found: bool, fail_to_pass: list[str], pass_to_pass: list[str]) -> Reference:
    """swebench's get_eval_tests_report + get_resolution_status on a reading (as get_eval_report does)."""
    from swebench.harness import grading

    report = grading.get_eval_tests_report(raw, {"FAIL_TO_PASS": fail_to_pass, "PASS_TO_PASS": pass_to_pass})
    resolution = grading.get_resolution_status(report) if found else "RESOLVED_NO"
    return Reference(found, {k: v for k, v in raw.items() if v in _STATUSES},
                     {k: report[k] for k in ("FAIL_TO_PASS", "PASS_TO_PASS")}, resolution)


def reference(repo: str, log: str, fail_to_pass: list[str], pass_to_pass: list[str], *, full_log: bool,
              instance_id: str = "x__y-1") -> Reference:
    raw, found = reference_reading(repo, log, full_log=full_log, instance_id=instance_id)
    return reference_grade(raw, found, fail_to_pass, pass_to_pass)
