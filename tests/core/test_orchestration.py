"""swegym run: resumable run directories, SIGKILL recovery, failure policy, executors."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swegym.demo.solutions import write_gold_trajectories
from swegym.orchestration import RunConfig, RunDir
from swegym.orchestration.config import shared_settings
from swegym.redaction import redact

SWEGYM = [sys.executable, "-m", "swegym.cli"]
VOLATILE = {"timings", "run_id", "infrastructure_attempts"}


def swegym_run(run_dir: Path, *args: str, check: bool = True, **popen) -> subprocess.CompletedProcess:
    cmd = [*SWEGYM, "run", "--run-dir", str(run_dir), "--no-progress", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **popen)
    if check:
        assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory, demo_tasks) -> Path:
    return write_gold_trajectories(demo_tasks, tmp_path_factory.mktemp("gold") / "gold.jsonl")


def rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "trajectories.jsonl").read_text().splitlines() if line.strip()]


def labelled_containers(client, run_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"swegym.run_id={run_id}"})


# -- unit pieces ------------------------------------------------------------------------------

def test_torn_last_row_is_cut(tmp_path):
    rd = RunDir(tmp_path)
    rd.append({"instance_id": "a", "metadata": {"sample_index": 0}})
    with rd.trajectories_path.open("a") as fh:
        fh.write('{"instance_id": "b", "meta')
    assert rd.repair() > 0
    assert rd.done_keys() == {("a", 0)}


def test_manifest_config_has_no_secrets():
    cfg = RunConfig(policy="litellm", policy_options={"model": "m", "api_key": "sk-secret-123"})
    assert "sk-secret-123" not in json.dumps(cfg.public())
    assert redact({"nested": {"HF_TOKEN": "x", "ok": 1}}) == {"nested": {"HF_TOKEN": "<redacted>", "ok": 1}}
    # settings that merely mention tokens are recorded: the manifest must be able to reproduce the run
    kept = RunConfig(max_tokens=192, policy_options={"max_tokens": 64, "auth_token": "t"}).public()
    assert kept["max_tokens"] == 192 and kept["policy_options"] == {"max_tokens": 64, "auth_token": "<redacted>"}


def test_rft_and_run_share_their_sampling_and_sandbox_settings(tmp_path):
    from swegym.rft import RFTConfig

    rft = RFTConfig(model="m", work_dir=str(tmp_path), samples=4, temperature=0.5, max_tokens=99,
                    runtime_options={"cpus": 1}, network=True)
    shared = shared_settings(rft)
    cfg = RunConfig(**shared, scaffold="openhands")
    assert (cfg.samples, cfg.temperature, cfg.max_tokens, cfg.network) == (4, 0.5, 99, True)
    assert cfg.runtime_options == {"cpus": 1} and cfg.runtime_options is not rft.runtime_options
    assert set(shared) == {"samples", "temperature", "first_greedy", "top_p", "max_tokens", "seed", "runtime",
                           "runtime_options", "eval_timeout", "infra_retries", "network", "rollout_timeout",
                           "retry_budget"}


def test_per_sample_sampling_is_stable_and_first_greedy():
    cfg = RunConfig(samples=3, temperature=0.7)
    s0, s1 = cfg.sampling_for("t", 0), cfg.sampling_for("t", 1)
    assert s0.temperature == 0.0 and s1.temperature == 0.7
    assert s1.seed == cfg.sampling_for("t", 1).seed != s0.seed


# -- real runs --------------------------------------------------------------------------------

def test_replayed_gold_run_resolves_every_demo_task(tmp_path, docker_client, base_image, gold_file, demo_tasks):
    run_dir = tmp_path / "run"
    out = swegym_run(run_dir, "--scaffold", "openhands", "--replay-file", str(gold_file), "-d", "demo", "-w", "2")
    summary = json.loads(out.stdout)
    assert summary["rollouts"] == len(demo_tasks)
    assert summary["resolved"] == len(demo_tasks), summary
    report = json.loads((run_dir / "report.json").read_text())
    assert report["summary"]["resolved"] == len(demo_tasks)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["scaffold"] == "openhands" and manifest["versions"]["swegym"]
    for row in rows(run_dir):
        assert row["status"] == "resolved" and row["patch"].startswith("diff --git")
        assert (run_dir / "logs").exists()
    # resuming a finished run does nothing and duplicates nothing
    swegym_run(run_dir, "--scaffold", "openhands", "--replay-file", str(gold_file), "-d", "demo")
    assert len(rows(run_dir)) == len(demo_tasks)


def test_sigkill_then_resume_completes_exactly_once(tmp_path, docker_client, base_image, gold_file, demo_tasks):
    run_dir = tmp_path / "killed"
    args = ["--scaffold", "openhands", "--replay-file", str(gold_file), "-d", "demo", "-k", "2", "-w", "2"]
    cmd = [*SWEGYM, "run", "--run-dir", str(run_dir), "--no-progress", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    path = run_dir / "trajectories.jsonl"
    while time.time() < deadline:
        if path.exists() and path.read_text().count("\n") >= 2:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and anything it started, mid-run
    proc.wait()
    before = path.read_text().count("\n")
    assert 2 <= before < len(demo_tasks) * 2, "kill landed too late to test resume"
    run_id = json.loads((run_dir / "manifest.json").read_text())["run_id"]
    swegym_run(run_dir, *args)
    got = rows(run_dir)
    keys = [(r["instance_id"], r["metadata"]["rollout"]["sample_index"]) for r in got]
    assert len(got) == len(demo_tasks) * 2
    assert len(set(keys)) == len(keys), "duplicated rollouts"
    for name in ("preds.jsonl", "preds.1.jsonl"):  # SWE-bench predictions: once per instance and sample
        ids = [json.loads(line)["instance_id"] for line in (run_dir / name).read_text().splitlines()]
        assert sorted(ids) == sorted(t.instance_id for t in demo_tasks), name
    assert labelled_containers(docker_client, run_id) == []


def test_infrastructure_failure_is_error_not_agent_failure(tmp_path, gold_file):
    run_dir = tmp_path / "dead-daemon"
    out = swegym_run(run_dir, "--scaffold", "openhands", "--replay-file", str(gold_file), "-d", "demo",
                     "--instance-id", "swegym-demo__calc-1", "--docker-host", "tcp://127.0.0.1:9",
                     "--infra-retries", "1")
    summary = json.loads(out.stdout)
    assert summary["infrastructure_errors"] == 1 and summary["resolved"] == 0
    assert summary["agent_outcomes"]["unresolved"] == 0
    (row,) = rows(run_dir)
    assert row["status"] == "error" and "127.0.0.1:9" in row["evaluation"]["error"]


_DURATION = re.compile(r"\d+(\.\d+)?s\b")


def _comparable(row: dict) -> dict:
    """A row without what legitimately differs between two runs: ids, timings, durations in logs."""
    row = json.loads(_DURATION.sub("<t>", json.dumps(row)))
    row.pop("run_id", None)
    for part in row["metadata"].values():
        for key in VOLATILE:
            part.pop(key, None)
    ev = row.get("evaluation") or {}
    for key in ("duration_s", "test_duration_s", "log", "details"):
        ev.pop(key, None)
    return row


def test_ray_executor_reproduces_local_run(tmp_path, docker_client, base_image, gold_file):
    pytest.importorskip("ray")
    args = ["--scaffold", "openhands", "--replay-file", str(gold_file), "-d", "demo", "--limit", "3", "-w", "2"]
    swegym_run(tmp_path / "local", *args)
    swegym_run(tmp_path / "ray", *args, "--executor", "ray")
    local = sorted((_comparable(r) for r in rows(tmp_path / "local")), key=lambda r: r["instance_id"])
    on_ray = sorted((_comparable(r) for r in rows(tmp_path / "ray")), key=lambda r: r["instance_id"])
    assert [r["instance_id"] for r in local] == [r["instance_id"] for r in on_ray]
    for a, b in zip(local, on_ray):
        assert a["messages"] == b["messages"]
        assert a["patch"] == b["patch"]
        assert a["status"] == b["status"] == "resolved"
        assert a["evaluation"]["tests"] == b["evaluation"]["tests"]
