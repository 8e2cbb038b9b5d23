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
from swegym_moatless.actions import ActionError, ACTIONS, first_json_object, parse_action, validate
from swegym_moatless.index import build_index
from swegym_moatless.scaffold import MoatlessScaffold
from swegym_moatless.trajectory import call_samples, conversation

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

    def __init__(self, replies, function_calling=False):
        self.replies = list(replies)
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
        return PolicyResponse(content=reply, usage=Usage(100, 20, 0.001, 1))


def J(**kw) -> str:
    return json.dumps(kw)


SOLVE = [
    "I will look for clamp.\n```json\n" + J(scratch_pad="clamp is named in the issue", function_names=["clamp"]) + "\n```",
    J(scratch_pad="clamp is the culprit", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
    J(scratch_pad="found it", relevant=True, complete=True),
    J(scratch_pad="use high", action="modify", instructions="Return max(low, min(value, high)).",
      file_path="calc/stats.py", span_id="clamp"),
    J(scratch_pad="only the return line", start_line=27, end_line=27),
    J(scratch_pad="fix", replace="    return max(low, min(value, high))"),
    J(scratch_pad="done", action="finish", finish="clamp now includes the upper bound"),
]


@pytest.fixture(scope="module")
def calc_task(demo_tasks):
    return next(t for t in demo_tasks if t.instance_id == CALC)


@pytest.fixture(scope="module")
def calc_index(calc_task):
    path, _ = materialize("calc")
    files = {str(p.relative_to(path)): p.read_text() for p in path.rglob("*.py") if ".git" not in p.parts}
    return build_index(files, "bm25")


@pytest.fixture()
def sandbox(calc_task, tmp_path):
    path, _ = materialize("calc")
    subprocess.run(["git", "clone", "-q", str(path), str(tmp_path / "repo")], check=True)
    return GitDirSandbox(calc_task, tmp_path / "repo")


def _scaffold(index, **kw):
    return MoatlessScaffold(index=index, **kw)


def test_replayed_run_solves_calc_through_every_state(calc_task, calc_index, sandbox):
    policy = swegym.create("policy", "replay", trajectory={"messages": [{"role": "assistant", "content": r} for r in SOLVE]})
    traj = _scaffold(calc_index, max_tokens_in_edit_prompt=20).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "finished", traj.metadata["stop_detail"]
    states = [t["state"] for t in traj.metadata["transitions"]]
    assert states == ["SearchCode", "IdentifyCode", "DecideRelevance", "PlanToCode", "ClarifyCodeChange",
                      "EditCode", "PlanToCode"]
    assert "-    return max(low, min(value, high - 1))" in traj.patch
    assert "+    return max(low, min(value, high))" in traj.patch
    # per-call samples: one per model call, each the exact prompt + the reply
    calls = traj.metadata["calls"]
    assert [c["state"] for c in calls] == states
    assert calls[0]["messages"][0]["role"] == "system" and "<issue>" in calls[0]["messages"][1]["content"]
    assert calls[-1]["completion"] == {"role": "assistant", "content": SOLVE[-1]}
    # the edit prompt shows the exact lines to replace; the plan after the edit shows the diff
    assert "<search>\n    return max(low, min(value, high - 1))\n</search>" in calls[5]["messages"][-1]["content"]
    assert "<diff>" in calls[6]["messages"][-1]["content"] and "high))" in calls[6]["messages"][-1]["content"]
    assert traj.metadata["file_context"][0]["file_path"] == "calc/stats.py"
    assert "clamp" in traj.metadata["file_context"][0]["span_ids"]
    assert traj.metadata["transitions"][0]["output"]["ranked_spans"][0]["span_id"] == "clamp"
    # the conversation holds every reply in order, so replaying it reproduces the run
    replies = [m["content"] for m in traj.messages if m["role"] == "assistant"]
    assert replies == SOLVE
    assert len(call_samples(traj)) == 7
    json.dumps(traj.to_dict())  # the whole record is JSON


def test_replaying_the_recorded_trajectory_reproduces_the_patch(calc_task, calc_index, sandbox, tmp_path):
    first = _scaffold(calc_index).run(calc_task, sandbox, Scripted(SOLVE[:4] + SOLVE[5:]))
    assert first.stop_reason == "finished"
    path = tmp_path / "traj.jsonl"
    path.write_text(json.dumps(first.to_dict()) + "\n")
    sandbox.reset()
    again = _scaffold(calc_index).run(calc_task, sandbox, swegym.create("policy", "replay", path=str(path)))
    assert again.stop_reason == "finished"
    assert again.patch == first.patch and "high))" in again.patch
    # small span → PlanToCode goes straight to EditCode
    assert "ClarifyCodeChange" not in [t["state"] for t in again.metadata["transitions"]]


def test_malformed_reply_is_recovered_by_a_retry(calc_task, calc_index, sandbox):
    replies = ["Sure! I think we should look at the code.", *SOLVE[:4], SOLVE[5], SOLVE[6]]
    policy = Scripted(replies)
    traj = _scaffold(calc_index).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "finished"
    first = traj.metadata["transitions"][0]
    assert first["retries"] == 1 and "no JSON object" in first["errors"][0]
    # the retry prompt is the original prompt + the bad reply + the feedback
    retry_prompt = policy.prompts[1]
    assert retry_prompt[:2] == policy.prompts[0]
    assert retry_prompt[2] == {"role": "assistant", "content": replies[0]}
    assert retry_prompt[3]["role"] == "user" and "no JSON object" in retry_prompt[3]["content"]
    calls = traj.metadata["calls"]
    assert calls[0]["valid"] is False and calls[1]["valid"] is True
    assert len(call_samples(traj)) == len(calls) - 1
    # the conversation adds only the feedback for a retry, not the whole prompt again
    conv = traj.messages
    assert [m["role"] for m in conv[:5]] == ["system", "user", "assistant", "user", "assistant"]


def test_exhausted_retries_end_the_rollout_with_the_reason(calc_task, calc_index, sandbox):
    policy = Scripted(["nope", J(scratch_pad="x"), J(scratch_pad="x", query="")])
    traj = _scaffold(calc_index, max_retries=2).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "invalid_response"
    assert traj.metadata["stop_reason"] == "invalid_response"
    assert "SearchCode" in traj.metadata["stop_detail"] and "at least one of the search attributes" in traj.metadata["stop_detail"]
    assert len(policy.prompts) == 3 and traj.patch == ""
    assert traj.metadata["transitions"][0]["retries"] == 3


def test_semantic_errors_are_retried_with_what_exists(calc_task, calc_index, sandbox):
    replies = [SOLVE[0],
               J(scratch_pad="x", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clampp"]}]),
               *SOLVE[1:3],
               J(scratch_pad="x", action="modify", instructions="fix", file_path="calc/stats.py", span_id="nope"),
               SOLVE[3], SOLVE[5], SOLVE[6]]
    policy = Scripted(replies)
    traj = _scaffold(calc_index).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "finished"
    tr = traj.metadata["transitions"]
    assert "clampp" in tr[1]["errors"][0] and "clamp" in tr[1]["errors"][0].split("Available spans:")[1]
    assert "Span not found: nope" in tr[3]["errors"][0]


def test_native_tool_calls_and_reject_edit(calc_task, calc_index, sandbox):
    def call(name, **args):
        return PolicyResponse(content="", tool_calls=[ToolCall(f"id{len(args)}", name, json.dumps(args))],
                              usage=Usage(10, 5, None, 1))
    replies = [call("Search", scratch_pad="s", class_names=[], function_names=["clamp"]),
               call("Identify", scratch_pad="i", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
               call("Decision", scratch_pad="d", relevant=True, complete=True),
               call("ApplyChange", scratch_pad="p", action="modify", instructions="x", file_path="calc/stats.py", span_id="clamp"),
               call("CodeChange", replace="", reject="cannot"),
               call("ApplyChange", scratch_pad="p", action="reject", reject="giving up")]
    policy = Scripted(replies, function_calling=True)
    traj = _scaffold(calc_index).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "rejected" and traj.metadata["stop_detail"] == "giving up"
    assert traj.metadata["function_calling"] == "native"
    assert [t[0]["function"]["name"] for t in policy.tools_seen] == ["Search", "Identify", "Decision", "ApplyChange",
                                                                      "CodeChange", "ApplyChange"]
    assert "rejected: cannot" in policy.prompts[5][-1]["content"]
    assert traj.patch == ""


def test_limits_transitions_and_token_budget(calc_task, calc_index, sandbox):
    loop = [r for i in range(10) for r in (J(scratch_pad="s", query=f"clamp value {i}"),
                                           J(scratch_pad="none", identified_spans=[]))]
    traj = _scaffold(calc_index, max_transitions=3).run(calc_task, sandbox, Scripted(loop))
    assert traj.stop_reason == "max_transitions" and len(traj.metadata["transitions"]) == 3
    traj = _scaffold(calc_index, max_tokens=250).run(calc_task, sandbox, Scripted(SOLVE))
    assert traj.stop_reason == "budget_exceeded"
    assert traj.metadata["usage"]["prompt_tokens"] + traj.metadata["usage"]["completion_tokens"] >= 250
    traj = _scaffold(calc_index, max_cost=0.0015).run(calc_task, sandbox, Scripted(SOLVE))
    assert traj.stop_reason == "budget_exceeded" and traj.metadata["usage"]["calls"] == 2


def test_context_window_exceeded_ends_cleanly(calc_task, calc_index, sandbox):
    policy = Scripted([PolicyResponse(content="", outcome="context_window_exceeded")])
    traj = _scaffold(calc_index).run(calc_task, sandbox, policy)
    assert traj.stop_reason == "context_window_exceeded"


def test_edit_reports_only_lint_errors_it_introduced(calc_task, calc_index, sandbox):
    replies = [*SOLVE[:5], J(replace="    return max(low, min(valeu, high))"), SOLVE[6]]
    policy = Scripted(replies)
    traj = _scaffold(calc_index, max_tokens_in_edit_prompt=20).run(calc_task, sandbox, policy)
    errors = traj.metadata["transitions"][5]["output"]["lint_errors"]
    assert [e["message"] for e in errors] == ["undefined name 'valeu'"]
    assert "<lint_errors>" in policy.prompts[6][-1]["content"] and "valeu" in policy.prompts[6][-1]["content"]


def test_action_parsing_and_validation():
    spec = ACTIONS["SearchCode"]
    assert first_json_object('noise {bad} then ```json\n{"a": {"b": 1}}\n```') == {"a": {"b": 1}}
    assert parse_action(PolicyResponse('{"name": "Search", "arguments": {"scratch_pad": "x", "query": "q"}}'), spec)["query"] == "q"
    with pytest.raises(ActionError, match="missing required field 'scratch_pad'"):
        parse_action(PolicyResponse('{"query": "q"}'), spec)
    with pytest.raises(ActionError, match="unknown field"):
        parse_action(PolicyResponse('{"scratch_pad": "x", "colour": 1}'), spec)
    with pytest.raises(ActionError, match=r"identified_spans\[0\].span_ids must be array"):
        validate({"scratch_pad": "", "identified_spans": [{"file_path": "a", "span_ids": "b"}]}, ACTIONS["IdentifyCode"].schema)
    with pytest.raises(ActionError, match="must be one of"):
        validate({"scratch_pad": "", "action": "review"}, ACTIONS["PlanToCode"].schema)
    # MoatlessTools' own <replace> format is accepted for EditCode
    assert parse_action(PolicyResponse("ok\n<replace>\n    x = 1\n</replace>"), ACTIONS["EditCode"])["replace"] == "    x = 1"


def test_bad_options_are_clear_errors():
    with pytest.raises(swegym.SwegymError, match="unknown option"):
        swegym.create("scaffold", "moatless", max_transitons=3)
    with pytest.raises(swegym.SwegymError, match="function_calling"):
        swegym.create("scaffold", "moatless", function_calling="xml")
    assert conversation([]) == []


def test_lint_ignores_errors_the_file_already_had():
    from swegym_moatless.lint import introduced_errors

    before = "def f():\n    return foo\n"
    after = "\n\ndef f():\n    return foo + bar\n"
    assert [(e.code, e.message, e.line) for e in introduced_errors(before, after)] == [
        ("UndefinedName", "undefined name 'bar'", 4)]
    assert introduced_errors(before, "def f(:\n")[0].code == "E999"
