"""CI executes the RFT notebook on CPU: replayed gold run → SFT export → torchtune → hf policy sampling.

Then ``swegym rft`` with the same settings on the notebook's work dir must find every stage done
(resume) and report the same loop: the CLI and the notebook compose the same pipeline.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "02_rft_loop.ipynb"
TASKS = ("swegym-demo__calc-1", "swegym-demo__wordfreq-1")


def test_rft_notebook_runs_end_to_end_and_the_cli_resumes_it(tmp_path, monkeypatch, docker_client, base_image):
    pytest.importorskip("torchtune")
    pytest.importorskip("gguf")
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("SWEGYM_RFT_WORK_DIR", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    outputs = "\n".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                        for out in cell.get("outputs", []))
    assert not any(out.get("output_type") == "error" for cell in nb.cells for out in cell.get("outputs", []))
    assert "iteration 0: policy replay, 2/2 resolved" in outputs
    assert "iteration 1: policy hf" in outputs

    work = tmp_path / "rft"
    summary = json.loads((work / "rft.json").read_text())
    it0, it1 = summary["iterations"]
    assert (it0["policy"], it0["resolved"], it0["rollouts"], it0["train_samples"]) == ("replay", 2, 2, 2)
    checkpoint = Path(it0["checkpoint"])
    assert checkpoint == work / "iter-0" / "checkpoint" and (checkpoint / "model.safetensors").is_file()
    assert (checkpoint / "config.json").is_file() and (checkpoint / "tokenizer.json").is_file()
    # iteration 1 sampled the new checkpoint in-process and every rollout was graded as an agent outcome
    assert (it1["policy"], it1["model"], it1["rollouts"]) == ("hf", str(checkpoint), 2)
    assert it1["infrastructure_errors"] == 0 and it1["training"] == "skipped"
    rows = [json.loads(line) for line in (work / "iter-1" / "rollouts" / "trajectories.jsonl").read_text().splitlines()]
    assert sorted(r["instance_id"] for r in rows) == sorted(TASKS)
    assert all(r["model"] == str(checkpoint) and r["status"] not in (None, "error") for r in rows)
    assert summary["final_model"] == str(checkpoint)
    for name in ("sft.jsonl", "export.json", "train.json"):
        assert (work / "iter-0" / name).is_file()

    # the same loop from the command line: everything is done, so it only re-reads and reports
    train_marker = (work / "iter-0" / "train.json").stat().st_mtime_ns
    cmd = [sys.executable, "-m", "swegym.cli", "rft", "--model", str(tmp_path / "base-model"), "-d", "demo",
           *[a for t in TASKS for a in ("--instance-id", t)], "-n", "2", "--first-policy", "replay",
           "--first-policy-opt", f"path={tmp_path / 'gold.jsonl'}", "--max-iterations", "8",
           "--policy-opt", "max_new_tokens=48", "--train-opt", "max_steps=2", "--train-opt", "max_seq_len=4096",
           "--no-train-last", "-w", "2", "--work-dir", str(work), "--no-progress"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr.count("is complete, skipping") == 2 and "already done, skipping" in out.stderr
    report = json.loads(out.stdout)
    assert report["final_model"] == str(checkpoint)
    assert [r["resolved"] for r in report["iterations"]] == [2, it1["resolved"]]
    assert (work / "iter-0" / "train.json").stat().st_mtime_ns == train_marker
