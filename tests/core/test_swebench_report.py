"""``swegym eval``'s SWE-bench run report equals the one swebench 5.0.2's ``make_run_report`` writes.

Both sides get the same predictions and instances: swegym from its run directory (report.json and
logs written by its ReportWriter), swebench from the per-instance files its ``run_instance``
leaves (``report.json`` made by swebench's own ``get_eval_report`` on the same log, the test
output, ``run_instance.log``), in a temporary working directory; no Docker client is passed, as
``run_evaluation`` does on a re-grade.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from swebench_reference import reference_parser_name, require_swebench
from swegym import EvalResult
from swegym.harness import ReportWriter, grade_log
from swegym.harness.swebench_report import report_filename, write_swebench_report

LOG = (Path(__file__).resolve().parents[1] / "data" / "logs" / "pytest_ra.log").read_text()
SHAPES = "tests/test_shapes.py::"
MODEL = "org/model-7b"
RUN_ID = "r1"
REPO = "pallets/flask"


def full_log(output: str, exit_code: int = 1) -> str:
    return (">>>>> Applied Patch (git apply --verbose)\n>>>>> Start Test Output\n+ pytest -rA\n"
            f"{output}\n>>>>> End Test Output\n>>>>> Test Exit Code: {exit_code}\n")


# instance → (patch, swegym status or None when never evaluated, log, FAIL_TO_PASS, error)
CASES = {
    "o__r-1": ("diff 1", "graded", full_log(LOG), [SHAPES + "test_area"], None),
    "o__r-2": ("diff 2", "graded", full_log(LOG), [SHAPES + "test_perimeter_wrong"], None),
    "o__r-3": ("diff 3", "patch_apply_failed", "error: patch failed: a.py:1\n>>>>> Patch Apply Failed\n", [], None),
    "o__r-4": ("diff 4", "test_timeout", full_log(LOG)[:200] + "\n>>>>> Tests Timed Out after 5s\n", [], None),
    "o__r-5": ("", "empty_patch", "", [], None),
    "o__r-6": ("diff 6", "error", "", [], "infrastructure: Cannot connect to the Docker daemon at unix:///x.sock"),
    "o__r-8": ("diff 8", None, "", [], None),
    "o__r-9": ("diff 9", "graded", full_log("E   ModuleNotFoundError: No module named 'x'\n" + LOG),
               [SHAPES + "test_uses_broken_fixture"], None),
    "o__r-10": ("diff 10", "graded", full_log(LOG), [SHAPES + "test_param[x/y"], None),  # truncated id: resolved
}
DATASET = list(CASES) + ["o__r-7"]  # o__r-7: no prediction
PREDICTIONS = {iid: {"instance_id": iid, "model_name_or_path": MODEL, "model_patch": c[0]} for iid, c in CASES.items()}
PREDICTIONS["zz__elsewhere-1"] = {"instance_id": "zz__elsewhere-1", "model_name_or_path": MODEL, "model_patch": "d"}


def _swegym_side(run_dir: Path) -> dict:
    writer = ReportWriter(run_dir)
    for iid, (patch, status, log, f2p, error) in CASES.items():
        if status is None:
            continue
        if status == "graded":
            status = "resolved" if grade_log(REPO, log, f2p, []).resolved else "unresolved"
        writer.add(iid, EvalResult(iid, status, log=log, error=error, test_duration_s=5.0), patch)
    writer.flush()
    path = write_swebench_report(run_dir, RUN_ID, PREDICTIONS, DATASET, run_dir)
    assert path.name == report_filename(MODEL, RUN_ID) == "org__model-7b.r1.json"
    return json.loads(path.read_text())


def _swebench_side(work: Path) -> dict:
    from swebench.harness.constants import RUN_EVALUATION_LOG_DIR
    from swebench.harness.grading import get_eval_report
    from swebench.harness.reporting import make_run_report
    from swebench.types import TestSpec

    for iid, (patch, status, log, f2p, error) in CASES.items():
        if status in (None, "empty_patch"):
            continue  # never run / skipped by run_evaluation before any file is written
        folder = RUN_EVALUATION_LOG_DIR / RUN_ID / MODEL.replace("/", "__") / iid
        folder.mkdir(parents=True)
        if status == "error":  # the exception lands in run_instance.log, nothing else is written
            (folder / "run_instance.log").write_text(f"Error in evaluating model for {iid}: {error}\n")
        elif status == "patch_apply_failed":  # run_instance logs the apply output and raises
            (folder / "run_instance.log").write_text(log)
        elif status == "test_timeout":  # run_instance appends this to the output, then raises
            (folder / "test_output.txt").write_text(log + "\n\nTimeout error: 5 seconds exceeded.")
        else:
            (folder / "test_output.txt").write_text(log)
            spec = TestSpec(instance_id=iid, image="", eval_script_list=[], repo=REPO, version="",
                            FAIL_TO_PASS=f2p, PASS_TO_PASS=[], log_parser=reference_parser_name(REPO),
                            eval_type="pass_and_fail")
            report = get_eval_report(spec, PREDICTIONS[iid], str(folder / "test_output.txt"), True)
            (folder / "report.json").write_text(json.dumps(report, indent=4))
    path = make_run_report(PREDICTIONS, [{"instance_id": i} for i in DATASET], RUN_ID, client=None,
                           report_dir=str(work / "reports"))
    assert Path(path).name == "org__model-7b.r1.json"
    return json.loads(Path(path).read_text())


def test_swebench_report_equals_make_run_report(tmp_path, monkeypatch):
    require_swebench()
    ours = _swegym_side(tmp_path / "run")
    monkeypatch.chdir(tmp_path)  # swebench reads logs/run_evaluation/ relative to the working directory
    theirs = _swebench_side(tmp_path)
    assert list(ours) == list(theirs)  # the same keys in the same order
    assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in theirs.items()}
    assert ours == theirs
    # and the scenario covers every outcome
    assert ours["resolved_ids"] == ["o__r-1", "o__r-10"]
    assert ours["unresolved_ids"] == ["o__r-2", "o__r-9"]
    assert ours["error_ids"] == ["o__r-3", "o__r-4", "o__r-6", "o__r-8"]
    assert ours["empty_patch_ids"] == ["o__r-5"] and ours["incomplete_ids"] == ["o__r-7"]
    assert ours["failure_reasons"] == {"o__r-4": "tests_timed_out", "o__r-6": "container_unavailable",
                                       "o__r-9": "missing_module"}
    assert ours["submitted_instances"] == 10 and ours["total_instances"] == 10


@pytest.mark.parametrize("drop", ["o__r-1", "o__r-6"])
def test_report_changes_when_an_outcome_changes(tmp_path, drop):
    """Guard: the comparison above is not vacuous (a different outcome gives a different report)."""
    require_swebench()
    base = _swegym_side(tmp_path / "a")
    CASES_BACKUP = dict(CASES)
    try:
        CASES[drop] = (CASES[drop][0], None, "", [], None)
        changed = _swegym_side(tmp_path / "b")
    finally:
        CASES.clear()
        CASES.update(CASES_BACKUP)
    assert changed != base and drop in changed["error_ids"]
