"""``swegym score`` end to end: a local tiny verifier scores a run; ``swegym report`` then has best@k."""
from __future__ import annotations

import json

from click.testing import CliRunner

from swegym.cli import cli
from test_report_html import make_run
from tiny_model import tiny_model_fixture

tiny_llama = tiny_model_fixture("llama")


def test_score_then_report(tiny_llama, tmp_path):
    run = make_run(tmp_path / "run", with_scores=False)
    r = CliRunner().invoke(cli, ["score", "--verifier", "orm", "--model", str(tiny_llama), "--run-dir", str(run), "--batch-size", "4",
                                 "--max-length", "128"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (run / "scores.jsonl").open()]
    assert len(rows) == 13 and [row["row"] for row in rows] == list(range(13))
    assert all(0.0 < row["score"] < 1.0 and row["verifier"] == str(tiny_llama) for row in rows)
    assert [row["sample_index"] for row in rows[:4]] == [0, 1, 2, 3]
    r = CliRunner().invoke(cli, ["report", str(run), "-o", str(tmp_path / "out"), "--trials", "20"])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    curve = summary["runs"]["run"]["curves"]
    assert all(c["best_at_k"] is not None and c["best_at_k"] <= c["pass_at_k"] + 1e-12 for c in curve)
    assert summary["runs"]["run"]["verifier"]["scored"] == 12


def test_score_released_rows_to_an_output_file(tiny_llama, tmp_path, shared_data):
    out = tmp_path / "mixed.scores.jsonl"
    r = CliRunner().invoke(cli, ["score", "--verifier", str(tiny_llama), "--run-dir",
                                 str(shared_data / "openhands-trajectories-mixed.jsonl"), "-o", str(out), "--max-length", "64"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.open()]
    assert [row["row"] for row in rows] == list(range(10))
    assert sum(bool(row["resolved"]) for row in rows) == 6


def test_score_cli_errors(tmp_path):
    run = make_run(tmp_path / "run", with_scores=False)
    r = CliRunner().invoke(cli, ["score", "--run-dir", str(run)])
    assert r.exit_code == 2 and "exactly one of model=DIR" in r.output
    r = CliRunner().invoke(cli, ["score", "--verifier", "nosuch", "--run-dir", str(run)])
    assert r.exit_code == 2 and "Available verifiers: " in r.output and "orm" in r.output
    r = CliRunner().invoke(cli, ["score", "--model", str(tmp_path), "--run-dir", str(run), "--verifier-opt", "bogus=1"])
    assert r.exit_code == 2 and "unknown option(s) bogus" in r.output and "api_base" in r.output
    r = CliRunner().invoke(cli, ["score", "--verifier", str(tmp_path), "--run-dir", str(run)])
    assert r.exit_code == 2 and "not a Hugging Face model directory" in r.output
