"""The Moatless state machine on a real git checkout of the demo repository (no Docker needed).

The sandbox here is a real git working tree on the host; the policy is the real ``replay``
policy (or a scripted one that records what it was asked). Docker runs are in
test_moatless_docker.py.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import swegym
from swegym import CommandResult, Policy, PolicyResponse, Sandbox, ToolCall, Usage
from swegym.demo import materialize
from swegym_moatless.code_index import CodeIndex
from swegym_moatless.scaffold import MoatlessScaffold

CALC = "swegym-demo__calc-1"


class GitDirSandbox(Sandbox):
    """A sandbox that is a real git clone on the host (paths under repo_dir)."""

    def __init__(self, task, root: Path):
        self.task = task
        self.repo_dir = str(root)

    def run(self, command, timeout=120.0, output_limit=30_000):
        p = subprocess.run(["bash", "-c", command], cwd=self.repo_dir, capture_output=True, text=True, timeout=timeout)
        return CommandResult(p.returncode, p.stdout + p.stderr)

    def read_file(self, path):
        return Path(path).read_text()

    def write_file(self, path, content):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)

    def diff(self, repo_dir=None):
        subprocess.run(["git", "add", "-A"], cwd=self.repo_dir, check=True)
        return subprocess.run(["git", "diff", "--cached", self.task.base_commit], cwd=self.repo_dir,
                              capture_output=True, text=True, check=True).stdout

    def reset(self):
        subprocess.run(["git", "reset", "-q", "--hard", self.task.base_commit], cwd=self.repo_dir, check=True)

    def close(self):
        pass


class Scripted(Policy):
    """Returns canned replies in order and keeps every prompt it was given."""

    def __init__(self, replies, function_calling=False, usage=None):
        self.replies = list(replies)
        self.usage = usage or Usage(100, 20, 0.001, 1)
        self.prompts: list[list[dict]] = []
        self.tools_seen: list = []
        self.model = "scripted"
        self._fc = function_calling

    @property
    def supports_function_calling(self):
        return self._fc

    def complete(self, messages, tools=None, sampling=None):
        self.prompts.append(messages)
        self.tools_seen.append(tools)
        reply = self.replies.pop(0) if self.replies else ""
        if isinstance(reply, PolicyResponse):
            return reply
        return PolicyResponse(content=reply, usage=self.usage)


def J(**kw) -> str:
    return json.dumps(kw)


SOLVE = [
    J(scratch_pad="clamp is named in the issue", search_requests=[{"function_names": ["clamp"]}]),
    J(scratch_pad="clamp is the culprit", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
    J(scratch_pad="found it", relevant=True, complete=True),
    J(scratch_pad="use high", action="modify", instructions="Return max(low, min(value, high)).",
      file_path="calc/stats.py", span_id="clamp"),
    '<replace>\ndef clamp(value, low, high):\n    """Limit value to the closed interval [low, high]."""\n'
    '    if low > high:\n        raise ValueError("low must not exceed high")\n    return max(low, min(value, high))\n',
    J(scratch_pad="done", action="finish", finish="clamp now includes the upper bound"),
]


@pytest.fixture(scope="module")
def calc_task(demo_tasks):
    return next(t for t in demo_tasks if t.instance_id == CALC)


@pytest.fixture(scope="module")
def calc_index(calc_task):
    path, _ = materialize("calc")
    files = {str(p.relative_to(path)): p.read_text() for p in path.rglob("*.py") if ".git" not in p.parts}
    return CodeIndex.build(files, "hashing")


@pytest.fixture()
def sandbox(calc_task, tmp_path):
    path, _ = materialize("calc")
    subprocess.run(["git", "clone", "-q", str(path), str(tmp_path / "repo")], check=True)
    return GitDirSandbox(calc_task, tmp_path / "repo")


def test_replayed_run_solves_calc_through_every_state(calc_task, calc_index, sandbox):
    from swegym_replay.policy import ReplayPolicy

    policy = ReplayPolicy(trajectory=[{"role": "assistant", "content": r} for r in SOLVE])
    traj = MoatlessScaffold(index=calc_index).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "finished", traj.metadata["scaffold"]["stop_detail"]
    assert [c["state"] for c in traj.metadata["scaffold"]["calls"]] == [
        "SearchCode", "IdentifyCode", "DecideRelevance", "PlanToCode", "EditCode", "PlanToCode"]
    assert "+    return max(low, min(value, high))" in traj.patch
    assert "-    return max(low, min(value, high - 1))" in traj.patch
    edit = traj.metadata["scaffold"]["calls"][4]
    assert edit["messages"][-1]["content"].endswith(
        "<search>\ndef clamp(value, low, high):\n    \"\"\"Limit value to the closed interval [low, high].\"\"\"\n"
        "    if low > high:\n        raise ValueError(\"low must not exceed high\")\n"
        "    return max(low, min(value, high - 1))\n</search>")
    plan = traj.metadata["scaffold"]["calls"][5]["messages"]
    assert [m["role"] for m in plan] == ["system", "user", "assistant", "user"]  # the earlier visit replayed
    assert json.loads(plan[2]["content"])["span_id"] == "clamp"
    assert "<diff>\n--- calc/stats.py\n+++ calc/stats.py\n" in plan[3]["content"]


def test_unparsable_replies_are_reasked_then_end_the_rollout(calc_task, calc_index, sandbox):
    policy = Scripted(["no json here", "still none", "{not json}"])
    traj = MoatlessScaffold(index=calc_index).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "invalid_response"
    assert len(policy.prompts) == 3
    assert policy.prompts[2][-1]["content"].startswith("Recall the function correctly, fix the errors, exceptions found")
    assert [m["role"] for m in policy.prompts[2]] == ["system", "user", "assistant", "user", "assistant", "user"]


def test_more_than_two_retries_in_a_row_reject(calc_task, calc_index, sandbox):
    empty = J(scratch_pad="?", search_requests=[{"file_pattern": "calc/*.py"}])
    traj = MoatlessScaffold(index=calc_index).run(calc_task, sandbox, Scripted([empty] * 5))
    assert traj.stop_reason == "rejected"
    assert "number of retries exceeded" in traj.metadata["scaffold"]["stop_detail"]
    assert len(traj.metadata["scaffold"]["calls"]) == 3


def test_cost_cap_is_the_forks_dollar_at_reference_prices(calc_task, calc_index, sandbox):
    # 1,000 prompt + 100 completion tokens cost $0.0045 at Sonnet prices; the fork's loop sums the
    # completed visits after each action, so a $0.004 cap ends the run once SearchCode is left
    traj = MoatlessScaffold(index=calc_index, max_cost=0.004).run(
        calc_task, sandbox, Scripted(SOLVE, usage=Usage(1000, 100, None, 1)))
    assert traj.stop_reason == "budget_exceeded"
    assert [c["state"] for c in traj.metadata["scaffold"]["calls"]] == ["SearchCode"]
    assert MoatlessScaffold(index=calc_index, max_cost=0.005).run(
        calc_task, sandbox, Scripted(SOLVE, usage=Usage(1000, 100, None, 1))).metadata["scaffold"]["iterations"] == 3


def test_bad_options_are_clear_errors():
    with pytest.raises(swegym.SwegymError, match="unknown option"):
        MoatlessScaffold(max_rejections=2)
    # `swegym run` hands every scaffold the shared words; JSON in the text is what the fork ran
    scaffold = swegym.create("scaffold", "moatless", function_calling="auto", max_steps=30)
    assert scaffold.settings.max_transitions == 30
    with pytest.raises(swegym.SwegymError, match="JSON mode"):
        swegym.create("scaffold", "moatless", function_calling="native")


def test_lint_reports_only_the_errors_an_edit_introduced():
    from swegym_moatless.lint import format_errors, introduced_errors

    before = "import os\n\ndef f(x):\n    return undefined_a\n"
    after = "import os\n\ndef f(x):\n    return undefined_a + undefined_b\n"
    errors = introduced_errors(before, after, "pkg/mod.py")
    assert [(e.code, e.message, e.line) for e in errors] == [("E0602", "Undefined variable 'undefined_b'", 4)]
    assert format_errors(errors) == ("\n\nThe following lint errors was introduced after this change:\n<lint_errors>\n"
                                     " * E0602: Undefined variable 'undefined_b' (line 4)\n\n</lint_errors>")


def test_visit_and_transition_limits_are_the_forks(calc_task, calc_index, sandbox, tmp_path):
    plan = J(scratch_pad="edit", action="modify", instructions="Fix.", file_path="calc/stats.py", span_id="clamp")
    replies = SOLVE[:3] + [plan, "<reject>\nno\n</reject>"] * 9 + [plan]
    traj = MoatlessScaffold(index=calc_index).run(calc_task, sandbox, Scripted(replies))
    # loop.py: a state is refused once it has had more than max_iterations (8) earlier visits
    assert (traj.stop_reason, traj.metadata["scaffold"]["stop_detail"]) == ("rejected", "Max transitions exceeded for state PlanToCode.")
    assert [c["state"] for c in traj.metadata["scaffold"]["calls"]].count("PlanToCode") == 9
    path, _ = materialize("calc")
    subprocess.run(["git", "clone", "-q", str(path), str(tmp_path / "again")], check=True)
    traj = MoatlessScaffold(index=calc_index, max_transitions=3).run(
        calc_task, GitDirSandbox(calc_task, tmp_path / "again"), Scripted(SOLVE))
    assert (traj.stop_reason, traj.metadata["scaffold"]["stop_detail"]) == ("rejected", "Max transitions exceeded.")
    assert len(traj.metadata["scaffold"]["calls"]) == 3
