"""The OpenHands function-calling text format: rendering, parsing, and round trips on real data."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swegym import ToolCall
from swegym.export.sft import split_tool_calls
from swegym.formats import fncall, swegym_rows
from swegym.formats.fncall import FunctionCallFormatError, parse_text_tool_calls

TOOLS = [
    {"type": "function", "function": {
        "name": "execute_bash", "description": "Run a command.",
        "parameters": {"type": "object", "required": ["command"],
                       "properties": {"command": {"type": "string", "description": "The command."}}}}},
    {"type": "function", "function": {"name": "finish", "description": "Stop."}},
    {"type": "function", "function": {
        "name": "str_replace_editor", "description": "Edit files.",
        "parameters": {"type": "object", "required": ["command", "path"], "properties": {
            "command": {"type": "string", "description": "What to do.", "enum": ["view", "create", "str_replace"]},
            "path": {"type": "string", "description": "Absolute path."},
            "insert_line": {"type": "integer", "description": "Line."},
            "view_range": {"type": "array", "items": {"type": "integer"}, "description": "Range."},
            "file_text": {"type": "string"}}}}},
]


def _rows(shared_data, name):
    return [json.loads(line) for line in (shared_data / name).read_text().splitlines()]


def _normalise(messages):
    """What the text format carries: everything but tool-call ids and None-vs-empty content."""
    out = []
    for m in messages:
        m = dict(m)
        m["content"] = m.get("content") or ""
        m.pop("tool_call_id", None)
        if m.get("tool_calls"):
            m["tool_calls"] = [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in m["tool_calls"]]
        out.append(m)
    return out


@pytest.mark.parametrize("pair", [("openhands-trajectories-sample.jsonl", "openhands-sft-golden.jsonl"),
                                  ("openhands-trajectories-mixed.jsonl", "openhands-sft-golden-mixed.jsonl")])
def test_text_rendering_matches_swegym_golden(shared_data, pair):
    rows, golden = _rows(shared_data, pair[0]), _rows(shared_data, pair[1])
    assert len(rows) == len(golden)
    for position, (row, gold) in enumerate(zip(rows, golden)):
        traj = swegym_rows.row_to_trajectory(row)
        text = fncall.messages_to_text(split_tool_calls(traj.messages), traj.tools)
        assert text == gold["messages"], f"row {position} differs"


@pytest.mark.parametrize("name", ["openhands-trajectories-sample.jsonl", "openhands-trajectories-mixed.jsonl"])
@pytest.mark.parametrize("example", [False, True])
def test_native_text_native_round_trip_is_lossless(shared_data, name, example):
    for traj in swegym_rows.read_rows(shared_data / name):
        text = fncall.messages_to_text(traj.messages, traj.tools, add_in_context_example=example)
        assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in text)
        back = fncall.messages_from_text(text, traj.tools)
        assert _normalise(back) == _normalise(traj.messages)
        pending = {}
        for m in back:  # every tool result answers a call of the same name
            for call in m.get("tool_calls") or []:
                pending[call["id"]] = call["function"]["name"]
            if m["role"] == "tool":
                assert pending.pop(m["tool_call_id"]) == m["name"]


def test_multiple_calls_in_one_message_survive(shared_data):
    traj = next(t for t in swegym_rows.read_rows(shared_data / "openhands-trajectories-sample.jsonl"))
    multi = [m for m in traj.messages if len(m.get("tool_calls") or []) > 1]
    assert multi, "the sample has replies with several tool calls"
    text = fncall.messages_to_text(traj.messages, traj.tools)
    assert sum(m["content"].count("<function=") for m in text if m["role"] == "assistant") == sum(len(m.get("tool_calls") or []) for m in traj.messages)


def test_tools_description_treats_nulls_as_absent():
    tools = [{"type": "function", "function": {"name": "finish", "description": "Stop.", "parameters": None}},
             {"type": "function", "function": {"name": "run", "description": "Run.", "parameters": {
                 "type": "object", "required": ["cmd"],
                 "properties": {"cmd": {"type": "string", "description": "c", "enum": None}, "other": None}}}}]
    text = fncall.tools_description(tools)
    assert "No parameters are required for this function." in text.split("#2")[0]
    assert "  (1) cmd (string, required): c\n" in text
    assert "Allowed values" not in text and "other" not in text


def test_in_context_example_is_optional_and_tool_dependent():
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Do it"}]
    plain = fncall.messages_to_text(messages, TOOLS)
    assert plain[1]["content"] == "Do it"
    with_example = fncall.messages_to_text(messages, TOOLS, add_in_context_example=True)
    user = with_example[1]["content"]
    assert user.startswith("Here's a running example") and "Do it" in user
    assert user.endswith("PLEASE EMIT ONE AND ONLY ONE FUNCTION CALL PER MESSAGE.\n")
    assert "<function=browser>" not in user  # no browser tool, no browser snippet
    assert fncall.messages_from_text(with_example, TOOLS)[1]["content"] == "Do it"
    assert fncall.messages_from_text(plain, TOOLS)[0]["content"] == "S"


def test_render_and_parse_a_call():
    text = fncall.render_tool_call_text("str_replace_editor", {"command": "create", "path": "/a.py", "file_text": "x\ny\n",
                                                                "view_range": [1, 2]})
    assert text == ("<function=str_replace_editor>\n<parameter=command>create</parameter>\n<parameter=path>/a.py</parameter>\n"
                    "<parameter=file_text>\nx\ny\n\n</parameter>\n<parameter=view_range>[1, 2]</parameter>\n</function>")
    thought, calls = parse_text_tool_calls("Let me write it.\n\n" + text, TOOLS)
    assert thought == "Let me write it."
    assert calls == [ToolCall(id="toolu_01", name="str_replace_editor", arguments=json.dumps(
        {"command": "create", "path": "/a.py", "file_text": "x\ny\n", "view_range": [1, 2]}))]


def test_stop_word_truncated_output_is_completed():
    for tail in ("", "\n", "</", "\n</function"):
        _, calls = parse_text_tool_calls("<function=execute_bash>\n<parameter=command>ls</parameter>" + tail, TOOLS)
        assert [(c.name, json.loads(c.arguments)) for c in calls] == [("execute_bash", {"command": "ls"})]
    assert fncall.STOP_WORDS == ["</function"]


def test_plain_text_has_no_calls():
    assert parse_text_tool_calls("All done, no call here.", TOOLS) == ("All done, no call here.", [])


@pytest.mark.parametrize("text, fragment", [
    ("<function=rm_rf>\n</function>", "does not exist. Available functions: execute_bash, finish, str_replace_editor"),
    ("<function=execute_bash>\n</function>", "Missing required parameters for function 'execute_bash': command"),
    ("<function=execute_bash>\n<parameter=cmd>ls</parameter>\n</function>", "Parameter 'cmd' is not allowed"),
    ("<function=str_replace_editor>\n<parameter=command>delete</parameter>\n<parameter=path>/a</parameter>\n</function>",
     "must be one of [`view`, `create`, `str_replace`]"),
    ("<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>/a</parameter>\n"
     "<parameter=insert_line>three</parameter>\n</function>", "must be of type integer"),
    ("<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>/a</parameter>\n"
     "<parameter=view_range>1 to 3</parameter>\n</function>", "must be of type array"),
    ("<function=execute_bash>\n<parameter=command>ls\n</function>", "not closed"),
    ("<function=execute_bash>\n<parameter=command>ls</parameter>\n<parameter=command>pwd</parameter>\n</function>",
     "given twice"),
])
def test_malformed_calls_raise_actionable_errors(text, fragment):
    with pytest.raises(FunctionCallFormatError) as info:
        parse_text_tool_calls(text, TOOLS)
    assert fragment in str(info.value)


_FRAGMENTS = ["<function=execute_bash>", "<function=str_replace_editor>", "<function=finish>", "<function=", "\n",
              "<parameter=command>", "<parameter=path>", "<parameter=view_range>", "<parameter=insert_line>",
              "</parameter>", "</function>", "</function", "</", "view", "ls", "/a", "[1, 2]", "3", ">", "=", " "]
_ANY_TEXT = (st.text(alphabet=st.sampled_from(list("<>=/\n abcfunctionparameter_[]{}\"1,")) | st.characters(), max_size=300)
             | st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=5), max_size=30).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_parser_survives_arbitrary_output(text):
    try:
        thought, calls = parse_text_tool_calls(text, TOOLS)
    except FunctionCallFormatError as exc:
        assert str(exc)
        return
    assert isinstance(thought, str)
    for call in calls:
        assert call.name in {"execute_bash", "finish", "str_replace_editor"}
        assert isinstance(json.loads(call.arguments), dict)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200).filter(lambda s: "</parameter>" not in s and "<parameter=" not in s),
       st.lists(st.integers(-10**6, 10**6), max_size=4))
def test_any_string_value_round_trips(value, numbers):
    args = {"command": "create", "path": "/p", "file_text": value, "view_range": numbers}
    _, calls = parse_text_tool_calls(fncall.render_tool_call_text("str_replace_editor", args), TOOLS)
    assert json.loads(calls[0].arguments) == args


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["user", "assistant", "tool"]), st.text(max_size=80)), max_size=8))
def test_conversation_conversion_never_crashes(turns):
    messages = [{"role": "system", "content": "sys"}]
    for role, text in turns:
        if role == "tool":
            messages.append({"role": "tool", "name": "execute_bash", "tool_call_id": "x", "content": text})
        elif role == "assistant":
            messages.append({"role": "assistant", "content": text, "tool_calls": [
                {"id": "x", "type": "function", "function": {"name": "execute_bash", "arguments": json.dumps({"command": text})}}]})
        else:
            messages.append({"role": "user", "content": text})
    back = fncall.messages_from_text(fncall.messages_to_text(messages, TOOLS), TOOLS)
    assert [m["role"] for m in back][0] == "system" and len(back) == len(messages)


def test_openhands_reply_parsing_matches_the_forks_converter():
    """Goldens from the fork's fn_call_converter (tests/data/openhands/record_converter.py)."""
    from pathlib import Path

    from swegym import prompts

    goldens = json.loads((Path(__file__).resolve().parents[1] / "data" / "openhands" / "converter_goldens.json").read_text())
    tools = json.loads(prompts.source("openhands/tools.json"))
    for name, case in goldens.items():
        if name.startswith("_"):
            continue
        if "error" in case:
            with pytest.raises(fncall.FunctionCallValidationError) as info:
                fncall.parse_openhands_reply(case["reply"], tools)
            assert str(info.value) == case["text"], name
            continue
        text, calls = fncall.parse_openhands_reply(case["reply"], tools)
        want = case["message"]
        assert text == want["content"], name
        got = [{"index": 1, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
               for c in calls]
        assert got == want.get("tool_calls", []), name


def test_in_context_example_is_the_forks_own_text():
    """The fork's rendering of [system, user] with its example on (recorded from its converter)."""
    from pathlib import Path

    from swegym import prompts

    gold = json.loads((Path(__file__).resolve().parents[1] / "data" / "openhands" / "converter_goldens.json").read_text())
    tools = json.loads(prompts.source("openhands/tools.json"))
    text = fncall.messages_to_text([{"role": "system", "content": "SYSTEM"}, {"role": "user", "content": "@@TASK@@"}],
                                   tools, add_in_context_example=True)
    assert text[1]["content"] == gold["_in_context_example"]["user"]
    assert text[0]["content"] == gold["_in_context_example"]["system"]
    assert "<parameter=task_completed>" not in text[1]["content"]  # the later OpenHands' finish
