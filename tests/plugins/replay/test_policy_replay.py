"""The replay policy: recorded assistant turns back, exactly and in order, from real SWE-Gym rows too."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import swegym
from swegym_replay.policy import EXHAUSTED


def _clean(msg: dict) -> dict:
    """A released assistant message with its nulls read as absent (what replay must reproduce)."""
    out = {"role": "assistant", "content": msg.get("content") or ""}
    calls = [{"id": c["id"], "type": "function",
              "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}}
             for c in (msg.get("tool_calls") or [])]
    if calls:
        out["tool_calls"] = calls
    return out


def test_replays_released_swegym_rows_exactly(shared_data):
    path = shared_data / "openhands-trajectories-sample.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for i, row in enumerate(rows):
        policy = swegym.create("policy", "replay", path=str(path), index=i)
        recorded = [m for m in row["messages"] if m["role"] == "assistant"]
        assert policy.supports_function_calling  # these rows used native tool calls
        assert policy.remaining == len(recorded) > 0
        history = [m for m in row["messages"] if m["role"] in ("system", "user")][:2]
        for msg in recorded:
            resp = policy.complete(history, tools=row["tools"])
            assert resp.outcome == "ok" and resp.usage.cost == 0.0 and resp.usage.calls == 1
            assert resp.to_message() == _clean(msg)
            assert resp.finish_reason == ("tool_calls" if msg.get("tool_calls") else "stop")
            history.append(resp.to_message())
        end = policy.complete(history)
        assert end.finish_reason == EXHAUSTED and end.tool_calls == [] and end.content == ""
        assert policy.complete(history).finish_reason == EXHAUSTED  # stays exhausted


def test_pick_by_instance_id_and_position(shared_data):
    path = str(shared_data / "openhands-trajectories-mixed.jsonl")
    rows = [json.loads(line) for line in open(path) if line.strip()]
    iid = rows[0]["instance_id"]
    matching = [r for r in rows if r["instance_id"] == iid]
    assert len(matching) == 10
    third = swegym.create("policy", "replay", path=path, instance_id=iid, index=3)
    first_call = [m for m in matching[3]["messages"] if m["role"] == "assistant"][0]
    assert third.complete([]).to_message() == _clean(first_call)
    with pytest.raises(swegym.SwegymError, match="no trajectory for instance 'nope__nope-1'.*python__mypy-10308"):
        swegym.create("policy", "replay", path=path, instance_id="nope__nope-1")
    with pytest.raises(swegym.SwegymError, match="out of range.*10 matching"):
        swegym.create("policy", "replay", path=path, instance_id=iid, index=10)


def test_trajectory_object_messages_list_and_recorded_usage(tmp_path):
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": "thinking", "usage": {"prompt_tokens": 120, "completion_tokens": 7},
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "execute_bash",
                                                                       "arguments": "{\"command\": \"ls\"}"}}]},
        {"role": "tool", "content": "a b", "tool_call_id": "c1"},
        {"role": "assistant", "content": [{"type": "text", "text": "done "}, {"type": "text", "text": "now"}]},
    ]
    traj = swegym.Trajectory(instance_id="demo__x-1", messages=messages, model="gpt-4o")
    file = tmp_path / "traj.json"
    file.write_text(json.dumps(traj.to_dict()))
    for policy in (swegym.create("policy", "replay", trajectory=traj),
                   swegym.create("policy", "replay", path=file),
                   swegym.create("policy", "replay", trajectory=messages)):
        a = policy.complete(messages[:2])
        assert a.content == "thinking" and a.tool_calls == [swegym.ToolCall("c1", "execute_bash", '{"command": "ls"}')]
        assert (a.usage.prompt_tokens, a.usage.completion_tokens, a.usage.cost) == (120, 7, 0.0)
        b = policy.complete(messages[:4])
        assert b.content == "done now" and b.tool_calls == [] and b.usage.prompt_tokens == 0
        assert policy.complete(messages).finish_reason == EXHAUSTED
    assert swegym.create("policy", "replay", trajectory=traj).model == "replay:gpt-4o"


def test_deterministic_across_instances_and_threads(shared_data):
    path = str(shared_data / "openhands-trajectories-sample.jsonl")
    a = [swegym.create("policy", "replay", path=path).complete([]).to_message() for _ in range(3)]
    assert a[0] == a[1] == a[2]
    shared = swegym.create("policy", "replay", path=path)
    total = shared.remaining
    got: list[dict] = []
    lock = threading.Lock()

    def worker():
        for _ in range(total):
            msg = shared.complete([])
            with lock:
                got.append(msg)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    real = [r for r in got if r.finish_reason != EXHAUSTED]
    assert len(real) == total  # every turn handed out exactly once
    assert len({json.dumps(r.to_message(), sort_keys=True) for r in real}) == len({
        json.dumps(m, sort_keys=True) for m in map(_clean, shared.assistant_messages)})


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(swegym.SwegymError, match="does not exist"):
        swegym.create("policy", "replay", path=str(tmp_path / "missing.jsonl"))
    with pytest.raises(swegym.SwegymError, match="path="):
        swegym.create("policy", "replay")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n{not json\n')
    with pytest.raises(swegym.DataError, match=r"bad.jsonl, row 2: not valid JSON"):
        swegym.create("policy", "replay", path=str(bad))
    nomsg = tmp_path / "nomsg.jsonl"
    nomsg.write_text('{"instance_id": "a"}\n')
    with pytest.raises(swegym.DataError, match="row 1, field 'messages'"):
        swegym.create("policy", "replay", path=str(nomsg))
    with pytest.raises(swegym.SwegymError, match="trajectory="):
        swegym.create("policy", "replay", trajectory=42)


def test_text_format_trajectory_has_no_native_calls(tmp_path):
    msgs = [{"role": "user", "content": "x"},
            {"role": "assistant", "content": "<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>"}]
    policy = swegym.create("policy", "replay", trajectory=msgs)
    assert not policy.supports_function_calling
    assert policy.complete(msgs[:1]).content.startswith("<function=execute_bash>")


def test_policy_plugin_modules_stay_light():
    """`swegym plugins` imports every plugin: none of the policy plugins may pull in a heavy library."""
    code = ("import sys, swegym_litellm, swegym_hf, swegym_replay, swegym;"
            "heavy = [m for m in ('litellm', 'torch', 'transformers') if m in sys.modules];"
            "assert not heavy, heavy;"
            "names = swegym.get_registry().names('policy');"
            "assert {'litellm', 'hf', 'replay'} <= set(names), names")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
