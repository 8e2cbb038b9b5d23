"""``swegym export sft``: SWE-Gym's SFT data reproduced exactly, plus filters and formats."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from swegym import SwegymError, Trajectory
from swegym.cli import cli
from swegym.export.sft import export_sft, sft_samples, split_tool_calls
from swegym.formats import swegym_rows

SAMPLE, MIXED = "openhands-trajectories-sample.jsonl", "openhands-trajectories-mixed.jsonl"


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _run_dir(tmp_path, trajectories, name="run"):
    """A run directory as the orchestrator writes it: trajectories.jsonl of Trajectory.to_dict() rows."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "trajectories.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in trajectories))
    return folder


def moatless_trajectory(resolved=True, instance_id="calc-1", run_id="m1"):
    """A small synthetic Moatless rollout with the fields the moatless scaffold records."""
    calls = [
        {"state": "SearchCode", "messages": [{"role": "system", "content": "You search code."},
                                             {"role": "user", "content": "Find mean()"}],
         "completion": {"role": "assistant", "content": "search mean in calc/stats.py"}},
        {"state": "PlanToCode", "messages": [{"role": "system", "content": "You plan."},
                                             {"role": "user", "content": "Fix mean()"}],
         "completion": {"role": "assistant", "content": "edit span mean"}},
    ]
    return Trajectory(
        instance_id=instance_id, run_id=run_id, scaffold="moatless", model="local",
        messages=[{"role": "user", "content": "Fix mean()"}, {"role": "assistant", "content": "done"}],
        patch=("diff --git a/calc/stats.py b/calc/stats.py\n--- a/calc/stats.py\n+++ b/calc/stats.py\n"
               "@@ -1,3 +1,3 @@\n def mean(xs):\n-    return sum(xs) / len(xs) + 1\n+    return sum(xs) / len(xs)\n \n"),
        metadata={"calls": calls, "problem_statement": "mean() is off by one",
                  "file_context": [{"file_path": "calc/stats.py", "span_ids": ["mean"],
                                    "content": "1 def mean(xs):\n2     return sum(xs) / len(xs) + 1"}]},
        evaluation={"instance_id": instance_id, "status": "resolved" if resolved else "unresolved"},
    )


@pytest.mark.parametrize("source, golden", [(SAMPLE, "openhands-sft-golden.jsonl"), (MIXED, "openhands-sft-golden-mixed.jsonl")])
def test_export_reproduces_swegym_sft_golden(shared_data, tmp_path, source, golden):
    out = tmp_path / "sft.jsonl"
    stats = export_sft(shared_data / source, out, include_unresolved=True)
    gold = _read(shared_data / golden)
    got = _read(out)
    assert stats.written == len(gold) == len(got)
    for position, (row, expected) in enumerate(zip(got, gold)):  # identify rows by position
        expected.pop("row", None)
        assert row == expected, f"row {position}"


def test_run_directory_gives_the_same_rows_as_released_file(shared_data, tmp_path):
    run = _run_dir(tmp_path, list(swegym_rows.read_rows(shared_data / SAMPLE)))
    export_sft(run, tmp_path / "a.jsonl")
    export_sft(shared_data / SAMPLE, tmp_path / "b.jsonl")
    assert _read(tmp_path / "a.jsonl") == _read(tmp_path / "b.jsonl") == _read(shared_data / "openhands-sft-golden.jsonl")


def test_resolved_only_by_default_and_cap_per_task(shared_data, tmp_path):
    stats = export_sft(shared_data / MIXED, tmp_path / "r.jsonl")
    rows = _read(tmp_path / "r.jsonl")
    assert stats.written == 6 and all(r["resolved"] for r in rows) and stats.skipped == {"unresolved": 4}
    stats = export_sft([shared_data / MIXED, shared_data / SAMPLE], tmp_path / "c.jsonl", max_per_task=2)
    counts = {}
    for row in _read(tmp_path / "c.jsonl"):
        counts[row["instance_id"]] = counts.get(row["instance_id"], 0) + 1
    assert counts == {"python__mypy-10308": 2, "python__mypy-15976_0": 1, "Project-MONAI__MONAI-5686_4": 1}
    assert stats.skipped["max_per_task"] == 4


def test_infrastructure_errors_are_never_exported(tmp_path):
    bad = moatless_trajectory()
    bad.evaluation = {"status": "error", "error": "daemon gone"}
    stats = export_sft(_run_dir(tmp_path, [bad, moatless_trajectory()]), tmp_path / "o.jsonl",
                       include_unresolved=True, format="tool-calls")
    assert stats.written == 1 and stats.skipped == {"infrastructure_error": 1}


def test_tool_calls_format_keeps_native_calls(shared_data, tmp_path):
    export_sft(shared_data / SAMPLE, tmp_path / "t.jsonl", format="tool-calls")
    rows = _read(tmp_path / "t.jsonl")
    traj = next(swegym_rows.read_rows(shared_data / SAMPLE))
    assert rows[0]["tools"] == traj.tools
    assert sum(len(m.get("tool_calls") or []) for m in rows[0]["messages"]) == sum(
        len(m.get("tool_calls") or []) for m in traj.messages)
    assert rows[0]["messages"][-1]["role"] != "tool"
    assert all(v is not None for m in rows[0]["messages"] for k, v in m.items() if k != "content")


def test_moatless_calls_format_writes_one_sample_per_call(tmp_path):
    run = _run_dir(tmp_path, [moatless_trajectory(), moatless_trajectory(resolved=False, run_id="m2")])
    stats = export_sft(run, tmp_path / "m.jsonl", format="moatless-calls")
    rows = _read(tmp_path / "m.jsonl")
    assert stats.written == 2 and [r["state"] for r in rows] == ["SearchCode", "PlanToCode"]
    assert rows[0]["messages"][-1] == {"role": "assistant", "content": "search mean in calc/stats.py"}
    assert rows[1]["messages"][:2] == moatless_trajectory().metadata["calls"][1]["messages"]


def test_moatless_calls_keep_the_last_call_of_each_state_visit(tmp_path):
    # the fork's prompt logs (its SFT data) keep one request per visit: the one after any retries
    traj = moatless_trajectory()
    first, second = traj.metadata["calls"]
    retried = dict(first, messages=first["messages"] + [first["completion"], {"role": "user", "content": "retry"}],
                   completion={"role": "assistant", "content": "search again"})
    traj.metadata["calls"] = [dict(first, visit=0), dict(retried, visit=0), dict(second, visit=1)]
    rows = sft_samples(traj, "moatless-calls")
    assert [r["call"] for r in rows] == [1, 2]
    traj.metadata["calls"][2]["error"] = "unparsable"  # the run ended on an unparsable reply
    assert [r["call"] for r in sft_samples(traj, "moatless-calls")] == [1]
    assert rows[0]["messages"][-3:] == [first["completion"], {"role": "user", "content": "retry"},
                                        {"role": "assistant", "content": "search again"}]


def test_split_tool_calls_pairs_results_with_calls():
    call = lambda i: {"id": f"c{i}", "type": "function", "function": {"name": "execute_bash", "arguments": "{}"}}  # noqa: E731
    messages = [{"role": "assistant", "content": "two", "tool_calls": [call(1), call(2)]},
                {"role": "tool", "tool_call_id": "c2", "name": "execute_bash", "content": "r2"},
                {"role": "tool", "tool_call_id": "c1", "name": "execute_bash", "content": "r1"},
                {"role": "assistant", "content": None, "tool_calls": [call(3)]},
                {"role": "tool", "tool_call_id": "c3", "name": "execute_bash", "content": "r3"}]
    out = split_tool_calls(messages)
    assert [(m["role"], m.get("content")) for m in out] == [
        ("assistant", "two"), ("tool", "r1"), ("assistant", ""), ("tool", "r2"), ("assistant", None)]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    """A real Hugging Face tokenizer folder (a small BPE trained here; no network)."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    tok.train_from_iterator(["def mean(xs): return sum(xs) / len(xs)", "EXECUTION RESULT of [execute_bash]:"] * 50,
                            trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>"]))
    folder = tmp_path_factory.mktemp("tok")
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>").save_pretrained(str(folder))
    return folder


def test_token_length_filter_uses_the_tokenizer(shared_data, tmp_path, tokenizer_dir):
    from swegym.export.tokens import token_counter

    count = token_counter(tokenizer_dir)
    lengths = sorted(count(row["messages"]) for row in _read(shared_data / "openhands-sft-golden.jsonl"))
    limit = (lengths[0] + lengths[1]) // 2
    stats = export_sft(shared_data / SAMPLE, tmp_path / "f.jsonl", max_tokens=limit, tokenizer=tokenizer_dir)
    assert stats.written == 1 and stats.skipped == {"too_long": 1}
    assert count(_read(tmp_path / "f.jsonl")[0]["messages"]) == lengths[0]


def test_length_filter_without_tokenizer_is_a_clear_error(shared_data, tmp_path):
    with pytest.raises(SwegymError, match="needs --tokenizer"):
        export_sft(shared_data / SAMPLE, tmp_path / "x.jsonl", max_tokens=100)
    with pytest.raises(SwegymError, match="unknown SFT format"):
        export_sft(shared_data / SAMPLE, tmp_path / "x.jsonl", format="chatml")
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_sft(shared_data, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli.jsonl"
    result = runner.invoke(cli, ["export", "sft", "--run-dir", str(shared_data / SAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["written"] == 2
    assert _read(out) == _read(shared_data / "openhands-sft-golden.jsonl")
    result = runner.invoke(cli, ["export", "sft", "--run-dir", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 2 and "without trajectories.jsonl" in result.output


def test_malformed_trajectory_is_a_data_error_and_leaves_no_file(tmp_path):
    broken = moatless_trajectory()
    broken.messages = [{"role": "assistant", "content": "x", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "execute_bash", "arguments": "{not json"}}]}]
    broken.tools = [{"type": "function", "function": {"name": "execute_bash", "description": "d"}}]
    out = tmp_path / "o.jsonl"
    with pytest.raises(SwegymError, match=r"calc-1 \(m1\).*not JSON"):
        export_sft(_run_dir(tmp_path, [broken]), out)
    assert not out.exists() and not list(tmp_path.glob("*.part"))
