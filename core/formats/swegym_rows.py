"""SWE-Gym's released OpenHands trajectory rows ↔ :class:`swegym.Trajectory`.

A released row is ``{instance_id, run_id, resolved, messages, tools, test_result}``. The rows went
through a columnar format, so every message carries every message key and every tool every
parameter name, with ``null`` for "absent". Reading drops those nulls (a ``null`` content stays
``None``: that is the OpenAI convention for a tool-call-only reply); writing puts them back in the
same shape, so ``write(read(row)) == row`` for the released files.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import DataError
from ..jsonl import iter_jsonl
from ..types import Trajectory
from .fncall import clean_nulls

ROW_KEYS = ("instance_id", "run_id", "resolved", "messages", "tools", "test_result")
SCAFFOLD = "openhands"

# Keys every message / tool call of a released row carries (null when absent).
_MESSAGE_SCHEMA: dict[str, Any] = {
    "content": None, "function_call": None, "name": None, "role": None, "tool_call_id": None, "tool_calls": None,
}
_TOOL_CALL_SCHEMA: dict[str, Any] = {"function": {"arguments": None, "name": None}, "id": None, "index": None, "type": None}


def is_swegym_row(row: Any) -> bool:
    """Whether ``row`` looks like a released SWE-Gym trajectory row (not a ``Trajectory.to_dict``)."""
    return isinstance(row, dict) and "test_result" in row and "messages" in row and "scaffold" not in row


def _clean_message(message: dict[str, Any]) -> dict[str, Any]:
    out = {k: clean_nulls(v) for k, v in message.items() if v is not None or k == "content"}
    if "content" not in out:
        out["content"] = None
    return out


def _status(row: dict[str, Any]) -> str:
    report = (row.get("test_result") or {}).get("report") or {}
    if row.get("resolved") or report.get("resolved"):
        return "resolved"
    if report.get("empty_generation"):
        return "empty_patch"
    if report.get("failed_apply_patch"):
        return "patch_apply_failed"
    if report.get("test_timeout"):
        return "test_timeout"
    if report.get("error_eval"):
        return "error"
    return "unresolved"


def row_to_trajectory(row: dict[str, Any], *, source: str | None = None, index: int | None = None) -> Trajectory:
    """One released row → a Trajectory (model parsed from the run id; test_result kept whole)."""
    if not isinstance(row, dict):
        raise DataError("expected a JSON object (a SWE-Gym trajectory row)", path=source, row=index)
    for key in ("instance_id", "messages"):
        if key not in row:
            raise DataError(f"missing key {key!r}; a SWE-Gym row has {', '.join(ROW_KEYS)}", path=source, row=index, field=key)
    if not isinstance(row["messages"], list):
        raise DataError("must be a list of chat messages", path=source, row=index, field="messages")
    run_id = row.get("run_id") or ""
    test_result = row.get("test_result")
    evaluation = {
        "instance_id": row["instance_id"],
        "status": _status(row),
        "resolved": bool(row.get("resolved")),
        "test_result": test_result,
    }
    return Trajectory(
        instance_id=row["instance_id"],
        messages=[_clean_message(m) for m in row["messages"]],
        tools=clean_nulls(row.get("tools") or []),
        patch=(test_result or {}).get("git_patch") or "",
        run_id=run_id,
        scaffold=SCAFFOLD,
        model=run_id.split("_maxiter")[0] if "_maxiter" in run_id else "",
        metadata={"source": "swegym-release", "row_keys": [k for k in row if k not in ROW_KEYS]}
        | {k: v for k, v in row.items() if k not in ROW_KEYS},
        evaluation=evaluation,
    )


def _merge_schema(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, sub in value.items():
            if isinstance(sub, dict):
                schema[key] = _merge_schema(schema.get(key) or {}, sub)
            else:
                schema.setdefault(key, None)
    return schema


def _fill(value: Any, schema: dict[str, Any] | None) -> Any:
    """Give ``value`` every key of ``schema`` (absent → null), recursively, in sorted key order."""
    if not isinstance(value, dict) or not schema:
        return value
    return {key: (_fill(value[key], schema[key]) if key in value else None) for key in sorted(set(schema) | set(value))}


def trajectory_to_row(traj: Trajectory) -> dict[str, Any]:
    """A Trajectory → a released-row shape (nulls for absent keys, as the release stores them)."""
    evaluation = traj.evaluation or {}
    tool_schema: dict[str, Any] = {}
    for tool in traj.tools:
        _merge_schema(tool_schema, tool)
    messages = []
    for message in traj.messages:
        msg = _fill(message, _MESSAGE_SCHEMA)
        if message.get("tool_calls"):
            msg["tool_calls"] = [_fill(c, _TOOL_CALL_SCHEMA) for c in message["tool_calls"]]
        messages.append(msg)
    extra = {k: traj.metadata[k] for k in traj.metadata.get("row_keys", []) if k in traj.metadata}
    return {
        "instance_id": traj.instance_id,
        "run_id": traj.run_id,
        "resolved": bool(evaluation.get("resolved", traj.resolved)),
        "messages": messages,
        "tools": [_fill(t, tool_schema) for t in traj.tools],
        "test_result": evaluation.get("test_result"),
        **extra,
    }


def read_rows(path: str | Path) -> Iterator[Trajectory]:
    """Stream the trajectories of a released-rows ``.jsonl`` file."""
    path = Path(path)
    for lineno, row in iter_jsonl(path):
        yield row_to_trajectory(row, source=str(path), index=lineno)


def write_rows(trajectories: Iterable[Trajectory], path: str | Path) -> int:
    """Write trajectories as released rows (one JSON line each); return how many."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        for traj in trajectories:
            fh.write(json.dumps(trajectory_to_row(traj)) + "\n")
            count += 1
    return count


__all__ = ["is_swegym_row", "read_rows", "row_to_trajectory", "trajectory_to_row", "write_rows"]
