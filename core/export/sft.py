"""``swegym export sft``: turn rollouts into supervised fine-tuning conversations.

Formats:

- ``openhands-text``: SWE-Gym's SFT data exactly: several tool calls in one reply split into one
  call per assistant message (each followed by its result), a trailing tool result dropped, then
  OpenHands' non-function-calling rendering without the in-context example.
- ``tool-calls``: native OpenAI messages with ``tool_calls`` plus the ``tools`` schema.
- ``moatless-calls``: one sample per Moatless state visit (``metadata["calls"]``): the visit's last
  request followed by its completion, as the SWE-Gym fork's prompt logs and SFT export have them.
"""
from __future__ import annotations

import json
from collections import Counter as Tally
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from tqdm import tqdm

from ..errors import DataError, SwegymError
from ..files import atomic_output
from ..jsonl import dumps_line
from ..formats.fncall import clean_nulls, messages_to_text
from ..orchestration.record import scaffold_part
from ..types import Trajectory
from .inputs import read_trajectories
from .tokens import make_counter

FORMATS = ("openhands-text", "tool-calls", "moatless-calls")


@dataclass
class ExportStats:
    """What an export read, wrote and skipped (and why)."""

    read: int = 0
    written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    tasks: int = 0

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_tool_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One tool call per assistant message, each followed by its result; trailing results dropped.

    The first split message keeps the reply's text; the others have empty text. Results are
    matched by ``tool_call_id``; unmatched ones keep their place after the split calls.
    """
    msgs = [clean_nulls(m) | ({"content": m.get("content")} if "content" in m else {}) for m in messages]
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(msgs):
        msg = msgs[i]
        calls = msg.get("tool_calls") or []
        if msg.get("role") != "assistant" or len(calls) < 2:
            out.append(msg)
            i += 1
            continue
        j = i + 1
        results: dict[Any, dict[str, Any]] = {}
        unmatched: list[dict[str, Any]] = []
        while j < len(msgs) and msgs[j].get("role") == "tool":
            key = msgs[j].get("tool_call_id")
            if key is None or key in results:
                unmatched.append(msgs[j])
            else:
                results[key] = msgs[j]
            j += 1
        for k, call in enumerate(calls):
            out.append({"role": "assistant", "content": msg.get("content") if k == 0 else "", "tool_calls": [call]})
            if call.get("id") in results:
                out.append(results.pop(call.get("id")))
        out.extend(list(results.values()) + unmatched)
        i = j
    while out and out[-1].get("role") == "tool":
        out.pop()
    return out


def openhands_text_messages(traj: Trajectory) -> list[dict[str, Any]]:
    """The SWE-Gym SFT rendering of one trajectory (see module docstring)."""
    messages = split_tool_calls(traj.messages)
    if not traj.tools:  # recorded in the text format already
        return [{"role": m["role"], "content": m.get("content") or ""} for m in messages]
    return messages_to_text(messages, traj.tools)


def _ids(traj: Trajectory) -> dict[str, Any]:
    return {"instance_id": traj.instance_id, "run_id": traj.run_id, "resolved": bool(traj.resolved)}


def sft_samples(traj: Trajectory, format: str = "openhands-text") -> list[dict[str, Any]]:
    """The JSONL rows one trajectory contributes in ``format``."""
    if format == "openhands-text":
        return [_ids(traj) | {"messages": openhands_text_messages(traj)}]
    if format == "tool-calls":
        messages = [m for m in (clean_nulls(m) | {"content": m.get("content")} for m in traj.messages)]
        while messages and messages[-1].get("role") == "tool":
            messages.pop()
        return [_ids(traj) | {"messages": messages, "tools": traj.tools}]
    if format == "moatless-calls":
        # The fork's SFT data (scripts/export_to_oai_dataset.py) has one row per state visit: the
        # visit's last request and its reply (a visit's earlier, retried calls were overwritten).
        last: dict[Any, tuple[int, dict[str, Any]]] = {}
        for index, call in enumerate(scaffold_part(traj.metadata).get("calls") or []):
            if not isinstance(call, dict) or "messages" not in call or "completion" not in call:
                raise SwegymError(
                    f"trajectory {traj.instance_id} ({traj.run_id}): metadata.calls[{index}] needs 'messages' and "
                    "'completion' (recorded by the moatless scaffold)"
                )
            last[call.get("visit", index)] = (index, call)
        # a visit that ended on an unparsable reply was logged as an error and is not a row
        return [_ids(traj) | {"state": call.get("state", ""), "call": index,
                              "messages": list(call["messages"]) + [call["completion"]]}
                for index, call in last.values() if not call.get("error")]
    raise SwegymError(f"unknown SFT format {format!r}; choose one of {', '.join(FORMATS)}")


def _selected(trajectories: Iterable[Trajectory], stats: ExportStats, include_unresolved: bool) -> Iterator[Trajectory]:
    for traj in trajectories:
        stats.read += 1
        if traj.status == "error":
            stats.skip("infrastructure_error")  # says nothing about the agent
        elif not include_unresolved and not traj.resolved:
            stats.skip("unresolved")
        else:
            yield traj


def export_sft(
    run_dirs_or_files: Iterable[str | Path] | str | Path,
    out: str | Path,
    *,
    format: str = "openhands-text",
    include_unresolved: bool = False,
    max_tokens: int | None = None,
    tokenizer: Any = None,
    max_per_task: int | None = None,
) -> ExportStats:
    """Write SFT samples from runs/files to ``out`` (JSONL); return what was kept and skipped."""
    if format not in FORMATS:
        raise SwegymError(f"unknown SFT format {format!r}; choose one of {', '.join(FORMATS)}")
    if max_per_task is not None and max_per_task < 1:
        raise SwegymError(f"--max-per-task must be at least 1, got {max_per_task}")
    sources = [run_dirs_or_files] if isinstance(run_dirs_or_files, (str, Path)) else list(run_dirs_or_files)
    count = make_counter(max_tokens, tokenizer)
    stats = ExportStats()
    per_task: Tally[str] = Tally()
    out = Path(out)
    with atomic_output(out) as fh:
        for traj in tqdm(_selected(read_trajectories(sources), stats, include_unresolved), desc="export sft", unit="traj", disable=None):
            try:
                samples = sft_samples(traj, format)
            except ValueError as exc:  # malformed messages/tools in the input
                raise DataError(f"trajectory {traj.instance_id} ({traj.run_id}): {exc}") from exc
            for sample in samples:
                if max_per_task is not None and per_task[traj.instance_id] >= max_per_task:
                    stats.skip("max_per_task")
                    continue
                if count is not None and count(sample["messages"]) > max_tokens:  # type: ignore[operator]
                    stats.skip("too_long")
                    continue
                fh.write(dumps_line(sample))
                per_task[traj.instance_id] += 1
                stats.written += 1
    stats.tasks = len(per_task)
    return stats


__all__ = ["FORMATS", "ExportStats", "export_sft", "openhands_text_messages", "sft_samples", "split_tool_calls"]
