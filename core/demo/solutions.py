"""Scripted OpenHands-style trajectories that apply each demo task's gold patch.

They let the ``replay`` policy drive the real scaffold end to end with no model: for tests,
benchmarks, the notebooks, and as resolved examples for the SFT/RFT pipeline.
Each one views the file, edits every hunk with ``str_replace_editor``, runs the tests, finishes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from ..types import Task

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@.*$")


def _hunks(patch: str) -> list[tuple[str, str, str]]:
    """(path, old text, new text) for every hunk of a unified diff."""
    out: list[tuple[str, str, str]] = []
    path = None
    old: list[str] = []
    new: list[str] = []
    in_hunk = False

    def flush() -> None:
        if path and (old or new):
            out.append((path, "\n".join(old), "\n".join(new)))

    for line in patch.splitlines():
        if line.startswith("diff --git "):
            flush()
            old, new, in_hunk, path = [], [], False, None
        elif line.startswith("+++ "):
            path = line[4:].removeprefix("b/")
        elif _HUNK.match(line):
            flush()
            old, new, in_hunk = [], [], True
        elif in_hunk and line.startswith(("-", "+", " ")) and not line.startswith(("--- ", "+++ ")):
            tag, text = line[0], line[1:]
            if tag in " -":
                old.append(text)
            if tag in " +":
                new.append(text)
        elif in_hunk and line == "":
            old.append("")
            new.append("")
    flush()
    return out


def _call(n: int, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def gold_trajectory(task: Task, workspace: str | None = None) -> dict[str, Any]:
    """A trajectory row (assistant turns with native tool calls) that applies ``task.patch``."""
    workspace = workspace or f"/workspace/{task.repo.replace('/', '__')}__{task.version}"
    messages: list[dict[str, Any]] = []
    n = 0

    def turn(text: str, name: str, **arguments: Any) -> None:
        nonlocal n
        n += 1
        messages.append({"role": "assistant", "content": text, "tool_calls": [_call(n, name, **arguments)]})
        messages.append({"role": "tool", "tool_call_id": f"call_{n}", "name": name, "content": "(recorded)"})

    hunks = _hunks(task.patch)
    for path in dict.fromkeys(p for p, _, _ in hunks):
        turn(f"Let me look at {path}.", "str_replace_editor", command="view", path=f"{workspace}/{path}")
    for path, old, new in hunks:
        turn(f"Fix the bug in {path}.", "str_replace_editor", command="str_replace", path=f"{workspace}/{path}",
             old_str=old, new_str=new)
    turn("Run the tests.", "execute_bash", command=f"cd {workspace} && python -m pytest -q 2>&1 | tail -5")
    turn("The fix is in place.", "finish")
    return {"instance_id": task.instance_id, "model": "scripted-gold", "messages": messages, "resolved": True}


def write_gold_trajectories(tasks: Iterable[Task], path: str | Path) -> Path:
    """Write one scripted gold trajectory per task as JSONL (the replay policy's input)."""
    path = Path(path)
    path.write_text("".join(json.dumps(gold_trajectory(t)) + "\n" for t in tasks), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m swegym.demo.solutions OUT.jsonl
    import sys

    from ..tasks import load_tasks

    out = write_gold_trajectories(load_tasks("demo"), sys.argv[1] if len(sys.argv) > 1 else "gold.jsonl")
    print(f"wrote {out}")
