"""SWE-bench predictions from run directories, SWE-bench flag spellings and dataset names (no container)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from swegym.cli import cli as main
from swegym.cli.swebench_flags import rewrite_swebench_flags
from swegym.dataset_names import resolve_dataset_name
from swegym.export.predictions import PredictionsWriter, export_predictions, model_label, preds_path
from swegym.harness import load_predictions
from swegym.tasks import iter_raw_rows


def _row(iid: str, k: int, patch: str, status: str = "unresolved") -> dict:
    return {"instance_id": iid, "patch": patch, "messages": [], "metadata": {"sample_index": k},
            "evaluation": {"instance_id": iid, "status": status}, "status": status, "resolved": status == "resolved"}


def _run_dir(tmp_path: Path, rows: list[dict], model: str | None = "openai/gpt-4o") -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {"policy": "litellm", "policy_options": {"model": model} if model else {}}
    (run / "manifest.json").write_text(json.dumps({"run_id": "r", "config": config}))
    return run


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


ROWS = [_row("a__b-1", 0, "diff a0"), _row("a__b-1", 1, "diff a1", "resolved"), _row("c__d-2", 0, ""),
        _row("c__d-2", 1, "diff c1")]


def test_writer_rebuilds_from_rows_then_appends_without_duplicates(tmp_path):
    writer = PredictionsWriter(tmp_path, "m/x")
    assert writer.rebuild(ROWS[:3]) == 3
    assert [p["instance_id"] for p in _lines(tmp_path / "preds.jsonl")] == ["a__b-1", "c__d-2"]
    writer.add(ROWS[3])
    assert _lines(tmp_path / "preds.1.jsonl") == [
        {"instance_id": "a__b-1", "model_name_or_path": "m/x", "model_patch": "diff a1"},
        {"instance_id": "c__d-2", "model_name_or_path": "m/x", "model_patch": "diff c1"}]
    # a resumed run rebuilds from trajectories.jsonl: the rows it had, once each
    writer.rebuild(ROWS)
    assert len(_lines(tmp_path / "preds.1.jsonl")) == 2 and len(_lines(tmp_path / "preds.jsonl")) == 2
    assert load_predictions(tmp_path / "preds.jsonl")["c__d-2"].model_patch == ""  # swegym eval reads it back
    writer.rebuild(ROWS[:1])  # --retry-errors dropped rows: stale sample files go
    assert not (tmp_path / "preds.1.jsonl").exists()


def test_export_every_sample_one_sample_and_best_of(tmp_path):
    run = _run_dir(tmp_path, ROWS)
    written = export_predictions(run)
    assert [(p.name, n) for p, n in written] == [("preds.jsonl", 2), ("preds.1.jsonl", 2)]
    assert {p["model_name_or_path"] for p in _lines(run / "preds.jsonl")} == {"openai/gpt-4o"}
    (out,) = export_predictions(run, tmp_path / "one.jsonl", sample=1, model="mine")
    assert out[0].name == "one.jsonl" and _lines(out[0])[0] == {
        "instance_id": "a__b-1", "model_name_or_path": "mine", "model_patch": "diff a1"}
    with pytest.raises(Exception, match="--best-of needs verifier scores"):
        export_predictions(run, best_of=True)
    scores = [{"row": i, "instance_id": r["instance_id"], "sample_index": r["metadata"]["sample_index"],
               "score": s} for i, (r, s) in enumerate(zip(ROWS, [0.2, 0.9, 0.5, 0.5]))]
    (run / "scores.jsonl").write_text("".join(json.dumps(s) + "\n" for s in scores))
    (best,) = export_predictions(run, best_of=True)
    assert {p["instance_id"]: p["model_patch"] for p in _lines(best[0])} == {"a__b-1": "diff a1", "c__d-2": ""}


def test_export_predictions_cli(tmp_path):
    run = _run_dir(tmp_path, ROWS, model=None)
    res = CliRunner().invoke(main, ["export", "predictions", "--run-dir", str(run), "--sample", "0",
                                    "-o", str(tmp_path / "p.jsonl")])
    assert res.exit_code == 0, res.output
    assert _lines(tmp_path / "p.jsonl")[0]["model_name_or_path"] == "litellm"  # no --model: the policy's name
    res = CliRunner().invoke(main, ["export", "predictions", "--run-dir", str(run), "--sample", "7"])
    assert res.exit_code == 2 and "sample indices [0, 1]" in res.output
    res = CliRunner().invoke(main, ["export", "predictions", "--run-dir", str(tmp_path)])
    assert res.exit_code == 2 and "not a run directory" in res.output


def test_model_label_and_paths():
    assert model_label({"policy": "hf", "policy_options": {"model": "./ckpt"}}) == "./ckpt"
    assert model_label({"policy": "replay", "policy_options": {"path": "g.jsonl"}}) == "replay"
    assert preds_path("R", 0) == Path("R/preds.jsonl") and preds_path("R", 3) == Path("R/preds.3.jsonl")


def test_swebench_flag_spellings_become_swegyms():
    args = ["--dataset_name", "lite", "--predictions_path=p.jsonl", "--run_id", "r1", "--max_workers", "8",
            "--instance_ids", "a", "b", "--report_dir", "out", "-i", "c", "--split", "test"]
    assert rewrite_swebench_flags(args) == [
        "--dataset", "lite", "--predictions=p.jsonl", "--run-id", "r1", "--workers", "8",
        "--instance-id", "a", "--instance-id", "b", "--report-dir", "out", "--instance-id", "c", "--split", "test"]
    assert rewrite_swebench_flags(["--run-dir", "--run_id"]) == ["--run-dir", "--run-id"]


def test_eval_reports_swebench_flags_errors_like_its_own(tmp_path):
    res = CliRunner().invoke(main, ["eval", "--dataset_name", "demo", "--predictions_path", str(tmp_path / "none.jsonl"),
                                    "--run_id", "r1", "--max_workers", "2", "--instance_ids", "swegym-demo__calc-1"])
    assert res.exit_code == 2 and "predictions file not found" in res.output, res.output


def test_dataset_short_names(tmp_path, monkeypatch):
    assert resolve_dataset_name("lite") == "princeton-nlp/SWE-bench_Lite"
    assert resolve_dataset_name("Verified") == "princeton-nlp/SWE-bench_Verified"
    assert resolve_dataset_name("gym") == "SWE-Gym/SWE-Gym"
    assert resolve_dataset_name("gym-lite") == "SWE-Gym/SWE-Gym-Lite"
    assert resolve_dataset_name("tasks.jsonl") == "tasks.jsonl"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lite").write_text("")
    assert resolve_dataset_name("lite") == "lite"  # a file of that name wins
    label, _ = iter_raw_rows("gym-lite")
    assert label == "SWE-Gym/SWE-Gym-Lite"
    assert iter_raw_rows("demo")[0] == "dataset 'demo'"


def test_patch_with_undecodable_bytes_still_writes_valid_jsonl(tmp_path):
    patch = b"diff --git a/x b/x\n+caf\xe9\n".decode("utf-8", "surrogateescape")
    PredictionsWriter(tmp_path, "m").add(_row("a__b-1", 0, patch))
    raw = (tmp_path / "preds.jsonl").read_bytes()
    raw.decode("utf-8")  # valid UTF-8 on disk
    assert json.loads(raw)["model_patch"] == patch
