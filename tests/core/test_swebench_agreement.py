"""swegym's log parsers and grading agree with swebench 5.0.2's on every real log we have.

Logs: the runner logs in tests/data/logs/ (bare test output, and again wrapped as a full
evaluation log with markers and an exit code), every log under tests/data/real/ (layout below),
and the real evaluation logs inside ../shared/data/openhands-trajectories-*.jsonl. For each log
and repository: the same per-test statuses as swebench's parser for that repository, and for
each pair of test lists (the instance's own FAIL_TO_PASS / PASS_TO_PASS where its row is known,
plus lists built from the log's tests: all, each one alone, passing ones, missing and truncated
parametrized names) the same FAIL_TO_PASS / PASS_TO_PASS outcomes and the same resolution as
``get_eval_tests_report`` + ``get_resolution_status``.

tests/data/real/ layout (any depth): instance rows in ``*.jsonl`` files (SWE-bench / SWE-Gym
schema), evaluation logs in ``logs/<instance_id>.<label>.log`` (label e.g. ``gold``, ``empty``),
as written by swegym (``>>>>> Start Test Output`` markers) or as bare test output.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from swebench_reference import (NO_REFERENCE_PARSER, SWEGYM_REPOS, reference, reference_grade, reference_reading,
                                require_swebench)
from swegym.harness import grade
from swegym.harness.grading import Grade
from swegym.harness.logs import END_TEST_OUTPUT, START_TEST_OUTPUT, read_log
from swegym.harness.parsers import get_parser, parse_pytest, parse_pytest_options, strip_ansi

DATA = Path(__file__).resolve().parents[1] / "data"
LOGS = DATA / "logs"
REAL = DATA / "real"
PYTEST_REPOS = ("pallets/flask", "pytest-dev/pytest", "psf/requests", "pylint-dev/pylint", "astropy/astropy",
                "scikit-learn/scikit-learn", "sphinx-doc/sphinx", "matplotlib/matplotlib", "mwaskom/seaborn",
                "pydata/xarray", "getmoto/moto", "python/mypy", "swegym-demo/calc")
RUNNER_LOGS = {"pytest_ra.log": PYTEST_REPOS, "pytest_verbose.log": PYTEST_REPOS, "pytest_color.log": PYTEST_REPOS,
               "django.log": ("django/django",), "sympy.log": ("sympy/sympy",)}
SHARED_TRAJECTORIES = ("openhands-trajectories-sample.jsonl", "openhands-trajectories-mixed.jsonl")
# The FAIL_TO_PASS of python__mypy-10308 (its row is not in ../shared/data; the released verdicts are).
MYPY_10308_F2P = "mypy/test/testcheck.py::TypeCheckSuite::testTwoUncomfortablyIncompatibleProtocolsWithoutRunningInIssue9771"
_RESOLUTION = {"FULL": "RESOLVED_FULL", "PARTIAL": "RESOLVED_PARTIAL", "NO": "RESOLVED_NO"}


@pytest.fixture(scope="module", autouse=True)
def _swebench():
    require_swebench()


def wrap_as_eval_log(output: str, exit_code: int) -> str:
    """A bare test output as swegym's harness writes a full log (markers, then the exit code)."""
    return (f"+ git apply --verbose /tmp/swegym_model.patch\n>>>>> Applied Patch (git apply --verbose)\n"
            f"{START_TEST_OUTPUT}\n+ pytest -rA\n{output}\n{END_TEST_OUTPUT}\n>>>>> Test Exit Code: {exit_code}\n")


def candidate_lists(names: list[str], status_map: dict[str, str], singles: int = 150) -> list[tuple[list[str], list[str]]]:
    """Pairs of (FAIL_TO_PASS, PASS_TO_PASS) that exercise every grading rule on this log's tests."""
    names = sorted(names)
    passing = [n for n in names if status_map.get(n) in ("PASSED", "XFAIL")]
    other = [n for n in names if n not in passing]
    truncated = [n[: n.index("[") + 2] for n in names if "[" in n and n.index("[") + 2 < len(n)]
    pairs = [(names, []), (passing, []), (passing, other), (other, passing), (passing[:1], names),
             (passing[:1] + ["tests/not_in_the_log.py::test_missing"], passing[1:]), (truncated, passing),
             (passing, truncated), ([], names), ([], [])]
    pairs += [([n], []) for n in names[:singles]] + [(passing[:1], [n]) for n in names[:singles]]
    return pairs


def _our_reading(repo: str, log: str, full_log: bool) -> tuple[dict[str, str] | None, int | None]:
    if full_log:
        reading = read_log(repo, log)
        return reading.status_map, reading.exit_code
    return get_parser(repo)(log.replace("\r\n", "\n")), None


def _ours(repo: str, log: str, f2p: list[str], p2p: list[str], full_log: bool) -> tuple[dict[str, str] | None, Grade]:
    status_map, exit_code = _our_reading(repo, log, full_log)
    return status_map, grade(status_map or {}, f2p, p2p, exit_code=exit_code)


def disagreements(repo: str, log: str, lists: list[tuple[list[str], list[str]]], *, full_log: bool,
                  ref_log: str | None = None) -> list[str]:
    """Every way swegym's reading of ``log`` differs from swebench's of ``ref_log`` (default the same log)."""
    problems: list[str] = []
    ours_map, exit_code = _our_reading(repo, log, full_log)
    raw, found = reference_reading(repo, log if ref_log is None else ref_log, full_log=full_log)
    first = reference_grade(raw, found, [], [])
    trusted = grade(ours_map or {}, [], [], exit_code=exit_code).trusted
    # (an empty reading meets swebench's one extra rule, "did the suite run at all", read from JS runners' summaries)
    if ours_map != {} and found != (ours_map is not None and trusted):
        problems.append(f"{repo}: swebench found={found}, swegym read {ours_map is not None} (trusted {trusted})")
    if found and ours_map != first.status_map:
        diff = {k: (ours_map.get(k), first.status_map.get(k)) for k in set(ours_map) | set(first.status_map)
                if ours_map.get(k) != first.status_map.get(k)}
        problems.append(f"{repo}: per-test statuses differ (swegym, swebench): {dict(list(diff.items())[:8])}")
    for f2p, p2p in lists:
        ours = grade(ours_map or {}, f2p, p2p, exit_code=exit_code)
        if ours_map is None:
            ours.trusted, ours.resolution = False, "NO"
        ref = reference_grade(raw, found, f2p, p2p)
        where = f"{repo} F2P={f2p[:3]}{'…' if len(f2p) > 3 else ''} P2P={p2p[:3]}{'…' if len(p2p) > 3 else ''}"
        if not ref.found:
            if ours.resolved:
                problems.append(f"{where}: swebench grades nothing in this log, swegym resolves it")
            continue
        ts = ref.tests_status
        if (sorted(ours.f2p_success), sorted(ours.f2p_failure)) != (sorted(set(ts["FAIL_TO_PASS"]["success"])),
                                                                    sorted(set(ts["FAIL_TO_PASS"]["failure"]))):
            problems.append(f"{where}: FAIL_TO_PASS differs: swegym {ours.f2p_success}/{ours.f2p_failure}, "
                            f"swebench {ts['FAIL_TO_PASS']}")
        if (sorted(ours.p2p_success + ours.p2p_skipped), sorted(ours.p2p_failure)) != (
                sorted(set(ts["PASS_TO_PASS"]["success"])), sorted(set(ts["PASS_TO_PASS"]["failure"]))):
            problems.append(f"{where}: PASS_TO_PASS differs: swegym {ours.p2p_success}+{ours.p2p_skipped}/"
                            f"{ours.p2p_failure}, swebench {ts['PASS_TO_PASS']}")
        expected, got = ref.resolution, _RESOLUTION[ours.resolution]
        if got != expected and not (not ours.trusted and expected == "RESOLVED_NO"):
            problems.append(f"{where}: swegym {got}, swebench {expected}")
        if (got == "RESOLVED_FULL") != (expected == "RESOLVED_FULL"):
            problems.append(f"{where}: resolved differs: swegym {got}, swebench {expected}")
    return problems


def _check(repo: str, log: str, own_lists: list[tuple[list[str], list[str]]] = (), *, full_log: bool,
           singles: int = 150, ref_log: str | None = None) -> None:
    ours_map, _ = _our_reading(repo, log, full_log)
    if repo in NO_REFERENCE_PARSER:  # pydantic: swegym's own parse, graded by both sides
        lists = list(own_lists) + candidate_lists(list(ours_map or {}), ours_map or {}, singles)
        problems = _grading_only(repo, ours_map or {}, lists)
    else:
        raw, _ = reference_reading(repo, log if ref_log is None else ref_log, full_log=full_log)
        names = set(ours_map or {}) | set(raw)
        lists = list(own_lists) + candidate_lists(list(names), ours_map or raw, singles)
        problems = disagreements(repo, log, lists, full_log=full_log, ref_log=ref_log)
    assert not problems, "\n".join(problems[:20])


def _grading_only(repo: str, status_map: dict[str, str], lists) -> list[str]:
    from swebench.harness import grading

    problems = []
    for f2p, p2p in lists:
        report = grading.get_eval_tests_report(status_map, {"FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p})
        expected = grading.get_resolution_status(report)
        got = _RESOLUTION[grade(status_map, f2p, p2p).resolution]
        if got != expected:
            problems.append(f"{repo} F2P={f2p[:3]} P2P={p2p[:3]}: swegym {got}, swebench {expected}")
    return problems


# -- logs made here by real runners (tests/data/logs) ---------------------------------------------


@pytest.mark.parametrize("log_name, repo", [(log, repo) for log, repos in RUNNER_LOGS.items() for repo in repos])
@pytest.mark.parametrize("full_log", [False, True], ids=["bare", "full"])
def test_runner_logs_agree(log_name, repo, full_log):
    text = (LOGS / log_name).read_text()
    if full_log:
        text = wrap_as_eval_log(text, exit_code=1)  # every suite there has a failing test
    ref_log = None
    if log_name == "pytest_color.log" and get_parser(repo) in (parse_pytest, parse_pytest_options):
        # Known difference: swegym's pytest parser strips colour codes, swebench's parse_log_pytest
        # does not (it reads no test at all); swegym must read the coloured log as swebench the plain one.
        ref_log = strip_ansi(text)
        assert strip_ansi(text) != text and not reference_reading(repo, text, full_log=full_log)[0]
    _check(repo, text, full_log=full_log, ref_log=ref_log)


def test_exit_code_rule_agrees():
    """A run that exits non-zero without a failing test is not trusted by either side."""
    text = wrap_as_eval_log("PASSED tests/test_a.py::test_x\nPASSED tests/test_a.py::test_y", exit_code=139)
    ours_map, ours = _ours("pallets/flask", text, ["tests/test_a.py::test_x"], [], full_log=True)
    ref = reference("pallets/flask", text, ["tests/test_a.py::test_x"], [], full_log=True)
    assert not ref.found and ref.resolution == "RESOLVED_NO"
    assert not ours.trusted and not ours.resolved
    assert not disagreements("pallets/flask", text, [(["tests/test_a.py::test_x"], [])], full_log=True)


@pytest.mark.parametrize("marker", [">>>>> Patch Apply Failed", ">>>>> Tests Timed Out after 5s", None])
def test_logs_that_grade_nothing_agree(marker):
    text = (LOGS / "pytest_ra.log").read_text()
    if marker:
        text = wrap_as_eval_log(text, exit_code=1) + marker + "\n"
    assert not disagreements("pallets/flask", text, [(["tests/test_more.py::test_ok"], [])], full_log=True)
    assert read_log("pallets/flask", text).status_map is None


# -- real evaluation logs ----------------------------------------------------------------------------


def _real_rows() -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for path in sorted(REAL.rglob("*.jsonl")) if REAL.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["instance_id"]] = row
    return rows


def _real_logs() -> list[Path]:
    return sorted(p for p in REAL.rglob("*.log")) if REAL.is_dir() else []


def _test_list(value) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


@pytest.mark.parametrize("log_path", _real_logs(), ids=lambda p: p.name)
def test_real_instance_logs_agree(log_path):
    iid = log_path.name[: -len(".log")].rsplit(".", 1)[0]
    row = _real_rows().get(iid)
    assert row is not None, f"{log_path}: no row for {iid} in tests/data/real/**/*.jsonl"
    text = log_path.read_text(encoding="utf-8", errors="replace")  # swebench opens logs as strict UTF-8
    full = START_TEST_OUTPUT in text
    _check(row["repo"], text, [(_test_list(row.get("FAIL_TO_PASS")), _test_list(row.get("PASS_TO_PASS")))],
           full_log=full, singles=30)


def _repo_of(instance_id: str) -> str:
    owner, _, rest = instance_id.partition("__")
    return f"{owner}/{rest.rsplit('-', 1)[0]}"


def test_released_openhands_logs_agree(shared_data):
    """SWE-Gym's released evaluation logs (bare test output of its OpenHands harness)."""
    checked = 0
    for name in SHARED_TRAJECTORIES:
        for number, line in enumerate((shared_data / name).read_text().splitlines(), start=1):
            row = json.loads(line)
            log = (row.get("test_result") or {}).get("test_output")
            if not log:
                continue
            iid = row["instance_id"].rsplit("_", 1)[0] if row["instance_id"].count("_") > 2 else row["instance_id"]
            repo = _repo_of(iid)
            own = [([MYPY_10308_F2P], [])] if iid == "python__mypy-10308" else []
            _check(repo, log, own, full_log=False)
            if own:  # both sides also reproduce the verdict SWE-Gym released for this run
                assert reference(repo, log, [MYPY_10308_F2P], [], full_log=False).resolution == (
                    "RESOLVED_FULL" if row["resolved"] else "RESOLVED_NO"), (name, number)
            checked += 1
    assert checked == 11


def test_swegym_repositories_use_the_forks_pytest_parser():
    """The reference for SWE-Gym's repositories is swebench's parse_log_pytest (what the fork maps them to)."""
    from swebench_reference import reference_parser_name

    assert {reference_parser_name(r) for r in SWEGYM_REPOS} == {"parse_log_pytest"}
    assert reference_parser_name("astropy/astropy") == "parse_log_pytest_v2"
