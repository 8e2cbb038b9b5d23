"""The openhands prompts and tool schemas reproduce the released SWE-Gym rows byte for byte."""
from __future__ import annotations

import json

import pytest

from swegym import Task
from swegym.formats import fncall
from swegym_openhands import scaffold as oh
from swegym_openhands.workspace import workspace_name

ROW_FILES = ("openhands-trajectories-sample.jsonl", "openhands-trajectories-mixed.jsonl")


def _rows(shared_data):
    for name in ROW_FILES:
        for number, line in enumerate((shared_data / name).read_text().splitlines(), start=1):
            yield f"{name}:{number}", json.loads(line)


def _task_for(row) -> Task:
    """The row's task: repo from the instance id, version and issue as the dataset has them."""
    instance = row["instance_id"].rsplit("_", 1)[0] if row["instance_id"].count("_") > 2 else row["instance_id"]
    owner, rest = instance.split("__", 1)
    repo = f"{owner}/{rest.rsplit('-', 1)[0]}"
    user = row["messages"][1]["content"]
    version = user.split("\n", 2)[1].rsplit("__", 1)[1]
    issue = user.split("<pr_description>\n", 1)[1].rsplit("\n</pr_description>", 1)[0]
    return Task(instance_id=instance, repo=repo, base_commit="0" * 40, problem_statement=issue, version=version)


def test_system_prompt_instruction_and_tools_match_every_row(shared_data):
    tools = oh.load_tools()
    checked = 0
    for where, row in _rows(shared_data):
        task = _task_for(row)
        assert oh.system_prompt() == row["messages"][0]["content"], where
        assert oh.instruction(task) == row["messages"][1]["content"], where
        # Rows went through a columnar format: null means absent. Order matters for the text format.
        assert json.dumps(tools) == json.dumps(fncall.clean_nulls(row["tools"])), where
        checked += 1
    assert checked == 12


def test_workspace_name_follows_swegym():
    task = Task(instance_id="python__mypy-15976", repo="python/mypy", base_commit="a" * 40, version="1.6")
    assert workspace_name(task) == "python__mypy__1.6"
    assert oh.instruction(task).startswith("<uploaded_files>\n/workspace/python__mypy__1.6\n</uploaded_files>\n")


def test_continue_message_matches_rows(shared_data):
    texts = {
        m["content"]
        for _, row in _rows(shared_data)
        for m in row["messages"][2:]
        if m["role"] == "user"
    }
    assert texts == {oh.continue_message()}


def test_text_mode_system_prompt_matches_sft_golden(shared_data):
    """Tools in the rows' order render the system prompt SWE-Gym fine-tuned on."""
    golden = json.loads((shared_data / "openhands-sft-golden.jsonl").read_text().splitlines()[0])
    native = [{"role": "system", "content": oh.system_prompt()}]
    assert fncall.messages_to_text(native, oh.load_tools())[0]["content"] == golden["messages"][0]["content"]


@pytest.mark.parametrize("bad", ["sometimes", 0, -3])
def test_bad_options_are_clear_errors(bad):
    import swegym

    with pytest.raises(swegym.SwegymError, match="openhands"):
        if isinstance(bad, str):
            swegym.create("scaffold", "openhands", function_calling=bad)
        else:
            swegym.create("scaffold", "openhands", max_iterations=bad)
