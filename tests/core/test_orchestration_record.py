"""The rollout record: one owner per metadata part, scaffold timings kept, old rows still read."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from swegym.demo.solutions import write_gold_trajectories
from swegym.export.inputs import read_trajectories
from swegym.orchestration import RunDir
from swegym.orchestration.record import ROW_VERSION, RolloutKey, RolloutRecord, upgrade_row
from swegym.orchestration.rundir import row_key
from swegym.report.runs import load_run
from swegym.types import EvalResult, Trajectory

#: A row as swegym wrote it before the record (one flat metadata dict, no version field).
OLD_ROW = {
    "instance_id": "swegym-demo__calc-1", "messages": [{"role": "user", "content": "fix it"}], "tools": [],
    "patch": "diff --git a/x b/x\n", "run_id": "20250101-000000-abcdef", "scaffold": "openhands", "model": "m",
    "stop_reason": "finish",
    "metadata": {"instance_id": "swegym-demo__calc-1", "scaffold": "openhands", "model": "m", "iterations": 4,
                 "stop_reason": "finish", "usage": {"prompt_tokens": 11, "completion_tokens": 5, "calls": 4},
                 "function_calling": "native", "sampling": {"temperature": 0.0}, "seed": 3, "repo": "swegym/calc",
                 "sample_index": 1, "policy": "replay", "timings": {"agent_s": 1.5, "total_s": 2.0}},
    "evaluation": {"instance_id": "swegym-demo__calc-1", "status": "resolved", "tests": {"t": "PASSED"}},
    "resolved": True, "status": "resolved",
}


def test_record_merges_each_owners_part_and_stores_stop_reason_once():
    traj = Trajectory("i", scaffold="s", model="m", stop_reason="finish",
                      metadata={"scaffold": {"iterations": 2, "timings": {"policy_s": 0.25, "tools_s": 0.5}}})
    record = RolloutRecord(RolloutKey("i", 3), traj, EvalResult("i", "resolved"), timings={"agent_s": 1.0},
                           attempts=["daemon hiccup"], repo="o/r", policy="p", sampling={"temperature": 0.7, "seed": 9})
    row = record.to_row()
    assert row["version"] == ROW_VERSION and row["status"] == "resolved" and row["resolved"] is True
    assert set(row["metadata"]) == {"scaffold", "rollout"}
    assert row["metadata"]["scaffold"] == {"iterations": 2, "timings": {"policy_s": 0.25, "tools_s": 0.5}}
    assert row["metadata"]["rollout"]["timings"] == {"agent_s": 1.0}
    assert row["metadata"]["rollout"]["seed"] == 9 and row["metadata"]["rollout"]["sample_index"] == 3
    assert "stop_reason" not in json.dumps(row["metadata"]) and row["stop_reason"] == "finish"
    back = RolloutRecord.from_row(json.loads(json.dumps(row)))
    assert back.key == ("i", 3) and back.evaluation.status == "resolved" and back.attempts == ["daemon hiccup"]
    assert back.trajectory.metadata["scaffold"]["timings"]["tools_s"] == 0.5


def test_a_flat_scaffold_metadata_becomes_the_scaffold_part():
    """A scaffold that still writes flat metadata (a third-party one) loses nothing and overwrites nothing."""
    traj = Trajectory("i", stop_reason="x", metadata={"instance_id": "i", "stop_reason": "x", "timings": {"policy_s": 1.0},
                                                      "rollout": {"sample_index": 99}})
    row = RolloutRecord(RolloutKey("i", 0), traj, timings={"total_s": 2.0}).to_row()
    assert row["metadata"]["scaffold"] == {"timings": {"policy_s": 1.0}}
    assert row["metadata"]["rollout"]["sample_index"] == 0 and row["metadata"]["rollout"]["timings"] == {"total_s": 2.0}


def test_old_shape_rows_are_still_read(tmp_path):
    upgraded = upgrade_row(OLD_ROW)
    assert upgraded["version"] == ROW_VERSION and OLD_ROW.get("version") is None  # a copy
    assert upgraded["metadata"]["rollout"] == {k: OLD_ROW["metadata"][k] for k in (
        "repo", "sample_index", "policy", "sampling", "seed", "timings")}
    assert upgraded["metadata"]["scaffold"] == {"iterations": 4, "usage": OLD_ROW["metadata"]["usage"],
                                                "function_calling": "native"}
    assert row_key(OLD_ROW) == row_key(upgraded) == ("swegym-demo__calc-1", 1)
    record = RolloutRecord.from_row(OLD_ROW)
    assert record.key == ("swegym-demo__calc-1", 1) and record.resolved and record.timings["agent_s"] == 1.5
    (tmp_path / "trajectories.jsonl").write_text(json.dumps(OLD_ROW) + "\n")
    assert RunDir(tmp_path).done_keys() == {("swegym-demo__calc-1", 1)}
    (traj,) = read_trajectories([tmp_path])
    assert traj.metadata["scaffold"]["usage"]["prompt_tokens"] == 11 and traj.status == "resolved"
    (rollout,) = load_run(tmp_path)
    assert rollout.sample_index == 1 and rollout.repo == "swegym/calc" and rollout.usage["completion_tokens"] == 5


def test_scaffold_timings_survive_into_trajectories_jsonl(tmp_path, docker_client, base_image, demo_tasks):
    """A real `swegym run` (openhands + replay on a demo task): the scaffold's policy_s/tools_s are kept."""
    gold = write_gold_trajectories(demo_tasks, tmp_path / "gold.jsonl")
    run_dir = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "swegym.cli", "run", "--run-dir", str(run_dir), "--no-progress",
                          "--scaffold", "openhands", "--replay-file", str(gold), "-d", "demo",
                          "--instance-id", "swegym-demo__calc-1"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    (row,) = [json.loads(line) for line in (run_dir / "trajectories.jsonl").read_text().splitlines()]
    assert row["version"] == ROW_VERSION and row["status"] == "resolved"
    scaffold, rollout = row["metadata"]["scaffold"], row["metadata"]["rollout"]
    assert scaffold["timings"]["tools_s"] > 0 and scaffold["timings"]["policy_s"] >= 0
    assert {"image_s", "sandbox_s", "agent_s", "eval_s", "total_s"} <= set(rollout["timings"])
    assert rollout["timings"]["agent_s"] >= scaffold["timings"]["tools_s"]
    assert scaffold["iterations"] >= 1 and rollout["sample_index"] == 0 and rollout["policy"] == "replay"
    assert "stop_reason" not in scaffold and row["stop_reason"]
