"""The openhands scaffold end to end in real Docker sandboxes (demo task calc-1)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import swegym
from swegym import InfrastructureError, Policy, PolicyResponse, SamplingParams, ToolCall, Usage

TRAJECTORY = Path(__file__).resolve().parents[2] / "data" / "trajectories" / "swegym-demo__calc-1.json"
WORKSPACE = "/workspace/swegym-demo__calc__0.1"


class ScriptedPolicy(Policy):
    """Answers with the given replies in order and remembers what it was asked."""

    model = "scripted"

    def __init__(self, replies, native=True):
        self.replies = list(replies)
        self.native = native
        self.seen: list[tuple[list, list | None, SamplingParams | None]] = []

    @property
    def supports_function_calling(self) -> bool:
        return self.native

    def complete(self, messages, tools=None, sampling=None):
        self.seen.append((messages, tools, sampling))
        reply = self.replies.pop(0) if self.replies else self.replies_exhausted()
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, PolicyResponse):
            return reply
        return PolicyResponse(content=reply, usage=Usage(prompt_tokens=10, completion_tokens=5, calls=1))

    def replies_exhausted(self):
        return PolicyResponse(content="", tool_calls=[ToolCall("fin", "finish", "{}")])


def bash(command, cid):
    return PolicyResponse(content="", tool_calls=[ToolCall(cid, "execute_bash", json.dumps({"command": command}))])


@pytest.fixture(scope="module")
def calc_task():
    return next(t for t in swegym.load_tasks("demo") if t.instance_id == "swegym-demo__calc-1")


@pytest.fixture(scope="module")
def runtime(docker_client, base_image):
    rt = swegym.create("runtime", "docker")
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def sandbox(runtime, calc_task):
    sb = runtime.open(calc_task)
    yield sb
    sb.close()


def test_replayed_trajectory_fixes_calc_and_the_harness_resolves_it(runtime, sandbox, calc_task):
    from swegym import harness

    recorded = swegym.Trajectory.from_dict(json.loads(TRAJECTORY.read_text()))
    policy = swegym.create("policy", "replay", trajectory=recorded)
    # recorded with a copied workspace (its first `view` lists the tree; the fork's symlink would not)
    scaffold = swegym.create("scaffold", "openhands", max_iterations=50, function_calling="auto", workspace_mode="copy")
    traj = scaffold.run(calc_task, sandbox, policy)
    assert traj.stop_reason == "finish"
    assert traj.metadata["scaffold"]["function_calling"] == "native"
    assert traj.metadata["scaffold"]["iterations"] == 5
    assert "-    return max(low, min(value, high - 1))\n+    return max(low, min(value, high))" in traj.patch
    # the scaffold reproduces the recorded observations (find's listing order may differ)
    got = [sorted(m["content"].split("\n")) for m in traj.messages if m["role"] == "tool"]
    want = [sorted(m["content"].split("\n")) for m in recorded.messages if m["role"] == "tool"]
    assert got == want
    result = harness.evaluate(calc_task, traj.patch, runtime)
    assert result.status == "resolved", result.log[-2000:]


def test_text_mode_episode_recovers_from_bad_calls(sandbox, calc_task):
    replies = [
        "I will look around.\n<function=execute_bash>\n<parameter=command>pwd && ls</parameter>\n</function>",
        "<function=execute_bash>\n<parameter=cmd>ls</parameter>\n</function>",  # wrong parameter name
        "Just thinking out loud, no tool call.",
        f"<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>{WORKSPACE}/calc/stats.py</parameter>\n<parameter=view_range>[23, 27]</parameter>\n</function>",
        "<function=finish>\n</function>",
    ]
    policy = ScriptedPolicy(replies, native=False)
    traj = swegym.create("scaffold", "openhands").run(calc_task, sandbox, policy, SamplingParams(temperature=0.5, seed=7))
    assert traj.stop_reason == "finish" and traj.metadata["scaffold"]["function_calling"] == "text"
    assert traj.metadata["scaffold"]["iterations"] == 5
    assert traj.metadata["scaffold"]["usage"]["prompt_tokens"] == 50
    msgs = traj.messages
    # 1: a real bash observation in the workspace
    assert msgs[2]["tool_calls"][0]["function"]["name"] == "execute_bash"
    out = msgs[3]["content"]
    # a pty, as upstream: `ls` prints columns
    assert out.startswith(f"OBSERVATION:\npwd && ls\r\n{WORKSPACE}\r\ncalc  calc.egg-info  pyproject.toml  tests[Python")
    assert f"\nroot@openhands-workspace:{WORKSPACE} # \n[Command finished with exit code 0]" in out
    # 2: the malformed call is only an error observation (as the fork: the reply is dropped)
    assert msgs[4] == {"role": "user", "content": "OBSERVATION:\nParameter 'cmd' is not allowed for function "
                       "'execute_bash'. Allowed parameters: {'command'}\n[Error occurred in processing last action]"}
    # 3: no tool call -> "please continue"
    assert msgs[5] == {"role": "assistant", "content": replies[2]}
    assert msgs[6]["content"].startswith("Please continue working on the task")
    # 4: the editor over the sandbox
    assert msgs[8]["content"] == (
        f"OBSERVATION:\nHere's the result of running `cat -n` on {WORKSPACE}/calc/stats.py:\n"
        "    23\tdef clamp(value, low, high):\n"
        '    24\t    """Limit value to the closed interval [low, high]."""\n'
        "    25\t    if low > high:\n"
        '    26\t        raise ValueError("low must not exceed high")\n'
        "    27\t    return max(low, min(value, high - 1))"
    )
    assert msgs[-1]["tool_calls"][0]["function"]["name"] == "finish"
    # what the model was shown: the text format, with the stop word
    last_messages, tools, sampling = policy.seen[-1]
    assert tools is None and "</function" in sampling.stop and sampling.temperature == 0.5
    assert "---- BEGIN FUNCTION #1: execute_bash ----" in last_messages[0]["content"]
    assert last_messages[3]["content"].startswith("EXECUTION RESULT of [execute_bash]:\nOBSERVATION:\npwd && ls")
    assert traj.patch == ""


def test_limits_stuck_timeout_and_outcomes(sandbox, calc_task):
    scaffold = swegym.create("scaffold", "openhands", max_iterations=3)
    traj = scaffold.run(calc_task, sandbox, ScriptedPolicy([bash(f"echo {i}", f"c{i}") for i in range(10)]))
    assert traj.stop_reason == "max_iterations" and traj.metadata["scaffold"]["iterations"] == 3

    same = [bash("echo same", f"s{i}") for i in range(10)]
    traj = swegym.create("scaffold", "openhands").run(calc_task, sandbox, ScriptedPolicy(same))
    assert traj.stop_reason == "stuck" and traj.metadata["scaffold"]["iterations"] == 4
    assert traj.metadata["scaffold"]["stuck_pattern"] == "repeating action and observation"

    slow = [bash("echo start; sleep 30", "t1"), bash("echo alive", "t2")]
    traj = swegym.create("scaffold", "openhands", command_timeout=2).run(calc_task, sandbox, ScriptedPolicy(slow))
    timed = traj.messages[3]["content"]
    assert "[Command timed out after 2 seconds. SIGINT was sent to interrupt the command.]" in timed
    assert timed.endswith("[Command finished with exit code 130]")
    assert traj.messages[5]["content"].startswith("OBSERVATION:\necho alive\r\nalive")

    overflow = [PolicyResponse(content="", outcome="context_window_exceeded")]
    traj = swegym.create("scaffold", "openhands").run(calc_task, sandbox, ScriptedPolicy(overflow))
    assert traj.stop_reason == "context_window_exceeded"

    with pytest.raises(InfrastructureError):
        swegym.create("scaffold", "openhands").run(
            calc_task, sandbox, ScriptedPolicy([InfrastructureError("model API down")])
        )


def test_patch_is_git_diff_of_the_workspace_without_binaries(sandbox, calc_task):
    replies = [
        bash("printf '\\000\\001\\002' > blob.bin && echo 'NOTE' > notes.txt && sed -i 's/high - 1/high/' calc/stats.py", "p1"),
    ]
    traj = swegym.create("scaffold", "openhands", workspace_mode="copy").run(calc_task, sandbox, ScriptedPolicy(replies))
    assert "diff --git a/notes.txt b/notes.txt" in traj.patch and "+NOTE" in traj.patch
    assert "+    return max(low, min(value, high))" in traj.patch
    assert "blob.bin" not in traj.patch
    # the original checkout is untouched: the agent worked on the copy
    assert sandbox.run("git -C /testbed status --porcelain").output.strip() == ""


def test_agent_that_breaks_git_gets_an_empty_patch_not_an_infrastructure_error(sandbox, calc_task):
    scaffold = swegym.create("scaffold", "openhands", workspace_mode="copy")
    traj = scaffold.run(calc_task, sandbox, ScriptedPolicy([bash("rm -rf .git", "g1")]))
    assert traj.stop_reason == "finish" and traj.patch == ""
    assert any("git diff" in e for e in traj.metadata["scaffold"]["errors"])


def test_default_workspace_is_the_forks_symlink_to_testbed(runtime, calc_task):
    """instance_swe_entry.sh: `ln -s /testbed /workspace/<name>`; edits land in /testbed, `find` stops at the link."""
    view = PolicyResponse(content="", tool_calls=[ToolCall("v1", "str_replace_editor",
                                                           json.dumps({"command": "view", "path": WORKSPACE}))])
    replies = [view, bash(f"readlink {WORKSPACE}", "r1"), bash("sed -i 's/high - 1/high/' calc/stats.py", "e1")]
    with runtime.open(calc_task) as sb:
        traj = swegym.create("scaffold", "openhands").run(calc_task, sb, ScriptedPolicy(replies))
        assert traj.messages[3]["content"] == (
            f"OBSERVATION:\nHere's the files and directories up to 2 levels deep in {WORKSPACE}, "
            f"excluding hidden items:\n{WORKSPACE}")
        assert traj.messages[5]["content"].startswith(f"OBSERVATION:\nreadlink {WORKSPACE}\r\n/testbed[Python")
        assert "+    return max(low, min(value, high))" in traj.patch
        assert "calc/stats.py" in sb.run("git -C /testbed status --porcelain").output
