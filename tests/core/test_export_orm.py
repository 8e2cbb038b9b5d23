"""Verifier (ORM) conversations: SWE-Gym's OpenHands rendering exactly; the Moatless prompt; sampling."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from swegym import SwegymError, Task
from swegym.cli import cli
from swegym.export.orm import export_orm, orm_answer, render_orm_conversation, select_pairs
from swegym.formats import swegym_rows

from test_export_sft import _read, _run_dir, moatless_trajectory

SAMPLE, MIXED = "openhands-trajectories-sample.jsonl", "openhands-trajectories-mixed.jsonl"


@pytest.mark.parametrize("source, golden", [(SAMPLE, "openhands-orm-golden.jsonl"), (MIXED, "openhands-orm-golden-mixed.jsonl")])
def test_rendering_reproduces_swegym_orm_golden(shared_data, source, golden):
    gold = _read(shared_data / golden)
    trajs = list(swegym_rows.read_rows(shared_data / source))
    assert len(trajs) == len(gold)
    for position, (traj, expected) in enumerate(zip(trajs, gold)):  # identify rows by position
        prompt = render_orm_conversation(traj)
        assert prompt + [orm_answer(traj.resolved)] == expected["messages"], f"row {position}"
        assert expected["resolved"] is traj.resolved


def test_export_all_rows_equals_golden(shared_data, tmp_path):
    stats = export_orm(shared_data / MIXED, tmp_path / "o.jsonl", negative_ratio=None)
    got = _read(tmp_path / "o.jsonl")
    gold = [{k: v for k, v in row.items() if k != "row"} for row in _read(shared_data / "openhands-orm-golden-mixed.jsonl")]
    assert stats.written == 10 and got == gold


def test_answers():
    assert orm_answer(True) == {"role": "assistant", "content": "<judgement>YES</judgement>"}
    assert orm_answer(False) == {"role": "assistant", "content": "<judgement>NO</judgement>"}
    assert orm_answer(True, "moatless")["content"] == "True"
    assert orm_answer(False, "moatless")["content"] == "False"
    with pytest.raises(SwegymError, match="unknown ORM template"):
        orm_answer(True, "swe-agent")


def test_negative_sampling_ratio_and_seed(shared_data, tmp_path):
    trajs = list(swegym_rows.read_rows(shared_data / MIXED))  # 6 resolved, 4 not
    one = select_pairs(trajs, 0.5, seed=1)
    assert sum(t.resolved for t in one) == 6 and sum(not t.resolved for t in one) == 3
    assert [id(t) for t in one] == [id(t) for t in select_pairs(trajs, 0.5, seed=1)]
    seeds = {tuple(i for i, t in enumerate(trajs) if t in select_pairs(trajs, 0.25, seed=s)) for s in range(8)}
    assert len(seeds) > 1  # the seed changes which negatives are drawn
    assert sum(not t.resolved for t in select_pairs(trajs, 1.0, seed=0)) == 4  # capped by what exists
    stats = export_orm(shared_data / MIXED, tmp_path / "o.jsonl", negative_ratio=0.5, seed=3)
    rows = _read(tmp_path / "o.jsonl")
    assert stats.written == 9 and [r["resolved"] for r in rows].count(False) == 3
    assert all(r["messages"][-1]["content"] == ("<judgement>YES</judgement>" if r["resolved"] else "<judgement>NO</judgement>")
               for r in rows)


def test_mixing_runs_and_skipping_infrastructure_errors(shared_data, tmp_path):
    broken = moatless_trajectory()
    broken.evaluation = {"status": "error", "error": "image missing"}
    ungraded = moatless_trajectory()
    ungraded.evaluation = None
    run = _run_dir(tmp_path, [broken, ungraded])
    stats = export_orm([shared_data / SAMPLE, run, shared_data / MIXED], tmp_path / "o.jsonl", negative_ratio=None)
    assert stats.read == 14 and stats.written == 12
    assert stats.skipped == {"infrastructure_error": 1, "not_evaluated": 1}
    assert {r["instance_id"] for r in _read(tmp_path / "o.jsonl")} == {
        "python__mypy-15976_0", "Project-MONAI__MONAI-5686_4", "python__mypy-10308"}


def test_moatless_prompt_has_issue_patch_context_and_spans():
    traj = moatless_trajectory()
    system, user = render_orm_conversation(traj, "moatless")
    assert system["role"] == "system" and system["content"].startswith("You are an expert in python for software engineering")
    text = user["content"]
    assert "<issue_description>\nmean() is off by one\n</issue_description>" in text
    assert ('<before_patch>\n<before_file="a/calc/stats.py" start_line=1>\n(0001) def mean(xs):\n'
            "(0002)     return sum(xs) / len(xs) + 1\n(0003) \n</before_file=\"a/calc/stats.py\">\n</before_patch>") in text
    assert "(0002)     return sum(xs) / len(xs)\n(0003) \n</after_file=\"b/calc/stats.py\">" in text
    assert ("<code_span file_path=calc/stats.py span_id=mean>\n1 def mean(xs):\n2     return sum(xs) / len(xs) + 1\n"
            "</code_span>") in text
    assert text.endswith('Response in "True" or "False" for whether the patch has resolved the issue.')


def test_moatless_issue_text_from_task_or_clear_error():
    traj = moatless_trajectory()
    del traj.metadata["problem_statement"]
    with pytest.raises(SwegymError, match="no issue text"):
        render_orm_conversation(traj, "moatless")
    task = Task(instance_id="calc-1", repo="demo/calc", base_commit="abc", problem_statement="Issue from the task")
    assert "Issue from the task" in render_orm_conversation(traj, "moatless", task=task)[1]["content"]


def test_cli_orm(shared_data, tmp_path):
    out = tmp_path / "cli.jsonl"
    result = CliRunner().invoke(cli, ["export", "orm", "--run-dir", str(shared_data / SAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _read(out) == _read(shared_data / "openhands-orm-golden.jsonl")
    run = _run_dir(tmp_path, [moatless_trajectory(), moatless_trajectory(resolved=False, run_id="m2")])
    result = CliRunner().invoke(cli, ["export", "orm", "--run-dir", str(run), "--template", "moatless", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [r["messages"][-1]["content"] for r in _read(out)] == ["True", "False"]
    result = CliRunner().invoke(cli, ["export", "orm", "--run-dir", str(run), "--max-tokens", "5", "-o", str(out)])
    assert result.exit_code == 2 and "needs --tokenizer" in result.output
