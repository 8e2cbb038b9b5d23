"""Observation formatting (against the rows), stuck-loop patterns, and parser robustness."""
from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swegym import CommandResult, Task, ToolCall
from swegym_openhands import observations as obs
from swegym_openhands import stuck
from swegym_openhands.scaffold import UNEXPECTED_ERROR, CodeActScaffold, _Episode

PROMPT_RE = re.compile(r"(\[Python Interpreter: [^\]\n]*\])?\n(\w+)@openhands-workspace:(\S*) ([#$]) \Z")


def _bash_rows(shared_data):
    for name in ("openhands-trajectories-sample.jsonl", "openhands-trajectories-mixed.jsonl"):
        for line in (shared_data / name).read_text().splitlines():
            row = json.loads(line)
            calls = {c["id"]: json.loads(c["function"]["arguments"]) for m in row["messages"] for c in (m.get("tool_calls") or [])}
            for m in row["messages"]:
                if m["role"] == "tool" and m["name"] == "execute_bash":
                    yield calls[m["tool_call_id"]]["command"], m["content"]


def test_bash_observations_rebuild_exactly_from_their_parts(shared_data):
    rebuilt = 0
    for command, content in _bash_rows(shared_data):
        body, last = content.rsplit("\n", 1)
        m_exit = re.fullmatch(r"\[Command finished with exit code (-?\d+)\]", last)
        if m_exit is None:  # the one runtime failure row: an infrastructure error, not a shell result
            assert "[Error occurred in processing last action]" in content
            continue
        body = body[len(obs.OBS_PREFIX):]
        start = max(body.rfind("[Python Interpreter:"), 0)
        m = PROMPT_RE.search(body, start)
        assert m, content[-300:]
        prompt = body[m.start():]
        echo_and_output = body[: m.start()]
        echo = command.replace("\n", "\r\n")
        if not echo_and_output.startswith(echo):  # OpenHands' runtime answered a previous command: skip
            continue
        output = echo_and_output[len(echo) + 2 :] if len(echo_and_output) > len(echo) else ""
        cwd, python = m.group(3), m.group(1)[len("[Python Interpreter: ") : -1] if m.group(1) else None
        assert prompt == obs.bash_prompt(cwd, python, m.group(2))
        assert obs.bash_observation(command, output.replace("\r\n", "\n"), int(m_exit.group(1)), prompt) == content
        rebuilt += 1
    assert rebuilt >= 55


def test_timeout_note_matches_rows(shared_data):
    notes = [c for _, c in _bash_rows(shared_data) if "timed out" in c]
    assert notes and all(obs.timeout_note(300) + "[Python Interpreter:" in c for c in notes)


def test_long_observation_keeps_head_and_tail():
    text = "H" * 20_000 + "T" * 20_000
    cut = obs.truncate_content(text, 30_000)
    assert cut.startswith("H" * 15_000) and cut.endswith("T" * 15_000)
    assert obs.TRUNCATION_NOTICE in cut and len(cut) == 30_000 + len(obs.TRUNCATION_NOTICE)
    assert obs.truncate_content("short", 30_000) == "short"


def _pair(a, o, error=False):
    return [stuck.Action(a), stuck.Observation(o, error)]


def test_stuck_patterns():
    """The fork's StuckDetector rules (controller/stuck.py at adf7ab58)."""
    assert stuck.stuck_reason(sum((_pair("ls", "x") for _ in range(3)), [])) is None
    assert stuck.stuck_reason(sum((_pair("ls", "x") for _ in range(4)), [])) == "repeating action and observation"
    # rule 2 needs 4 actions and 4 observations on record, then 3 equal actions with 3 errors
    errs = sum((_pair("edit", f"ERROR {i}", True) for i in range(3)), [])
    assert stuck.stuck_reason(errs) is None
    assert stuck.stuck_reason(_pair("view", "v") + errs) == "repeating action with error"
    assert stuck.stuck_reason(_pair("view", "v") + sum((_pair("edit", f"out {i}") for i in range(3)), [])) is None
    mono = [stuck.Action("message:hi", True)] * 3
    assert stuck.stuck_reason(mono) == "monologue"
    broken = [stuck.Action("message:hi", True), stuck.Observation("o"), stuck.Action("message:hi", True), stuck.Action("message:hi", True)]
    assert stuck.stuck_reason(broken) is None
    alt = sum((_pair("a", "1") + _pair("b", "2") for _ in range(3)), [])
    assert stuck.stuck_reason(alt) == "alternating action-observation pattern"
    assert stuck.stuck_reason(alt[:-2]) is None


class CountingSandbox:
    """Every command prints something new (a counter), with exit code 0."""

    repo_dir = "/testbed"

    def __init__(self):
        self.n = 0

    def run(self, command, timeout=120.0, output_limit=30_000):
        self.n += 1
        return CommandResult(0, f"{self.n}\n\x1e/workspace/o__r__1\x1e/usr/bin/python")


def test_stuck_compares_bash_by_command_and_exit_code_and_actions_with_their_thought():
    """Upstream's _eq_no_pid: a bash result is equal by command and exit code, not by its output;
    an action is equal with its thought (the reply's text rides on its first action)."""
    task = Task(instance_id="o__r-1", repo="o/r", base_commit="0" * 40, version="1")

    def episode():
        ep = _Episode(CodeActScaffold(function_calling="native"), task, CountingSandbox(), TextPolicy(), None)
        ep.workdir = "/workspace/o__r__1"
        return ep

    ep = episode()
    call = lambda i: [ToolCall(f"c{i}", "execute_bash", json.dumps({"command": "date +%N"}))]  # noqa: E731
    assert [ep._handle("", call(i)) for i in range(4)] == [None, None, None, "stuck"]
    assert ep.stuck_reason == "repeating action and observation"
    ep = episode()
    assert [ep._handle(f"try {i}", call(i)) for i in range(5)] == [None] * 5  # a new thought each time


class CannedSandbox:
    """Answers every command with the same result; for text-only properties of the loop."""

    repo_dir = "/testbed"

    def run(self, command, timeout=120.0, output_limit=30_000):
        if "__swegym_rc" in command:  # a command with the cwd/interpreter probe (no pty terminal here)
            return CommandResult(0, "ok\n\x1e/workspace/o__r__1\x1e/usr/bin/python")
        return CommandResult(0, "ok\n")

    def read_file(self, path):
        raise FileNotFoundError(path)

    def write_file(self, path, content):
        pass


class TextPolicy:
    model = "scripted"
    supports_function_calling = False


def _episode(mode="text"):
    task = Task(instance_id="o__r-1", repo="o/r", base_commit="0" * 40, version="1")
    ep = _Episode(CodeActScaffold(function_calling=mode), task, CannedSandbox(), TextPolicy(), None)
    ep.workdir = "/workspace/o__r__1"
    return ep


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("<>/=\n abcfuntiopremxs_{}[]\"'")) | st.characters(), max_size=300))
def test_arbitrary_text_output_never_crashes(text):
    ep = _episode()
    status = ep._handle(text, [])
    assert status in (None, "finish")
    last = ep.messages[-1]
    assert last["role"] in ("user", "tool")
    assert isinstance(last["content"], str) and last["content"]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_arbitrary_native_calls_never_crash(name, arguments):
    ep = _episode("native")
    before = list(ep.messages)
    status = ep._handle("", [ToolCall(id="c1", name=name, arguments=arguments)])
    if status == "agent_error":  # the fork's RuntimeError/TypeError: the episode ends, nothing ran
        assert ep.messages == before and ep.errors[-1].startswith(UNEXPECTED_ERROR + ":")
    else:
        assert ep.messages[-1]["role"] in ("tool",) or name == "finish"


def test_native_calls_the_fork_could_not_build_end_the_episode():
    cases = [
        (ToolCall("c1", "run_python", "{}"), "Unknown tool call: run_python"),
        (ToolCall("c1", "execute_bash", "{bad"), "Failed to parse tool call arguments: {bad"),
        (ToolCall("c1", "execute_bash", '{"cmd": "ls"}'), "CmdRunAction.__init__() got an unexpected keyword argument 'cmd'"),
        (ToolCall("c1", "execute_bash", "{}"), "CmdRunAction.__init__() missing 1 required positional argument: 'command'"),
    ]
    for call, why in cases:
        ep = _episode("native")
        ok = ToolCall("c0", "execute_bash", json.dumps({"command": "ls"}))
        before = list(ep.messages)
        assert ep._handle("", [ok, call]) == "agent_error"  # the valid first call does not run either
        assert ep.errors == [f"{UNEXPECTED_ERROR}:{why}"] and ep.messages == before


def test_malformed_text_call_becomes_error_observation():
    """0.13.1's controller: FunctionCallValidationError -> ErrorObservation; the reply is not kept."""
    reply = "let me look\n<function=execute_bash>\n<parameter=comand>ls</parameter>\n</function>"
    why = "Parameter 'comand' is not allowed for function 'execute_bash'. Allowed parameters: {'command'}"
    for profile, prefix in (("v2.1", "OBSERVATION:\n"), ("0.13.1", "")):
        ep = _episode()
        ep.cfg.profile = profile
        ep.messages.append({"role": "assistant", "content": "", "tool_calls": []})
        assert ep._handle(reply, []) is None
        assert ep.messages[-1] == {"role": "user", "content": prefix + why + "\n[Error occurred in processing last action]"}
        assert ep.iterations == 1 and ep.events[-1].error


def test_text_call_runs_and_is_stored_natively():
    ep = _episode()
    ep._handle("Checking.\n<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>", [])
    call = ep.messages[-2]["tool_calls"][0]
    assert ep.messages[-2]["content"] == "Checking."
    assert call["function"] == {"name": "execute_bash", "arguments": json.dumps({"command": "ls"})}
    assert ep.messages[-1] == {
        "role": "tool", "tool_call_id": call["id"], "name": "execute_bash",
        "content": "OBSERVATION:\nls\r\nok[Python Interpreter: /usr/bin/python]\nroot@openhands-workspace:/workspace/o__r__1 # \n[Command finished with exit code 0]",
    }


def test_context_limit_stops_before_calling_the_model():
    ep = _episode()
    ep.cfg.max_context_tokens = 100
    ep.messages = [{"role": "system", "content": "x" * 1000}]
    ep.policy = None  # never reached
    assert ep._loop() == "context_window_exceeded"


def test_in_context_example_is_optional():
    from swegym.formats import fncall

    ep = _episode()
    ep.messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "task"}]
    prefix, suffix = fncall.in_context_example(ep.tools)
    # on by default in text mode, as the fork's nonfncall_mode_add_in_context_learning_example
    assert prefix and ep._policy_messages()[1]["content"] == prefix + "task" + suffix
    ep.cfg.in_context_example = False
    assert ep._policy_messages()[1]["content"] == "task"


def test_steps_are_counted_per_action_and_a_reply_is_cut_at_the_limit():
    ep = _episode("native")
    ep.cfg.max_iterations = 2
    calls = [ToolCall(f"c{i}", "execute_bash", json.dumps({"command": f"echo {i}"})) for i in range(3)]
    assert ep._handle("three at once", calls) == "max_iterations"
    assert ep.iterations == 2
    assert [c["id"] for c in ep.messages[-3]["tool_calls"]] == ["c0", "c1"]  # every kept call has its result
    assert [m["tool_call_id"] for m in ep.messages[-2:]] == ["c0", "c1"]


class OverflowOncePolicy:
    """Overflows the context once, then finishes; remembers what it was shown."""

    model = "scripted"
    supports_function_calling = True

    def __init__(self):
        self.seen = []

    def complete(self, messages, tools=None, sampling=None):
        from swegym import PolicyResponse

        self.seen.append(messages)
        if len(self.seen) == 1:
            return PolicyResponse(content="", outcome="context_window_exceeded")
        return PolicyResponse(content="", tool_calls=[ToolCall("f", "finish", "{}")])


def test_profiles_reproduce_their_fork_version():
    """v2.1 (adf7ab58, the released rows) and 0.13.1 (e644a2ca) differ where the fork changed."""
    import pytest

    from swegym import SwegymError

    with pytest.raises(SwegymError, match="profile"):
        CodeActScaffold(profile="0.14")
    for profile in ("v2.1", "0.13.1"):
        ep = _episode("native")
        ep.cfg.profile = profile
        ep.messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}]
        ep._handle("thinking", [])
        ep._handle("still thinking", [])
        first, second = ep.messages[3]["content"], ep.messages[5]["content"]
        assert first.startswith("Please continue") and first.endswith("HUMAN HELP.\n")
        give_up = 'If you want to give up, use the "finish" tool to finish the interaction.\n'
        assert second == (first + give_up if profile == "0.13.1" else first)
        ep._handle("", [ToolCall("c1", "execute_bash", json.dumps({"command": "ls"}))])
        tool = ep.messages[-1]["content"]
        assert tool.startswith("OBSERVATION:\nls\r\n" if profile == "v2.1" else "ls\r\nok")
        # context overflow: v2.1 ends the episode, 0.13.1 keeps about half the history and goes on
        ep.policy = OverflowOncePolicy()
        assert ep._loop() == ("context_window_exceeded" if profile == "v2.1" else "finish")
        if profile == "0.13.1":
            shown = ep.policy.seen[-1]
            assert shown[:2] == ep.messages[:2] and len(shown) < len(ep.messages)
            assert shown[2]["role"] != "tool"


def test_stuck_detection_matches_the_forks_detector():
    """Goldens from the fork's StuckDetector (tests/data/openhands/record_stuck.py), step by step."""
    from pathlib import Path

    goldens = json.loads((Path(__file__).resolve().parents[2] / "data" / "openhands" / "stuck_goldens.json").read_text())
    for name, case in goldens.items():
        events, got = [], []
        for step in case["steps"]:
            kind = step[0]
            if kind == "bash":
                _, cmd, thought, code, _text = step
                events += [stuck.bash_action(cmd, thought), stuck.bash_observation(cmd, code)]
            elif kind == "edit":
                _, code, thought, text = step
                events += [stuck.editor_action(code, thought), stuck.editor_observation(text, code)]
            elif kind == "msg":
                events.append(stuck.message_action(step[1]))
            elif kind == "error":
                events.append(stuck.error_observation(step[1]))
            got.append(stuck.stuck_reason(events) is not None)  # "user" messages are not events
        assert got == case["stuck_after_each_step"], name
