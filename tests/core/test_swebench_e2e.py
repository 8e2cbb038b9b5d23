"""End to end with SWE-bench habits: ``swegym run`` writes preds.jsonl, ``swegym eval`` (called with
SWE-bench's flag spellings) grades it, and swebench 5.0.2 reads swegym's own evaluation logs and
run directory to the same verdicts and the same run report (real Docker, demo tasks, gold replay)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from swebench_reference import reference_parser_name, require_swebench
from swegym.demo.solutions import write_gold_trajectories
from swegym.harness.ledger import safe_name

SWEGYM = [sys.executable, "-m", "swegym.cli"]
pytestmark = pytest.mark.docker


def _swegym(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    out = subprocess.run([*SWEGYM, *args], capture_output=True, text=True, timeout=900, cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_run_preds_go_through_eval_and_swebench_agrees(tmp_path, docker_client, base_image, demo_tasks, monkeypatch):
    require_swebench()
    from swebench.harness.grading import get_eval_report
    from swebench.harness.reporting import make_run_report
    from swebench.types import TestSpec

    tasks = demo_tasks[:2]
    gold = write_gold_trajectories(demo_tasks, tmp_path / "gold.jsonl")
    ids = [a for t in tasks for a in ("--instance-id", t.instance_id)]
    run = tmp_path / "run"
    _swegym("run", "--scaffold", "openhands", "--replay-file", str(gold), "-d", "demo", *ids, "-w", "2",
            "--no-progress", "--run-dir", str(run), cwd=tmp_path)
    preds = [json.loads(line) for line in (run / "preds.jsonl").read_text().splitlines()]
    assert sorted(p["instance_id"] for p in preds) == sorted(t.instance_id for t in tasks)
    assert all(p["model_name_or_path"] == "replay" and p["model_patch"].startswith("diff --git") for p in preds)

    evaluation = tmp_path / "eval"
    out = _swegym("eval", "--dataset_name", "demo", "--predictions_path", str(run / "preds.jsonl"),
                  "--run_id", "e2e", "--max_workers", "2", "--instance_ids", *[t.instance_id for t in tasks],
                  "--run-dir", str(evaluation), cwd=tmp_path)
    ours = json.loads((evaluation / "replay.e2e.json").read_text())
    assert ours["resolved_ids"] == sorted(t.instance_id for t in tasks), out.stderr[-2000:]

    # swebench grades swegym's own logs: its report per instance, then its run report
    monkeypatch.chdir(tmp_path)
    predictions = {p["instance_id"]: p for p in preds}
    for task in tasks:
        log = evaluation / "logs" / safe_name(task.instance_id) / "test_output.txt"
        folder = Path("logs/run_evaluation/e2e/replay") / task.instance_id
        folder.mkdir(parents=True)
        (folder / "test_output.txt").write_text(log.read_text())
        spec = TestSpec(instance_id=task.instance_id, image="", eval_script_list=[], repo=task.repo,
                        version=task.version, FAIL_TO_PASS=task.FAIL_TO_PASS, PASS_TO_PASS=task.PASS_TO_PASS,
                        log_parser=reference_parser_name(task.repo), eval_type="pass_and_fail")
        report = get_eval_report(spec, predictions[task.instance_id], str(folder / "test_output.txt"), True)
        entry = report[task.instance_id]
        assert entry["patch_successfully_applied"] and entry["resolved"], (task.instance_id, entry)
        ours_row = json.loads((evaluation / "report.json").read_text())["instances"][task.instance_id]
        assert ours_row["details"]["tests_status"]["FAIL_TO_PASS"]["success"] == \
            entry["tests_status"]["FAIL_TO_PASS"]["success"]
        (folder / "report.json").write_text(json.dumps(report))
    theirs = json.loads(Path(make_run_report(predictions, [{"instance_id": t.instance_id} for t in tasks], "e2e",
                                             client=None, report_dir="sb")).read_text())
    assert ours == theirs
    # SWE-bench's "gold" predictions: the dataset's own patches, model "gold"
    _swegym("eval", "-d", "demo", "--predictions", "gold", "--run_id", "g", "--instance_ids", tasks[0].instance_id,
            "--run-dir", str(tmp_path / "gold-eval"), cwd=tmp_path)
    gold_report = json.loads((tmp_path / "gold-eval" / "gold.g.json").read_text())
    assert gold_report["resolved_ids"] == [tasks[0].instance_id] and gold_report["submitted_instances"] == 1
